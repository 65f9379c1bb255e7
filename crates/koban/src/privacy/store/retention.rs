//! Retention's SQL: what is past its kind's days, everyone's or a region's,
//! across the domains' tables (docs/privacy.md has the table of kinds).

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// Deletes the delivery domain's records of messages settled before
/// `before` (never one still queued or sending), in batches so a long
/// backlog does not hold the writer.
pub async fn prune_deliveries<'e, E: Executor<'e, Database = Any> + Copy>(
    executor: E,
    before: i64,
) -> Result<u64, sqlx::Error> {
    let mut pruned = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE created_at < $1 AND status IN ('sent', 'failed', 'delivered')
                 ORDER BY id LIMIT 1000)",
        )
        .bind(before)
        .execute(executor)
        .await?;
        pruned += done.rows_affected();
        if done.rows_affected() < 1000 {
            return Ok(pruned);
        }
    }
}

/// `ids` as a SQL list. They are integers read from the database, so
/// writing them into the statement is safe, and keeps one statement per
/// batch on both databases whatever the batch's size.
fn id_list(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    list.join(",")
}

/// One account as its region is judged: (id, phone, the country of its
/// latest successful sign-in).
pub type RegionRow = (i64, Option<String>, Option<String>);

const REGION_SELECT: &str = "SELECT a.id, a.phone,
        (SELECT l.country FROM login_attempts l
         WHERE l.account_id = a.id AND l.outcome = 'success' AND l.country IS NOT NULL
         ORDER BY l.id DESC LIMIT 1) AS country
     FROM accounts a";

fn region_row(row: &sqlx::any::AnyRow) -> Result<RegionRow, sqlx::Error> {
    Ok((
        row.try_get("id")?,
        row.try_get("phone")?,
        row.try_get("country")?,
    ))
}

/// The accounts after `after`, by id, with what their region is read from.
pub async fn region_rows<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<RegionRow>, sqlx::Error> {
    let sql = format!("{REGION_SELECT} WHERE a.id > $1 ORDER BY a.id LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(region_row).collect()
}

/// One account's region row.
pub async fn region_row_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<RegionRow>, sqlx::Error> {
    let sql = format!("{REGION_SELECT} WHERE a.id = $1");
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(region_row).transpose()
}

/// Deletes the sign-in history (security domain) of `accounts` before `before`.
pub async fn prune_sign_ins_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    accounts: &[i64],
    before: i64,
) -> Result<u64, sqlx::Error> {
    if accounts.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "DELETE FROM login_attempts WHERE at < $1 AND account_id IN ({})",
        id_list(accounts)
    );
    Ok(sqlx::query(&sql)
        .bind(before)
        .execute(executor)
        .await?
        .rows_affected())
}

/// Deletes the settled delivery records (delivery domain) of `accounts`
/// sent before `before`.
pub async fn prune_deliveries_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    accounts: &[i64],
    before: i64,
) -> Result<u64, sqlx::Error> {
    if accounts.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "DELETE FROM deliveries WHERE created_at < $1
             AND status IN ('sent', 'failed', 'delivered') AND account_id IN ({})",
        id_list(accounts)
    );
    Ok(sqlx::query(&sql)
        .bind(before)
        .execute(executor)
        .await?
        .rows_affected())
}

/// Up to `limit` tickets (desk domain) closed before `before`, of the
/// requesters `accounts` when given.
pub async fn closed_tickets<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    before: i64,
    accounts: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let whose = match accounts {
        Some([]) => return Ok(vec![]),
        Some(ids) => format!("AND requester_account_id IN ({})", id_list(ids)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT id FROM desk_tickets
         WHERE status = 'closed' AND closed_at IS NOT NULL AND closed_at < $1 {whose}
         ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(before)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The desk's tables that hang off a ticket, children first. Lookups,
/// lookup grants and surveys go by `ON DELETE CASCADE`; the search index
/// follows the deletion through its triggers.
const TICKET_CHILDREN: &[&str] = &[
    "desk_attachments",
    "desk_channel_messages",
    "desk_document_requests",
    "desk_verifications",
    "desk_ticket_tags",
    "desk_presence",
    "desk_sla_clocks",
    "desk_events",
    "desk_messages",
];

/// Deletes ticket `id` and everything of it; the blobs its attachments
/// named (to release once committed), or None when it was already gone.
pub async fn delete_ticket(
    tx: &mut Transaction<'_, Any>,
    id: i64,
) -> Result<Option<Vec<String>>, StoreError> {
    let rows =
        sqlx::query("SELECT blob_key, thumbnail_key FROM desk_attachments WHERE ticket_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    let mut blobs = vec![];
    for row in &rows {
        blobs.push(row.try_get::<String, _>("blob_key")?);
        if let Some(thumbnail) = row.try_get::<Option<String>, _>("thumbnail_key")? {
            blobs.push(thumbnail);
        }
    }
    // Other tickets merged into or following this one keep their own
    // history; the raw mail that opened it keeps its own retention.
    for sql in [
        "UPDATE desk_tickets SET merged_into = NULL WHERE merged_into = $1",
        "UPDATE desk_tickets SET follow_up_of = NULL WHERE follow_up_of = $1",
        "UPDATE email_inbound SET ticket_id = NULL WHERE ticket_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    for table in TICKET_CHILDREN {
        sqlx::query(&format!("DELETE FROM {table} WHERE ticket_id = $1"))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let done = sqlx::query("DELETE FROM desk_tickets WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok((done.rows_affected() > 0).then_some(blobs))
}

/// An attachment past its retention.
pub struct DueAttachment {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub created_at: i64,
    pub blob_key: String,
    pub thumbnail_key: Option<String>,
}

/// Up to `limit` attachments of `kind` (desk domain) uploaded before
/// `before`, on tickets of the requesters `accounts` when given.
pub async fn attachments_due<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    kind: &str,
    before: i64,
    accounts: Option<&[i64]>,
    limit: i64,
) -> Result<Vec<DueAttachment>, sqlx::Error> {
    let whose = match accounts {
        Some([]) => return Ok(vec![]),
        Some(ids) => format!(
            "AND ticket_id IN (SELECT id FROM desk_tickets WHERE requester_account_id IN ({}))",
            id_list(ids)
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT id, ticket_id, file_name, created_at, blob_key, thumbnail_key
         FROM desk_attachments WHERE kind = $1 AND created_at < $2 {whose}
         ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(kind)
        .bind(before)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DueAttachment {
                id: r.try_get("id")?,
                ticket_id: r.try_get("ticket_id")?,
                file_name: r.try_get("file_name")?,
                created_at: r.try_get("created_at")?,
                blob_key: r.try_get("blob_key")?,
                thumbnail_key: r.try_get("thumbnail_key")?,
            })
        })
        .collect()
}
