//! Recovery codes: ten single-use codes, stored only as keyed hashes and
//! shown once.

use super::*;

pub(super) fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..10)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

pub(super) fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Replaces the account's recovery codes with ten new ones (the old set
/// dies) and returns them: the only time they are shown.
pub async fn regenerate_recovery_codes(
    app: &App,
    account_id: i64,
    ip: Option<&str>,
) -> Result<Vec<String>, AccountError> {
    let mut tx = app.store.write().begin().await?;
    let codes = write_recovery_codes(app, &mut tx, account_id, ip).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Replaces the recovery codes inside `tx` (with the change that needs
/// them, such as a first passkey) and returns the new set.
pub async fn write_recovery_codes(
    app: &App,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    ip: Option<&str>,
) -> Result<Vec<String>, AccountError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let now = now_ms();
    let hashes = codes
        .iter()
        .map(|code| {
            app.key.keyed_hash(
                RECOVERY_PURPOSE,
                format!("{account_id}:{}", normalize_recovery(code)).as_bytes(),
            )
        })
        .collect();
    store::replace_recovery_codes(tx, account_id, hashes, now).await?;
    history::event(&mut **tx, account_id, "recovery_codes_regenerated", "", ip).await?;
    Ok(codes)
}

/// How many of the account's recovery codes are still unused.
pub async fn recovery_codes_left(app: &App, account_id: i64) -> Result<i64, AccountError> {
    Ok(store::recovery_codes_left(&app.store, account_id).await?)
}

/// Uses a recovery code up; false when it is wrong or was used.
pub async fn use_recovery_code(
    app: &App,
    account_id: i64,
    code: &str,
) -> Result<bool, AccountError> {
    let normalized = normalize_recovery(code);
    if normalized.len() != 10 {
        return Ok(false);
    }
    let hash = app.key.keyed_hash(
        RECOVERY_PURPOSE,
        format!("{account_id}:{normalized}").as_bytes(),
    );
    Ok(store::use_recovery_code(&app.store, account_id, hash, now_ms()).await?)
}
