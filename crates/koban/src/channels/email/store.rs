//! The SQL of inbound mail (migration 0017).

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A mail as it was received.
#[derive(Debug, Clone)]
pub struct Arrival<'a> {
    pub source: &'a str,
    pub envelope_from: &'a str,
    /// RCPT TO, as JSON.
    pub recipients: &'a str,
    pub message_id: &'a str,
    pub raw_deflated: &'a [u8],
    pub raw_size: i64,
}

/// Stores a mail with status `received`; `None`, storing nothing, when a
/// mail with the same Message-ID is stored already.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    a: &Arrival<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO email_inbound (source, envelope_from, recipients, message_id,
            raw_deflated, raw_size, received_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'received')
         ON CONFLICT (message_id) DO NOTHING
         RETURNING id",
    )
    .bind(a.source)
    .bind(a.envelope_from)
    .bind(a.recipients)
    .bind(a.message_id)
    .bind(a.raw_deflated)
    .bind(a.raw_size)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("id")?),
        None => None,
    })
}

/// What is known of a mail that was not taken whole (IMAP polling found it
/// over the size limit): its header's facts, and why.
#[derive(Debug, Clone)]
pub struct Unreadable<'a> {
    pub source: &'a str,
    pub envelope_from: &'a str,
    /// As JSON.
    pub recipients: &'a str,
    pub message_id: &'a str,
    pub raw_size: i64,
    pub sender: Option<&'a str>,
    /// With `error` saying why, as the review list shows it.
    pub detail: &'a serde_json::Value,
}

/// Stores such a mail, with no raw copy, as `unreadable` so agents see it;
/// false, storing nothing, when its Message-ID is stored already.
pub async fn insert_unreadable<'e, E>(
    executor: E,
    u: &Unreadable<'_>,
    now: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "INSERT INTO email_inbound (source, envelope_from, recipients, message_id,
            raw_deflated, raw_size, received_at, status, sender, detail, processed_at)
         VALUES ($1, $2, $3, $4, NULL, $5, $6, 'unreadable', $7, $8, $6)
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(u.source)
    .bind(u.envelope_from)
    .bind(u.recipients)
    .bind(u.message_id)
    .bind(u.raw_size)
    .bind(now)
    .bind(u.sender)
    .bind(u.detail.to_string())
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A stored mail, as the ingest job reads it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub source: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub status: String,
    pub received_at: i64,
}

/// The stored mail `id`.
pub async fn stored<'e, E>(executor: E, id: i64) -> Result<Option<Stored>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT id, source, envelope_from, recipients, message_id, status, received_at
         FROM email_inbound WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(stored_from_row).transpose()
}

/// Mail `id` as [`stored`] reads it, with its raw copy's first piece and
/// size as [`raw`] reads them: the ingest needs both, in one trip.
pub async fn stored_with_raw<'e, E>(
    executor: E,
    id: i64,
) -> Result<Option<(Stored, Option<(Vec<u8>, i64)>)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT id, source, envelope_from, recipients, message_id, status, received_at,
                raw_deflated, raw_size
         FROM email_inbound WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((stored_from_row(&row)?, raw_from_row(&row)?)))
}

fn stored_from_row(row: &AnyRow) -> Result<Stored, StoreError> {
    let recipients: String = row.try_get("recipients")?;
    Ok(Stored {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        envelope_from: row.try_get("envelope_from")?,
        recipients: serde_json::from_str(&recipients).unwrap_or_default(),
        message_id: row.try_get("message_id")?,
        status: row.try_get("status")?,
        received_at: row.try_get("received_at")?,
    })
}

fn raw_from_row(row: &AnyRow) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
    let deflated: Option<Vec<u8>> = row.try_get("raw_deflated")?;
    Ok(deflated.map(|d| (d, row.try_get::<i64, _>("raw_size").unwrap_or(0))))
}

/// Stores piece `seq` (1, 2 …) of mail `id`'s deflated raw copy, after
/// the first kept in its row.
pub async fn insert_piece(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    seq: i64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO email_inbound_chunks (inbound_id, seq, bytes) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(seq)
        .bind(bytes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Keeps piece `seq` of a mail the listener is still reading (migration
/// 0046), under the session's `receipt`.
pub async fn spill_piece<'e, E>(
    executor: E,
    receipt: &str,
    seq: i64,
    bytes: &[u8],
    now: i64,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO email_receiving_chunks (receipt, seq, bytes, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(receipt)
    .bind(seq)
    .bind(bytes)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// Makes the pieces kept under `receipt` mail `id`'s, in the transaction
/// that stores it.
pub async fn adopt_spilled(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    receipt: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO email_inbound_chunks (inbound_id, seq, bytes)
         SELECT $1, seq, bytes FROM email_receiving_chunks WHERE receipt = $2",
    )
    .bind(id)
    .bind(receipt)
    .execute(&mut **tx)
    .await?;
    drop_spilled(&mut **tx, receipt).await
}

/// Forgets the pieces kept under `receipt`: the mail was refused, was a
/// duplicate, or its session ended first.
pub async fn drop_spilled<'e, E>(executor: E, receipt: &str) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("DELETE FROM email_receiving_chunks WHERE receipt = $1")
        .bind(receipt)
        .execute(executor)
        .await?;
    Ok(())
}

/// Deletes pieces kept before `before` (a session a crash ended); how many.
pub async fn prune_spilled<'e, E>(executor: E, before: i64) -> Result<u64, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query("DELETE FROM email_receiving_chunks WHERE created_at < $1")
        .bind(before)
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}

/// The first piece of mail `id`'s raw copy, deflated, and the mail's
/// size inflated; `None` once it was pruned. Read apart from [`stored`],
/// only when needed; the other pieces follow through [`piece`].
pub async fn raw<'e, E>(executor: E, id: i64) -> Result<Option<(Vec<u8>, i64)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT raw_deflated, raw_size FROM email_inbound WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(raw_from_row).transpose()?.flatten())
}

