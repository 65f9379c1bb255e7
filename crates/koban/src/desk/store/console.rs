//! The console's SQL: tags on tickets, which agents have a ticket open,
//! and the names the console shows for agents and requesters.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// A ticket's tags, in alphabetical order.
pub async fn tags<'e, E>(executor: E, ticket_id: i64) -> Result<Vec<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT tag FROM desk_ticket_tags WHERE ticket_id = $1 ORDER BY tag")
        .bind(ticket_id)
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("tag"))
        .collect::<Result<_, _>>()?)
}

/// Adds a tag; false when the ticket had it already.
pub async fn add_tag(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    tag: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO desk_ticket_tags (ticket_id, tag) VALUES ($1, $2)
         ON CONFLICT (ticket_id, tag) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(tag)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a tag; false when the ticket did not have it.
pub async fn remove_tag(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    tag: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM desk_ticket_tags WHERE ticket_id = $1 AND tag = $2")
        .bind(ticket_id)
        .bind(tag)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the ticket as open on `agent_id`'s screen now.
pub async fn seen<'e, E>(
    executor: E,
    ticket_id: i64,
    agent_id: i64,
    now: i64,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO desk_presence (ticket_id, agent_id, seen_at) VALUES ($1, $2, $3)
         ON CONFLICT (ticket_id, agent_id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(ticket_id)
    .bind(agent_id)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// The other agents who had the ticket open since `since`, as their names.
pub async fn others_on<'e, E>(
    executor: E,
    ticket_id: i64,
    agent_id: i64,
    since: i64,
) -> Result<Vec<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT COALESCE(a.email, a.phone) AS name FROM desk_presence p
         JOIN accounts a ON a.id = p.agent_id
         WHERE p.ticket_id = $1 AND p.agent_id <> $2 AND p.seen_at >= $3
         ORDER BY p.seen_at DESC",
    )
    .bind(ticket_id)
    .bind(agent_id)
    .bind(since)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?)
}

/// The active staff who may be assigned tickets: id and name, by name.
pub async fn agents<'e, E>(executor: E) -> Result<Vec<(i64, String)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, COALESCE(email, phone) AS name FROM accounts
         WHERE status = 'active' AND role IN ('agent', 'supervisor', 'admin')
         ORDER BY name LIMIT 500",
    )
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// How a requester is named and reached: (name, email).
pub async fn requester_names<'e, E>(
    executor: E,
    account_id: Option<i64>,
    contact_id: Option<i64>,
) -> Result<(Option<String>, Option<String>), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT
           (SELECT name FROM desk_contacts WHERE id = $2) AS contact_name,
           (SELECT email FROM desk_contacts WHERE id = $2) AS contact_email,
           (SELECT phone FROM desk_contacts WHERE id = $2) AS contact_phone,
           (SELECT email FROM accounts WHERE id = $1) AS account_email,
           (SELECT phone FROM accounts WHERE id = $1) AS account_phone",
    )
    .bind(account_id.unwrap_or(-1))
    .bind(contact_id.unwrap_or(-1))
    .fetch_one(executor)
    .await?;
    let get = |name: &str| row.try_get::<Option<String>, _>(name);
    let email = get("account_email")?.or(get("contact_email")?);
    let name = get("contact_name")?
        .or(email.clone())
        .or(get("account_phone")?)
        .or(get("contact_phone")?);
    Ok((name, email))
}

/// The newest verification started on the ticket: (id, destination,
/// status, passed_at).
pub async fn latest_verification<'e, E>(
    executor: E,
    ticket_id: i64,
) -> Result<Option<(i64, String, String, Option<i64>)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT id, destination, status, passed_at FROM desk_verifications
         WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(ticket_id)
    .fetch_optional(executor)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("destination")?,
            r.try_get("status")?,
            r.try_get("passed_at")?,
        ))
    })
    .transpose()
    .map_err(|e: sqlx::Error| StoreError::from(e))
}

/// Names of accounts by id (agents and requesters in a ticket's history).
pub async fn names<'e, E>(executor: E, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are numbers the store gave out, so they are written into the
    // statement; the list is a ticket's participants, a handful.
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT id, COALESCE(email, phone) AS name FROM accounts WHERE id IN ({list})"
    ))
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
