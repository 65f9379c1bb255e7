//! SQL for identity verifications on tickets.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A verification to start.
pub struct NewVerification<'a> {
    pub ticket_id: i64,
    pub account_id: i64,
    pub agent_id: i64,
    /// `code`, `second_factor` or `documented`.
    pub method: &'a str,
    /// Where the code or link went, or `documented`.
    pub destination: &'a str,
    pub link_token_hash: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub answers_sealed: Option<Vec<u8>>,
    pub now: i64,
}

/// Starts a verification; its id.
pub async fn insert_verification(
    tx: &mut Transaction<'_, Any>,
    new: NewVerification<'_>,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_verifications (ticket_id, account_id, agent_id, method, destination, status,
                                         link_token_hash, expires_at, answers_sealed, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.ticket_id)
    .bind(new.account_id)
    .bind(new.agent_id)
    .bind(new.method)
    .bind(new.destination)
    .bind(new.link_token_hash)
    .bind(new.expires_at)
    .bind(new.answers_sealed)
    .bind(new.now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// A verification as stored.
#[derive(Debug, Clone)]
pub struct VerificationRow {
    pub id: i64,
    pub ticket_id: i64,
    pub account_id: i64,
    pub agent_id: i64,
    pub method: String,
    pub destination: String,
    pub status: String,
    pub passed_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub answers_sealed: Option<Vec<u8>>,
    pub decided_by: Option<i64>,
    pub created_at: i64,
}

fn verification_from(row: &AnyRow) -> Result<VerificationRow, sqlx::Error> {
    Ok(VerificationRow {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        account_id: row.try_get("account_id")?,
        agent_id: row.try_get("agent_id")?,
        method: row.try_get("method")?,
        destination: row.try_get("destination")?,
        status: row.try_get("status")?,
        passed_at: row.try_get("passed_at")?,
        expires_at: row.try_get("expires_at")?,
        answers_sealed: row.try_get("answers_sealed")?,
        decided_by: row.try_get("decided_by")?,
        created_at: row.try_get("created_at")?,
    })
}

const VERIFICATION_COLUMNS: &str =
    "id, ticket_id, account_id, agent_id, method, destination, status, \
     passed_at, expires_at, answers_sealed, decided_by, created_at";

/// The verification `id` of ticket `ticket_id`.
pub async fn verification<'e, E>(
    executor: E,
    ticket_id: i64,
    id: i64,
) -> Result<Option<VerificationRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {VERIFICATION_COLUMNS} FROM desk_verifications WHERE id = $1 AND ticket_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(ticket_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(verification_from).transpose()?)
}

/// The verification a link's token belongs to.
pub async fn verification_by_link<'e, E>(
    executor: E,
    token_hash: &str,
) -> Result<Option<VerificationRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql =
        format!("SELECT {VERIFICATION_COLUMNS} FROM desk_verifications WHERE link_token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(verification_from).transpose()?)
}

/// The verifications of a ticket, oldest first.
pub async fn verifications_of<'e, E>(
    executor: E,
    ticket_id: i64,
) -> Result<Vec<VerificationRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {VERIFICATION_COLUMNS} FROM desk_verifications WHERE ticket_id = $1 ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(ticket_id)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(verification_from)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// The newest verification of `account_id` on ticket `ticket_id` that
/// passed at or after `since`.
pub async fn passed_verification<'e, E>(
    executor: E,
    ticket_id: i64,
    account_id: i64,
    since: i64,
) -> Result<Option<VerificationRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {VERIFICATION_COLUMNS} FROM desk_verifications
         WHERE ticket_id = $1 AND account_id = $2 AND status = 'passed' AND passed_at >= $3
         ORDER BY passed_at DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(ticket_id)
        .bind(account_id)
        .bind(since)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(verification_from).transpose()?)
}

/// Marks a verification passed (only from pending; false if it was not).
/// `decided_by` names the supervisor who approved documented answers.
pub async fn pass_verification(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    decided_by: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_verifications SET status = 'passed', passed_at = $2, decided_by = $3, decided_at = $2
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(now)
    .bind(decided_by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a pending verification failed (a rejection); false if it was not pending.
pub async fn fail_verification(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    decided_by: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_verifications SET status = 'failed', decided_by = $2, decided_at = $3
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(decided_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