/// Piece `seq` of mail `id`'s raw copy; `None` past the last.
pub async fn piece<'e, E>(executor: E, id: i64, seq: i64) -> Result<Option<Vec<u8>>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row =
        sqlx::query("SELECT bytes FROM email_inbound_chunks WHERE inbound_id = $1 AND seq = $2")
            .bind(id)
            .bind(seq)
            .fetch_optional(executor)
            .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("bytes")?),
        None => None,
    })
}

/// What ingesting made of a mail.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub status: &'a str,
    pub ticket_id: Option<i64>,
    pub sender: Option<&'a str>,
    pub detail: &'a serde_json::Value,
}

/// Records what ingesting made of mail `id`, if it is still `received`
/// (or, for an agent placing a held mail, `from`); false when another
/// worker recorded it first.
pub async fn settle<'e, E>(
    executor: E,
    id: i64,
    from: &str,
    outcome: &Outcome<'_>,
    now: i64,
) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE email_inbound SET status = $3, ticket_id = $4, sender = $5, detail = $6,
            processed_at = $7
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from)
    .bind(outcome.status)
    .bind(outcome.ticket_id)
    .bind(outcome.sender)
    .bind(outcome.detail.to_string())
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mails from `sender` received since `since` that opened a ticket or
/// were held: what the per-sender limit counts.
pub async fn recent_from<'e, E>(executor: E, sender: &str, since: i64) -> Result<i64, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM email_inbound
         WHERE sender = $1 AND received_at >= $2 AND status IN ('opened', 'held')",
    )
    .bind(sender)
    .bind(since)
    .fetch_one(executor)
    .await?;
    Ok(row.try_get("n")?)
}

/// Drops the raw copy (its row's piece and the others) of mails received
/// before `before`, at most `limit` of them; how many.
pub async fn prune_raw(
    tx: &mut Transaction<'_, Any>,
    before: i64,
    limit: i64,
) -> Result<u64, StoreError> {
    let rows = sqlx::query(
        "SELECT id FROM email_inbound
         WHERE received_at < $1 AND raw_deflated IS NOT NULL
         ORDER BY received_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Ids the database gave, written into the statement: one statement
    // for the slice rather than one per mail.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let done = sqlx::query(&format!(
        "UPDATE email_inbound SET raw_deflated = NULL WHERE id IN ({list})"
    ))
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "DELETE FROM email_inbound_chunks WHERE inbound_id IN ({list})"
    ))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// A stored mail as an agent lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: i64,
    pub status: String,
    pub source: String,
    pub sender: Option<String>,
    pub received_at: i64,
    pub ticket_reference: Option<String>,
    pub detail: serde_json::Value,
}

/// Mails in one of `statuses`, newest first, ids below `before`.
pub async fn list<'e, E>(
    executor: E,
    statuses: &[&str],
    before: i64,
    limit: i64,
) -> Result<Vec<Listed>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let placeholders: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT m.id, m.status, m.source, m.sender, m.received_at, m.detail, t.reference
         FROM email_inbound m LEFT JOIN desk_tickets t ON t.id = m.ticket_id
         WHERE m.id < $1 AND m.status IN ({})
         ORDER BY m.id DESC LIMIT $2",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(before).bind(limit);
    for status in statuses {
        query = query.bind(*status);
    }
    let rows = query.fetch_all(executor).await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(Listed {
                id: r.try_get("id")?,
                status: r.try_get("status")?,
                source: r.try_get("source")?,
                sender: r.try_get("sender")?,
                received_at: r.try_get("received_at")?,
                ticket_reference: r.try_get("reference")?,
                detail: serde_json::from_str(&detail).unwrap_or_default(),
            })
        })
        .collect()
}

/// Mails in `status` whose raw copy is still kept, oldest first; or just
/// mail `only` when given.
pub async fn replayable<'e, E>(
    executor: E,
    status: &str,
    only: Option<i64>,
) -> Result<Vec<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id FROM email_inbound
         WHERE status = $1 AND raw_deflated IS NOT NULL AND ($2 = 0 OR id = $2)
         ORDER BY id",
    )
    .bind(status)
    .bind(only.unwrap_or(0))
    .fetch_all(executor)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Puts mail `id` back to `received` from `from`, clearing what ingesting
/// recorded; false when it moved meanwhile.
pub async fn rewind(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    from: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE email_inbound SET status = 'received', ticket_id = NULL, detail = '{}',
            processed_at = NULL
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
