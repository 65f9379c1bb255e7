//! SQL for two-factor authentication: the TOTP secret and its last step,
//! recovery codes, and the session's step-up time.

use crate::security::totp::Factors;
use crate::store::Store;
use sqlx::{Any, Executor, Row, Transaction};

/// Stores a new sealed secret, pending until confirmed.
pub async fn set_secret(
    store: &Store,
    account_id: i64,
    sealed: Vec<u8>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET totp_secret_sealed = $1, totp_last_step = NULL WHERE id = $2")
        .bind(sealed)
        .bind(account_id)
        .execute(store.write())
        .await?;
    Ok(())
}

/// The sealed secret (if any), the last step accepted, and whether TOTP is on.
pub async fn secret_and_step(
    store: &Store,
    account_id: i64,
) -> Result<(Option<Vec<u8>>, Option<i64>, bool), sqlx::Error> {
    let row = sqlx::query(
        "SELECT totp_secret_sealed, totp_last_step, totp_enabled_at FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_one(store.write())
    .await?;
    Ok((
        row.try_get("totp_secret_sealed")?,
        row.try_get("totp_last_step")?,
        row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
    ))
}

/// The account's second factors, read through `executor` (a pool, or the
/// transaction that just changed them).
pub async fn factors<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Factors, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.totp_enabled_at, (SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id) AS passkeys
         FROM accounts a WHERE a.id = $1",
    )
    .bind(account_id)
    .fetch_one(executor)
    .await?;
    Ok(Factors {
        totp: row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some(),
        passkey: row.try_get::<i64, _>("passkeys")? > 0,
    })
}

/// Whether the account has TOTP turned on.
pub async fn is_enabled(store: &Store, account_id: i64) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT totp_enabled_at FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(store.read())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some())
}

/// Records `step` as the last one accepted, unless it or a later one
/// already was; false when it was.
pub async fn claim_step(store: &Store, account_id: i64, step: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(account_id)
    .execute(store.write())
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Turns TOTP on when a secret is pending; false when none is.
pub async fn enable(store: &Store, account_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let enabled = sqlx::query("UPDATE accounts SET totp_enabled_at = $1 WHERE id = $2 AND totp_secret_sealed IS NOT NULL AND totp_enabled_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(store.write())
        .await?;
    Ok(enabled.rows_affected() == 1)
}

/// Removes TOTP, the recovery codes and every passkey, in `tx`.
pub async fn remove_second_factors(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET totp_secret_sealed = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    delete_recovery_codes(tx, account_id).await?;
    sqlx::query("DELETE FROM passkeys WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the account's recovery codes, in `tx`.
pub async fn delete_recovery_codes(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces the account's recovery codes with `hashes`, in `tx`.
pub async fn replace_recovery_codes(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    hashes: Vec<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    delete_recovery_codes(tx, account_id).await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (account_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(account_id)
        .bind(hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How many of the account's recovery codes are still unused.
pub async fn recovery_codes_left(store: &Store, account_id: i64) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account_id)
    .fetch_one(store.read())
    .await?;
    row.try_get("n")
}

/// Uses up the unused recovery code with this hash; false when there is none.
pub async fn use_recovery_code(
    store: &Store,
    account_id: i64,
    hash: String,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(now)
        .bind(account_id)
        .bind(hash)
        .execute(store.write())
        .await?;
    Ok(used.rows_affected() == 1)
}

/// Records that the session just passed a second factor.
pub async fn mark_stepped_up(store: &Store, session_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET stepped_up_at = $1 WHERE id = $2")
        .bind(now)
        .bind(session_id)
        .execute(store.write())
        .await?;
    Ok(())
}
