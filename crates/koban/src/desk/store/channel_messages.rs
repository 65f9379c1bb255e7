//! The SQL of the ids channels give messages (see migration 0016): what
//! stops a message from being stored twice, and what finds the ticket a
//! reply names.

use crate::store::{Batch, Earlier, StoreError};
use sqlx::{Any, Executor, Row, Transaction};

/// A message's id in its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage<'a> {
    pub channel: &'a str,
    pub external_id: &'a str,
    /// `in` (received) or `out` (sent by Koban).
    pub direction: &'a str,
    /// Who sent it, lower-cased; `None` for Koban's own.
    pub sender: Option<&'a str>,
}

const RECORD: &str = "INSERT INTO desk_channel_messages
        (channel, external_id, ticket_id, message_id, direction, sender, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (channel, external_id) DO NOTHING";

/// Records, as a statement of `batch`, the Message-ID of a mail Koban
/// sends on the ticket: `before`, the id of its delivery (stored earlier
/// in the batch) and `after`, made in SQL as the batch runs. Koban made
/// the id itself, so it cannot be taken already.
pub fn record_sent_into(
    batch: &mut Batch,
    (before, delivery, after): (&str, Earlier, &str),
    ticket_id: i64,
    now: i64,
) {
    batch.push(
        &format!(
            "INSERT INTO desk_channel_messages
                (channel, external_id, ticket_id, direction, created_at)
             VALUES ('email', $1 || {} || $2, $3, 'out', $4)
             ON CONFLICT (channel, external_id) DO NOTHING",
            delivery.id_as_text()
        ),
        vec![before.into(), after.into(), ticket_id.into(), now.into()],
    );
}

/// Records `m` on the ticket (and its message); false, changing nothing,
/// when the channel's id is already recorded.
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    m: &ChannelMessage<'_>,
    ticket_id: i64,
    message_id: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(RECORD)
        .bind(m.channel)
        .bind(m.external_id)
        .bind(ticket_id)
        .bind(message_id)
        .bind(m.direction)
        .bind(m.sender)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The ticket each of `ids` (ids of `channel`) is recorded on, for the ids
/// that are: (id, ticket).
pub async fn tickets_of<'e, E>(
    executor: E,
    channel: &str,
    ids: &[String],
) -> Result<Vec<(String, i64)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT external_id, ticket_id FROM desk_channel_messages
         WHERE channel = $1 AND external_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(channel);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(executor).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("external_id")?, r.try_get("ticket_id")?)))
        .collect()
}

/// Whether `sender` wrote on the ticket through `channel` before.
pub async fn has_written<'e, E>(
    executor: E,
    ticket_id: i64,
    channel: &str,
    sender: &str,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT 1 AS found FROM desk_channel_messages
         WHERE ticket_id = $1 AND sender = $2 AND channel = $3 AND direction = 'in' LIMIT 1",
    )
    .bind(ticket_id)
    .bind(sender)
    .bind(channel)
    .fetch_optional(executor)
    .await?;
    Ok(row.is_some())
}
