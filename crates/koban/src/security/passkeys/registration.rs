//! Adding, renaming and removing passkeys.

use super::*;

/// Starts registering a passkey for the signed-in account. Needs a fresh
/// step-up: a passkey is a way into the account, and a stolen session must
/// not be able to add one.
pub async fn begin_registration(
    app: &App,
    current: &Current,
) -> Result<PasskeyOptions, AccountError> {
    totp::require_step_up(current)?;
    let existing = stored(app, current.account.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(AccountError::field("passkey", "too_many"));
    }
    let exclude = existing
        .iter()
        .map(|s| s.passkey.cred_id().clone())
        .collect();
    let identifier = current.account.display_identifier();
    let (options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_registration(
            user_handle(app, current.account.id),
            identifier,
            identifier,
            Some(exclude),
        )
        .map_err(|e| AccountError::Internal(format!("passkey registration: {e}")))?;
    let ceremony = open_ceremony(
        app,
        Purpose::Register,
        current.account.id,
        current.session_id,
        &state,
    )
    .await?;
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// Finishes a registration with the browser's answer and a name. The first
/// second factor of an account turns 2FA on and comes with recovery codes.
pub async fn finish_registration(
    app: &App,
    current: &Current,
    ceremony: &str,
    name: &str,
    credential: serde_json::Value,
    ip: Option<&str>,
) -> Result<Added, AccountError> {
    totp::require_step_up(current)?;
    let name = crate::security::devices::check_name(name)
        .map_err(|code| AccountError::field("name", code))?;
    let credential: RegisterPublicKeyCredential = parse_credential(credential)?;
    let account_id = current.account.id;
    let state: PasskeyRegistration = state_of(
        &claim_ceremony(
            app,
            ceremony,
            Purpose::Register,
            account_id,
            current.session_id,
        )
        .await?,
    )?;
    // Asked before webauthn-rs, which refuses an excluded credential with
    // the error it uses for a changed algorithm (0.6.2).
    if store::credential_known(&app.store, &b64url(&credential.raw_id)).await? {
        return Err(AccountError::field("credential", "taken"));
    }
    let passkey = crate::security::state(app)
        .passkeys
        .webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| AccountError::field("credential", refusal_code(&e)))?;
    let serialized =
        serde_json::to_string(&passkey).map_err(|e| AccountError::Internal(e.to_string()))?;
    let first = !totp::factors(app, account_id).await?.on();
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    // The credential id is unique across accounts: webauthn-rs leaves it to
    // the caller to refuse one already registered anywhere.
    let inserted = store::insert(
        &mut tx,
        account_id,
        b64url(passkey.cred_id()),
        serialized,
        name,
        now,
    )
    .await?;
    let Some(id) = inserted else {
        return Err(AccountError::field("credential", "taken"));
    };
    history::event(&mut *tx, account_id, "passkey_added", name, ip).await?;
    let recovery_codes = if first {
        history::event(&mut *tx, account_id, "two_factor_enabled", "passkey", ip).await?;
        Some(totp::write_recovery_codes(app, &mut tx, account_id, ip).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(Added {
        passkey: PasskeyView {
            id,
            name: name.to_string(),
            created_at: now,
            last_used_at: None,
        },
        recovery_codes,
    })
}

/// Renames a passkey; false when the account has no such passkey.
pub async fn rename(
    app: &App,
    account_id: i64,
    id: i64,
    name: &str,
    ip: Option<&str>,
) -> Result<bool, AccountError> {
    let name = crate::security::devices::check_name(name)
        .map_err(|code| AccountError::field("name", code))?;
    let mut tx = app.store.write().begin().await?;
    if !store::rename(&mut tx, account_id, id, name).await? {
        return Ok(false);
    }
    history::event(&mut *tx, account_id, "passkey_renamed", name, ip).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes a passkey (needs a fresh step-up). Removing the last second
/// factor turns 2FA off, as turning it off would: the recovery codes go too.
pub async fn remove(
    app: &App,
    current: &Current,
    id: i64,
    ip: Option<&str>,
) -> Result<(), AccountError> {
    totp::require_step_up(current)?;
    let account_id = current.account.id;
    let mut tx = app.store.write().begin().await?;
    let name = store::delete(&mut tx, account_id, id)
        .await?
        .ok_or(AccountError::NotFound)?;
    history::event(&mut *tx, account_id, "passkey_removed", &name, ip).await?;
    if !totp_store::factors(&mut *tx, account_id).await?.on() {
        totp_store::delete_recovery_codes(&mut tx, account_id).await?;
        history::event(
            &mut *tx,
            account_id,
            "two_factor_disabled",
            "last passkey removed",
            ip,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
