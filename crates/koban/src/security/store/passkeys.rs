//! SQL for passkeys and the WebAuthn ceremonies between a ceremony's two
//! requests.

use crate::security::passkeys::PasskeyView;
use crate::store::Store;
use sqlx::{Any, Row, Transaction};

/// The account's stored credentials (webauthn-rs's JSON), oldest first.
pub async fn credentials(store: &Store, account_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query("SELECT credential FROM passkeys WHERE account_id = $1 ORDER BY id")
        .bind(account_id)
        .fetch_all(store.write())
        .await?;
    rows.iter().map(|row| row.try_get("credential")).collect()
}

/// The account's passkeys, oldest first.
pub async fn list(store: &Store, account_id: i64) -> Result<Vec<PasskeyView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE account_id = $1 ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(store.read())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PasskeyView {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// A ceremony about to be stored.
pub struct NewCeremony<'a> {
    pub token_hash: String,
    pub account_id: i64,
    pub purpose: &'a str,
    pub binding: i64,
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Deletes ceremonies that expired before `expired_before`, then stores `c`.
pub async fn open_ceremony(
    store: &Store,
    expired_before: i64,
    c: NewCeremony<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
        .bind(expired_before)
        .execute(store.write())
        .await?;
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (token_hash, account_id, purpose, binding, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.token_hash)
    .bind(c.account_id)
    .bind(c.purpose)
    .bind(c.binding)
    .bind(c.state)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(store.write())
    .await?;
    Ok(())
}

/// A stored ceremony.
pub struct Ceremony {
    pub id: i64,
    pub account_id: i64,
    pub purpose: String,
    pub binding: i64,
    pub state: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// The ceremony with this token hash.
pub async fn ceremony(store: &Store, token_hash: &str) -> Result<Option<Ceremony>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, account_id, purpose, binding, state, expires_at, used_at FROM webauthn_ceremonies WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(store.write())
    .await?;
    row.map(|row| {
        Ok(Ceremony {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            purpose: row.try_get("purpose")?,
            binding: row.try_get("binding")?,
            state: row.try_get("state")?,
            expires_at: row.try_get("expires_at")?,
            used_at: row.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Uses a ceremony up; false when another request already did.
pub async fn use_ceremony(store: &Store, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE webauthn_ceremonies SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(store.write())
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Whether any account has registered this credential id.
pub async fn credential_known(store: &Store, credential_id: &str) -> Result<bool, sqlx::Error> {
    let known = sqlx::query("SELECT 1 AS one FROM passkeys WHERE credential_id = $1")
        .bind(credential_id)
        .fetch_optional(store.read())
        .await?;
    Ok(known.is_some())
}

/// Stores a new passkey in `tx`; its id, or `None` when the credential id
/// is already registered (to any account).
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    credential_id: String,
    credential: String,
    name: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO passkeys (account_id, credential_id, credential, sign_count, name, created_at)
         VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (credential_id) DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(credential_id)
    .bind(credential)
    .bind(name)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    inserted.map(|row| row.try_get("id")).transpose()
}

/// Renames a passkey of the account in `tx`; false when it has no such passkey.
pub async fn rename(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    id: i64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3")
        .bind(name)
        .bind(id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a passkey of the account in `tx`; its name, or `None` when it
/// has no such passkey.
pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let removed =
        sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2 RETURNING name")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await?;
    removed.map(|row| row.try_get("name")).transpose()
}

/// A passkey as an assertion checks it: id, credential JSON, signature count.
pub async fn for_check(
    store: &Store,
    account_id: i64,
    credential_id: &str,
) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, credential, sign_count FROM passkeys WHERE account_id = $1 AND credential_id = $2",
    )
    .bind(account_id)
    .bind(credential_id)
    .fetch_optional(store.write())
    .await?;
    row.map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get("credential")?,
            row.try_get("sign_count")?,
        ))
    })
    .transpose()
}

/// Stores a used passkey's new state if its counter still follows the
/// stored one: compare-and-set, so of two racing answers one wins.
pub async fn advance_counter(
    store: &Store,
    id: i64,
    credential: String,
    presented: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE passkeys SET credential = $1, sign_count = $2, last_used_at = $3
         WHERE id = $4 AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))",
    )
    .bind(credential)
    .bind(presented)
    .bind(now)
    .bind(id)
    .execute(store.write())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The name of the account's passkey with this credential id.
pub async fn name_of(
    store: &Store,
    account_id: i64,
    credential_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT name FROM passkeys WHERE account_id = $1 AND credential_id = $2")
        .bind(account_id)
        .bind(credential_id)
        .fetch_optional(store.read())
        .await?
        .map(|row| row.try_get("name"))
        .transpose()
}
