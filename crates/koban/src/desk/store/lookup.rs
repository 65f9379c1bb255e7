//! The SQL of signed-out lookups (codes and grants) and of desk roles.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// Records a lookup of `reference` with the hash of a code nobody was
/// sent; the job that finds the ticket replaces it with a sent one.
pub async fn insert_lookup(
    tx: &mut Transaction<'_, Any>,
    reference: &str,
    code_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_lookups (reference, code_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(reference)
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Gives lookup `id` the ticket it found and the hash of the code sent.
pub async fn arm_lookup(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    ticket_id: i64,
    code_hash: &str,
    destination: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE desk_lookups SET ticket_id = $1, code_hash = $2, destination = $3 WHERE id = $4",
    )
    .bind(ticket_id)
    .bind(code_hash)
    .bind(destination)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A lookup a try was counted on.
pub struct TriedLookup {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub code_hash: String,
}

/// What counting a try on the newest live lookup of a reference found.
pub enum Try {
    Counted(TriedLookup),
    /// The newest live lookup has had its tries.
    Exhausted,
    /// No live lookup: never asked for, used, or expired.
    None,
}

/// Counts a try on the newest live lookup of `reference`, if it has had
/// fewer than `max_attempts`. One statement finds and counts, so parallel
/// guesses cannot all see a free try.
pub async fn count_try<'e, E>(
    executor: E,
    reference: &str,
    max_attempts: i64,
    now: i64,
) -> Result<Try, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let newest = "SELECT id FROM desk_lookups
                  WHERE reference = $1 AND consumed_at IS NULL AND expires_at > $2
                  ORDER BY id DESC LIMIT 1";
    let row = sqlx::query(&format!(
        "UPDATE desk_lookups SET attempts = attempts + 1
         WHERE id = ({newest}) AND attempts < $3
         RETURNING id, ticket_id, code_hash"
    ))
    .bind(reference)
    .bind(now)
    .bind(max_attempts)
    .fetch_optional(executor)
    .await?;
    if let Some(row) = row {
        return Ok(Try::Counted(TriedLookup {
            id: row.try_get("id")?,
            ticket_id: row.try_get("ticket_id")?,
            code_hash: row.try_get("code_hash")?,
        }));
    }
    let live = sqlx::query(newest)
        .bind(reference)
        .bind(now)
        .fetch_optional(executor)
        .await?;
    Ok(if live.is_some() {
        Try::Exhausted
    } else {
        Try::None
    })
}

/// Uses lookup `id` up, with the grant it gives, in `tx`; false when a
/// racing right answer used it first.
pub async fn use_lookup(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let used = sqlx::query(
        "UPDATE desk_lookups SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Stores a grant on `ticket_id` under the hash of its token.
pub async fn insert_grant(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    ticket_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_lookup_grants (token_hash, ticket_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(ticket_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The ticket a live grant with this token hash opens.
pub async fn granted_ticket<'e, E>(
    executor: E,
    token_hash: &str,
    now: i64,
) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT ticket_id FROM desk_lookup_grants WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(executor)
    .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("ticket_id")?),
        None => None,
    })
}

/// Deletes lookups and grants past their time (the hourly job).
pub async fn prune<'e, E>(executor: E, now: i64) -> Result<u64, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let lookups = sqlx::query("DELETE FROM desk_lookups WHERE expires_at < $1")
        .bind(now)
        .execute(executor)
        .await?;
    let grants = sqlx::query("DELETE FROM desk_lookup_grants WHERE expires_at < $1")
        .bind(now)
        .execute(executor)
        .await?;
    Ok(lookups.rows_affected() + grants.rows_affected())
}
