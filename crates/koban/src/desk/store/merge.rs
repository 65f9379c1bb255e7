//! The SQL of merging a ticket into another and splitting messages off
//! into a new one.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// The ticket `ticket_id` was merged into, if it was.
pub async fn merged_into<'e, E>(executor: E, ticket_id: i64) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT merged_into FROM desk_tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(executor)
        .await?;
    Ok(match row {
        Some(row) => row.try_get("merged_into")?,
        None => None,
    })
}

/// A ticket's stored reference number.
pub async fn reference_of<'e, E>(executor: E, ticket_id: i64) -> Result<Option<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT reference FROM desk_tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_optional(executor)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("reference")?),
        None => None,
    })
}

/// Closes `ticket_id` as merged into `into`; false when it was closed or
/// merged meanwhile (another agent was first), and then nothing changed.
pub async fn set_merged(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    into: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_tickets SET merged_into = $2, status = 'closed', closed_at = $3, updated_at = $3
         WHERE id = $1 AND merged_into IS NULL AND status <> 'closed'",
    )
    .bind(ticket_id)
    .bind(into)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The ids of a ticket's messages, oldest first.
pub async fn message_ids(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query("SELECT id FROM desk_messages WHERE ticket_id = $1 ORDER BY id")
        .bind(ticket_id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Moves messages, and the files that came with them, to another ticket.
pub async fn move_messages(
    tx: &mut Transaction<'_, Any>,
    from: i64,
    to: i64,
    ids: &[i64],
) -> Result<u64, StoreError> {
    let mut moved = 0;
    for id in ids {
        let done =
            sqlx::query("UPDATE desk_messages SET ticket_id = $3 WHERE id = $1 AND ticket_id = $2")
                .bind(id)
                .bind(from)
                .bind(to)
                .execute(&mut **tx)
                .await?;
        moved += done.rows_affected();
        sqlx::query(
            "UPDATE desk_attachments SET ticket_id = $3 WHERE message_id = $1 AND ticket_id = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await?;
    }
    Ok(moved)
}
