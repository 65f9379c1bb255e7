//! The SQL of the audit chain (migration 0026).

use crate::store::{Backend, StoreError};
use koban_policy::audit::{Hash, Start, GENESIS};
use sqlx::{Any, Row, Transaction};

/// The chain's head, held until `tx` ends: on PostgreSQL the row is
/// locked (`FOR UPDATE`), so appends to one scope take turns; SQLite has
/// one writer already.
pub async fn lock_head(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    scope: &str,
) -> Result<Start, StoreError> {
    sqlx::query("INSERT INTO audit_heads (scope, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (scope) DO NOTHING")
        .bind(scope)
        .bind(&GENESIS[..])
        .execute(&mut **tx)
        .await?;
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT seq, hash FROM audit_heads WHERE scope = $1{lock}"
    ))
    .bind(scope)
    .fetch_one(&mut **tx)
    .await?;
    start_of(&row)
}

/// The chain's head as last written; the beginning when it has none.
pub async fn head<'e, E>(executor: E, scope: &str) -> Result<Start, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT seq, hash FROM audit_heads WHERE scope = $1")
        .bind(scope)
        .fetch_optional(executor)
        .await?;
    match row {
        Some(row) => start_of(&row),
        None => Ok(Start::BEGINNING),
    }
}

fn start_of(row: &sqlx::any::AnyRow) -> Result<Start, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let hash: Vec<u8> = row.try_get("hash")?;
    Ok(Start {
        seq: u64::try_from(seq).unwrap_or(0),
        hash: to_hash(&hash),
    })
}

/// A stored hash; a damaged one (not 32 bytes) is all ones, which no
/// chain holds, so verification names its entry.
pub fn to_hash(bytes: &[u8]) -> Hash {
    <Hash>::try_from(bytes).unwrap_or([0xff; 32])
}

/// An entry to write.
pub struct NewEntry<'a> {
    pub scope: &'a str,
    pub content: &'a koban_policy::audit::Content<'a>,
    pub prev_hash: &'a Hash,
    pub hash: &'a Hash,
}

/// Writes an entry and moves the head to it.
pub async fn insert(tx: &mut Transaction<'_, Any>, e: &NewEntry<'_>) -> Result<(), StoreError> {
    let seq = i64::try_from(e.content.seq).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO audit_entries (scope, seq, at, actor, action, target, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.scope)
    .bind(seq)
    .bind(e.content.at_ms)
    .bind(e.content.actor)
    .bind(e.content.action)
    .bind(e.content.target)
    .bind(e.content.details)
    .bind(&e.prev_hash[..])
    .bind(&e.hash[..])
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_heads SET seq = $2, hash = $3 WHERE scope = $1")
        .bind(e.scope)
        .bind(seq)
        .bind(&e.hash[..])
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An entry as read back.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub id: i64,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Up to `limit` entries of `scope` written after entry `after_id`, in
/// the order they were written.
pub async fn page<'e, E>(
    executor: E,
    scope: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<EntryRow>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, seq, at, actor, action, target, details, prev_hash, hash
         FROM audit_entries WHERE scope = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(scope)
    .bind(after_id)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EntryRow {
                id: r.try_get("id")?,
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                details: r.try_get("details")?,
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
}
