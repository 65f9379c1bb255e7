//! Search's SQL: the change log it follows, and the desk's rows it indexes
//! (read as they are now, so a change applied twice or late is harmless).

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// One entry of the change log.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub kind: String,
    pub entity_id: i64,
}

/// A ticket as search shows and filters it.
#[derive(Debug, Clone)]
pub struct TicketDoc {
    pub id: i64,
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub category: String,
    pub channel: String,
    pub team: Option<String>,
    pub assignee_id: Option<i64>,
    pub requester_account_id: Option<i64>,
    /// The account that proved the requester's contact, if any.
    pub contact_account_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub language: String,
    pub fields: String,
    pub created_at: i64,
}

/// A message of a ticket's conversation.
#[derive(Debug, Clone)]
pub struct MessageDoc {
    pub id: i64,
    pub ticket_id: i64,
    pub public: bool,
    pub body: String,
    pub created_at: i64,
}

const TICKET_SQL: &str = "SELECT t.id, t.reference, t.subject, t.status, t.category, t.channel, \
    t.team, t.assignee_id, t.requester_account_id, c.account_id AS contact_account_id, \
    t.organization_id, t.language, t.fields, t.created_at \
    FROM desk_tickets t LEFT JOIN desk_contacts c ON c.id = t.requester_contact_id";

fn ticket(row: &AnyRow) -> Result<TicketDoc, sqlx::Error> {
    Ok(TicketDoc {
        id: row.try_get("id")?,
        reference: row.try_get("reference")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        category: row.try_get("category")?,
        channel: row.try_get("channel")?,
        team: row.try_get("team")?,
        assignee_id: row.try_get("assignee_id")?,
        requester_account_id: row.try_get("requester_account_id")?,
        contact_account_id: row.try_get("contact_account_id")?,
        organization_id: row.try_get("organization_id")?,
        language: row.try_get("language")?,
        fields: row.try_get("fields")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A message's columns as [`message`] reads them.
const MESSAGE_SQL: &str = "SELECT id, ticket_id, public, body, created_at FROM desk_messages";

fn message(row: &AnyRow) -> Result<MessageDoc, sqlx::Error> {
    Ok(MessageDoc {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        public: row.try_get::<i64, _>("public")? != 0,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `$1, $2, …` for `n` parameters after `from`.
fn params(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of `select` (which ends in the column to match) whose
/// column is one of `ids`, read in chunks of 200 parameters.
async fn rows_in<T>(
    pool: &AnyPool,
    select: &str,
    ids: &[i64],
    read: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let sql = format!("{select} IN ({})", params(1, chunk.len()));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(pool).await? {
            out.push(read(&row)?);
        }
    }
    Ok(out)
}

/// Changes after `high`, and those among `gaps` (numbers skipped over
/// that may still commit), oldest first, at most `limit` past `high`.
pub async fn changes(
    pool: &AnyPool,
    high: i64,
    gaps: &[i64],
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let read = |row: &AnyRow| -> Result<Change, sqlx::Error> {
        Ok(Change {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            entity_id: row.try_get("entity_id")?,
        })
    };
    let rows = sqlx::query(
        "SELECT seq, kind, entity_id FROM search_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(high)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = rows.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    // The oldest gaps first; a poll asks for a bounded number of them.
    let oldest = &gaps[..gaps.len().min(200)];
    let select = "SELECT seq, kind, entity_id FROM search_changes WHERE seq";
    out.extend(rows_in(pool, select, oldest, read).await?);
    Ok(out)
}

/// The tickets of these ids that still exist.
pub async fn tickets(pool: &AnyPool, ids: &[i64]) -> Result<Vec<TicketDoc>, StoreError> {
    rows_in(pool, &format!("{TICKET_SQL} WHERE t.id"), ids, ticket).await
}

/// Up to `limit` tickets with ids above `after`, in id order: the rebuild's pages.
pub async fn tickets_after(
    pool: &AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<TicketDoc>, StoreError> {
    let sql = format!("{TICKET_SQL} WHERE t.id > $1 ORDER BY t.id LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(ticket).collect::<Result<_, _>>()?)
}

/// The messages of tickets with ids in `from..=to`: a rebuild page's conversation.
pub async fn messages_of_range(
    pool: &AnyPool,
    from: i64,
    to: i64,
) -> Result<Vec<MessageDoc>, StoreError> {
    let sql = format!("{MESSAGE_SQL} WHERE ticket_id >= $1 AND ticket_id <= $2");
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(message).collect::<Result<_, _>>()?)
}

/// The messages of these tickets.
pub async fn messages_of(pool: &AnyPool, tickets: &[i64]) -> Result<Vec<MessageDoc>, StoreError> {
    rows_in(
        pool,
        &format!("{MESSAGE_SQL} WHERE ticket_id"),
        tickets,
        message,
    )
    .await
}

/// The messages of these ids that still exist.
pub async fn messages(pool: &AnyPool, ids: &[i64]) -> Result<Vec<MessageDoc>, StoreError> {
    rows_in(pool, &format!("{MESSAGE_SQL} WHERE id"), ids, message).await
}

/// The tickets whose requester is one of these contacts.
pub async fn tickets_of_contacts(pool: &AnyPool, contacts: &[i64]) -> Result<Vec<i64>, StoreError> {
    rows_in(
        pool,
        "SELECT id FROM desk_tickets WHERE requester_contact_id",
        contacts,
        |row| row.try_get("id"),
    )
    .await
}

/// How many tickets there are (the rebuild's progress bar).
pub async fn ticket_count(pool: &AnyPool) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM desk_tickets")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}

/// Where a rebuild starting now may start following the log: below every
/// change of the last `window_ms` (re-applied, harmlessly, so a change
/// still committing while the rebuild reads is not lost), and never below
/// what pruning removed.
pub async fn rebuild_cursor(pool: &AnyPool, now: i64, window_ms: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE((SELECT MAX(seq) FROM search_changes WHERE at < $1), 0) AS settled, \
         (SELECT pruned_through FROM search_log WHERE id = 1) AS pruned",
    )
    .bind(now - window_ms)
    .fetch_one(pool)
    .await?;
    let settled: i64 = row.try_get("settled")?;
    let pruned: Option<i64> = row.try_get("pruned")?;
    Ok(settled.max(pruned.unwrap_or(0)))
}

/// The highest seq pruning has removed.
pub async fn pruned_through(pool: &AnyPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT pruned_through FROM search_log WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(row) => row.try_get("pruned_through")?,
        None => 0,
    })
}

/// Deletes changes older than `before` (ms) and records the highest seq
/// removed, in one transaction: a node that had not read them yet sees
/// it is behind and rebuilds.
pub async fn prune(pool: &AnyPool, before: i64) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query("SELECT MAX(seq) AS high FROM search_changes WHERE at < $1")
        .bind(before)
        .fetch_one(&mut *tx)
        .await?;
    let Some(high) = row.try_get::<Option<i64>, _>("high")? else {
        tx.rollback().await?;
        return Ok(0);
    };
    sqlx::query("UPDATE search_log SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1")
        .bind(high)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM search_changes WHERE seq <= $1")
        .bind(high)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
