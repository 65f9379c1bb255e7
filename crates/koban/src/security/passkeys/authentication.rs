//! Proving with a passkey: at sign-in, at step-up and to lift a lock; the
//! signature counter checked so a cloned authenticator shows.

use super::*;

/// Starts proving with a passkey for `purpose` (sign-in, bound to the
/// sign-in challenge; step-up, bound to the session).
pub async fn begin_authentication(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    binding: i64,
) -> Result<PasskeyOptions, AccountError> {
    let passkeys: Vec<Passkey> = stored(app, account_id)
        .await?
        .into_iter()
        .map(|s| s.passkey)
        .collect();
    if passkeys.is_empty() {
        return Err(AccountError::field("method", "no_passkey"));
    }
    let (options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AccountError::Internal(format!("passkey authentication: {e}")))?;
    let ceremony = open_ceremony(app, purpose, account_id, binding, &state).await?;
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// The binding of an unlock ceremony: there is no session or sign-in to
/// tie it to, so the account and the purpose are all it is bound by.
pub const UNLOCK_BINDING: i64 = 0;

/// Options for unlocking with a passkey. `account_id` is the account whose
/// lock the owner may lift here, if the identifier named one; every other
/// case (unknown, not locked, locked for support, no passkey) gets a decoy
/// that is never stored and so can never be finished. Both leave
/// `allowCredentials` empty, so the answer names no credential and cannot
/// tell anyone whether the identifier exists or has passkeys: the browser
/// offers the passkeys it holds for this site, and the server checks the
/// one chosen against the account.
pub async fn begin_unlock(
    app: &App,
    account_id: Option<i64>,
) -> Result<PasskeyOptions, AccountError> {
    let passkeys: Vec<Passkey> = match account_id {
        Some(id) => stored(app, id)
            .await?
            .into_iter()
            .map(|s| s.passkey)
            .collect(),
        None => Vec::new(),
    };
    let (mut options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AccountError::Internal(format!("passkey authentication: {e}")))?;
    options.public_key.allow_credentials.clear();
    let ceremony = match account_id.filter(|_| !passkeys.is_empty()) {
        Some(id) => open_ceremony(app, Purpose::Unlock, id, UNLOCK_BINDING, &state).await?,
        None => format!("{CEREMONY_PREFIX}{}", crate::crypto::random_token(32)),
    };
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// How a passkey answer went, once it was a real attempt.
#[derive(Debug)]
pub enum Assertion {
    /// The passkey proved it; its counter and last use are stored.
    Passed,
    /// A wrong or suspicious passkey, counted on the second-factor counter.
    Failed(AccountError),
}

/// Checks a passkey answer for `purpose`. Err means it was refused before
/// it was an attempt (not a credential, an unusable ceremony, second factor
/// locked) and nothing was counted; `Failed` was counted.
pub async fn verify(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    binding: i64,
    ceremony: &str,
    credential: serde_json::Value,
) -> Result<Assertion, AccountError> {
    let credential: PublicKeyCredential = parse_credential(credential)?;
    totp::second_factor_open(app, account_id).await?;
    let state: PasskeyAuthentication =
        state_of(&claim_ceremony(app, ceremony, purpose, account_id, binding).await?)?;
    match check(app, account_id, &credential, &state).await? {
        Ok(()) => Ok(Assertion::Passed),
        Err(code) => {
            totp::count_second_factor_failure(app, account_id).await?;
            Ok(Assertion::Failed(AccountError::field("credential", code)))
        }
    }
}

/// The cryptographic check and the counter claim; Err(code) is a refusal.
pub(super) async fn check(
    app: &App,
    account_id: i64,
    credential: &PublicKeyCredential,
    state: &PasskeyAuthentication,
) -> Result<Result<(), &'static str>, AccountError> {
    let result = match crate::security::state(app)
        .passkeys
        .webauthn
        .finish_passkey_authentication(credential, state)
    {
        Ok(result) => result,
        Err(e) => {
            let code = refusal_code(&e);
            if code == "passkey_counter" {
                suspect_clone(app, account_id, &b64url(&credential.raw_id)).await?;
            }
            return Ok(Err(code));
        }
    };
    // The state lists the passkeys as they were when the ceremony began; the
    // one used must still be on the account now (it may have been removed).
    let found = store::for_check(&app.store, account_id, &b64url(result.cred_id())).await?;
    let Some((id, text, stored_count)) = found else {
        return Ok(Err("passkey_unknown"));
    };
    let presented = i64::from(result.counter());
    let mut passkey: Passkey = state_of(&text)?;
    passkey.update_credential(&result);
    let serialized =
        serde_json::to_string(&passkey).map_err(|e| AccountError::Internal(e.to_string()))?;
    // Compare-and-set on the counter: of two answers racing with the same
    // count (a replay, or a clone), only one moves it.
    let claimed = counter_advances(stored_count, presented)
        && store::advance_counter(&app.store, id, serialized, presented, now_ms()).await?;
    if !claimed {
        suspect_clone(app, account_id, &b64url(result.cred_id())).await?;
        return Ok(Err("passkey_counter"));
    }
    Ok(Ok(()))
}

/// A counter that went backwards may be a cloned authenticator: the owner
/// sees it on their timeline, naming the passkey, so they can remove it.
async fn suspect_clone(
    app: &App,
    account_id: i64,
    credential_id: &str,
) -> Result<(), AccountError> {
    let name = store::name_of(&app.store, account_id, credential_id).await?;
    history::event(
        app.store.write(),
        account_id,
        "passkey_counter_regressed",
        name.as_deref().unwrap_or_default(),
        None,
    )
    .await?;
    Ok(())
}

/// Options for proving with a passkey at step-up.
pub async fn begin_step_up(app: &App, current: &Current) -> Result<PasskeyOptions, AccountError> {
    begin_authentication(app, current.account.id, Purpose::StepUp, current.session_id).await
}

/// Passes step-up with a passkey.
pub async fn step_up(
    app: &App,
    current: &Current,
    ceremony: &str,
    credential: serde_json::Value,
) -> Result<(), AccountError> {
    match verify(
        app,
        current.account.id,
        Purpose::StepUp,
        current.session_id,
        ceremony,
        credential,
    )
    .await?
    {
        Assertion::Passed => totp::mark_stepped_up(app, current.session_id).await,
        Assertion::Failed(error) => Err(error),
    }
}
