//! Half-finished sign-ins (a second factor owed, the device limit
//! reached): opened, read back by token, used up once.

use super::*;

/// Sends the code that completes the sign-in challenge `challenge_id`.
pub(super) async fn send_sign_in_code(
    app: &App,
    account: &Account,
    challenge_id: i64,
    lang: Lang,
) -> Result<(), AccountError> {
    let Some(contact) = verified_contacts(account).into_iter().next() else {
        return Ok(());
    };
    let binding = codes::challenge_binding(challenge_id);
    match codes::take_send_allowance(app, Purpose::SignIn, contact.as_str()).await {
        Ok(()) => {}
        // A code went out less than a minute ago and is still good: the
        // person uses that one for this challenge rather than being refused
        // the sign-in, and the challenge it was sent for loses it.
        Err(AccountError::RateLimited(_)) => {
            return codes::rebind(app, account.id, Purpose::SignIn, Some(&binding)).await;
        }
        Err(e) => return Err(e),
    }
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        account.id,
        Purpose::SignIn,
        Some(&binding),
        &contact,
        account_lang(account, lang),
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Opens a half-finished sign-in and returns its token and id.
pub(super) async fn create_challenge(
    app: &App,
    account_id: i64,
    kind: &str,
    ctx: &ClientContext,
    score: i64,
    reasons: &[String],
) -> Result<(String, i64), AccountError> {
    let token = format!("{CHALLENGE_PREFIX}{}", crate::crypto::random_token(32));
    let now = now_ms();
    let id = store::insert_challenge(
        &app.store,
        &store::NewChallenge {
            token_hash: crate::crypto::sha256_hex(token.as_bytes()),
            account_id,
            kind,
            ctx,
            score,
            reasons: reasons.join(","),
            created_at: now,
            expires_at: now + CHALLENGE_TTL_MS,
        },
    )
    .await?;
    Ok((token, id))
}

/// An open challenge, read back.
pub struct Challenge {
    pub id: i64,
    pub account: Account,
    pub spec: DeviceSpec,
    pub score: i64,
    pub reasons: Vec<String>,
}

/// Reads an open challenge of `kind` by token (not yet used up).
pub async fn open_challenge(app: &App, token: &str, kind: &str) -> Result<Challenge, AccountError> {
    let invalid = || AccountError::field("challenge", "invalid_value");
    if !token.starts_with(CHALLENGE_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let found = store::open_challenge(
        &app.store,
        &crate::crypto::sha256_hex(token.as_bytes()),
        kind,
        now_ms(),
    )
    .await?
    .ok_or_else(invalid)?;
    let account = accounts_store::find_by_id(app.store.read(), found.account_id)
        .await?
        .ok_or_else(invalid)?;
    Ok(Challenge {
        id: found.id,
        account,
        spec: found.spec,
        score: found.score,
        reasons: found.reasons,
    })
}

/// Uses a challenge up; false when another request already did.
pub async fn use_challenge(app: &App, id: i64) -> Result<bool, AccountError> {
    Ok(store::use_challenge(&app.store, id, now_ms()).await?)
}
