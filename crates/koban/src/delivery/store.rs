//! SQL for deliveries.

use super::api::DeliveryView;
use super::{MailBounce, Outgoing};
use crate::store::{Batch, Earlier, Store, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// A queued delivery's row, not yet stored.
pub struct Inserted<'a> {
    pub message: &'a Outgoing,
    pub body_sealed: Vec<u8>,
    pub mail_headers: Option<&'a str>,
    pub mail_attachments: Option<&'a str>,
    pub provider: &'a str,
    pub now: i64,
}

const INSERT_QUEUED: &str = "INSERT INTO deliveries (account_id, purpose, channel, destination, subject, body_sealed, status, provider, created_at, updated_at, mail_headers, mail_attachments)
     VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8, $9, $10)";

/// Adds a queued delivery to `batch`: its id for the statements pushed
/// after it, up to the next delivery of the batch. SQLite finds the row
/// again as the newest delivery, which it is until then: its writer is
/// the transaction's alone, and ids only grow (`AUTOINCREMENT`).
pub fn push_queued(batch: &mut Batch, row: Inserted<'_>) -> Earlier {
    batch.push_with_id(
        INSERT_QUEUED,
        values(row),
        "(SELECT MAX(id) FROM deliveries)",
    )
}

/// The parameters of [`INSERT_QUEUED`].
fn values(row: Inserted<'_>) -> Vec<Value> {
    let m = row.message;
    vec![
        m.account_id.into(),
        m.purpose.as_str().into(),
        m.channel.as_str().into(),
        m.destination.as_str().into(),
        m.subject.as_str().into(),
        Some(row.body_sealed).into(),
        row.provider.into(),
        row.now.into(),
        row.mail_headers.into(),
        row.mail_attachments.into(),
    ]
}

/// A delivery recorded as held back, never sent: failed at once under the
/// provider `held`, with `why` as its error, and no body.
pub async fn insert_held(
    conn: &mut sqlx::AnyConnection,
    message: &Outgoing,
    why: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO deliveries (account_id, purpose, channel, destination, subject, status, provider, error, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'failed', 'held', $6, $7, $7) RETURNING id",
    )
    .bind(message.account_id)
    .bind(&message.purpose)
    .bind(message.channel.as_str())
    .bind(&message.destination)
    .bind(&message.subject)
    .bind(why)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get("id")
}

/// A delivery taken for sending.
pub struct Taken {
    pub provider: String,
    pub destination: String,
    pub subject: String,
    pub body_sealed: Option<Vec<u8>>,
    pub mail_headers: Option<String>,
    pub mail_attachments: Option<String>,
}

/// Takes delivery `id` for sending when it is queued, or left "sending"
/// since before `stale_before`; `None` when someone else has it or it is done.
pub async fn take(
    store: &Store,
    id: i64,
    now: i64,
    stale_before: i64,
) -> Result<Option<Taken>, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $1
         WHERE id = $2 AND (status = 'queued' OR (status = 'sending' AND updated_at < $3))
         RETURNING destination, subject, body_sealed, provider, mail_headers, mail_attachments",
    )
    .bind(now)
    .bind(id)
    .bind(stale_before)
    .fetch_optional(store.write())
    .await?;
    taken
        .map(|row| {
            Ok(Taken {
                provider: row.try_get("provider")?,
                destination: row.try_get("destination")?,
                subject: row.try_get("subject")?,
                body_sealed: row.try_get("body_sealed")?,
                mail_headers: row.try_get("mail_headers")?,
                mail_attachments: row.try_get("mail_attachments")?,
            })
        })
        .transpose()
}

/// The status of delivery `id`, if it exists.
pub async fn status(store: &Store, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT status FROM deliveries WHERE id = $1")
        .bind(id)
        .fetch_optional(store.write())
        .await?
        .map(|r| r.try_get("status"))
        .transpose()
}

/// Records queued outbox deliveries as sent in one statement, each under
/// its own reference (`koban-delivery-<id>`; its body stays, sealed, for
/// administrators to read); the ids it recorded. One not queued for the
/// outbox (sent already, being sent, or another provider) is left alone.
pub async fn record_in_outbox(
    writer: &sqlx::AnyPool,
    ids: &[i64],
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, error = NULL,
                provider_message_id = 'koban-delivery-' || id, updated_at = $1
         WHERE id IN ({}) AND provider = 'outbox' AND status = 'queued'
         RETURNING id",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(writer)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect()
}

/// Records a delivery as sent (unless a status callback overtook it),
/// dropping its body unless `keep_body`.
pub async fn mark_sent(
    store: &Store,
    id: i64,
    provider_message_id: String,
    keep_body: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET
                status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END,
                error = CASE WHEN status = 'sending' THEN NULL ELSE error END,
                provider_message_id = COALESCE($1, provider_message_id), updated_at = $2,
                body_sealed = CASE WHEN $3 = 1 THEN body_sealed ELSE NULL END
         WHERE id = $4",
    )
    .bind(provider_message_id)
    .bind(now)
    .bind(keep_body as i64)
    .bind(id)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Records a failed send of a delivery still being sent: `status` queued
/// again, or failed.
pub async fn mark_unsent(
    store: &Store,
    id: i64,
    status: &str,
    error: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET status = $1, error = $2, updated_at = $3
         WHERE id = $4 AND status = 'sending'",
    )
    .bind(status)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(store.write())
    .await?;
    Ok(())
}

const COLUMNS: &str = "id, account_id, purpose, channel, destination, subject, status, provider, error, attempts, created_at, updated_at, delivered_at, body_sealed";

fn view(row: &AnyRow, key: Option<&crate::crypto::ServerKey>) -> Result<DeliveryView, sqlx::Error> {
    Ok(DeliveryView {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        purpose: row.try_get("purpose")?,
        channel: row.try_get("channel")?,
        destination: row.try_get("destination")?,
        subject: row.try_get("subject")?,
        status: row.try_get("status")?,
        provider: row.try_get("provider")?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        delivered_at: row.try_get("delivered_at")?,
        body: match key {
            Some(k) => super::open_body(k, row.try_get("body_sealed")?),
            None => None,
        },
    })
}

/// Outbox messages before id `before`, newest first, with their bodies
/// opened with `key`: at most `limit` rows.
pub async fn outbox(
    store: &Store,
    key: &crate::crypto::ServerKey,
    before: i64,
    limit: i64,
) -> Result<Vec<DeliveryView>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE provider = 'outbox' AND id < $1 ORDER BY id DESC LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(before)
        .bind(limit)
        .fetch_all(store.read())
        .await?;
    rows.iter().map(|r| view(r, Some(key))).collect()
}

/// Deliveries before id `before`, newest first, for an account (-1: any)
/// and a destination ('': any): at most `limit` rows, without bodies.
pub async fn log(
    store: &Store,
    before: i64,
    account_id: i64,
    destination: String,
    limit: i64,
) -> Result<Vec<DeliveryView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE id < $1
           AND ($2 = -1 OR account_id = $2) AND ($3 = '' OR destination = $3)
         ORDER BY id DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(before)
        .bind(account_id)
        .bind(destination)
        .bind(limit)
        .fetch_all(store.read())
        .await?;
    rows.iter().map(|r| view(r, None)).collect()
}

/// The SMS delivery the provider names by its own id or by our reference
/// (`by_reference`, the delivery id, -1 when none): the newest.
pub async fn find_sms(
    store: &Store,
    provider_message_id: &str,
    by_reference: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let found = sqlx::query(
        "SELECT id FROM deliveries WHERE channel = 'sms' AND provider = 'sms-http'
           AND (provider_message_id = $1 OR id = $2)
         ORDER BY id DESC LIMIT 1",
    )
    .bind(provider_message_id)
    .bind(by_reference)
    .fetch_optional(store.read())
    .await?;
    found.map(|row| row.try_get("id")).transpose()
}

/// Records what the provider reported of a message still on its way.
pub async fn record_report(
    store: &Store,
    id: i64,
    status: &str,
    delivered_at: Option<i64>,
    error: Option<String>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET status = $1, delivered_at = $2, error = COALESCE($3, error), updated_at = $4
         WHERE id = $5 AND status IN ('sent', 'sending')",
    )
    .bind(status)
    .bind(delivered_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(store.write())
    .await?;
    Ok(())
}

/// Records a bounce of email delivery `id` to `recipient` (when the bounce
/// names one, it must be the delivery's): a permanent one fails the
/// delivery. The address the mail went to; `None` when no such sent mail
/// exists.
pub async fn record_bounce(
    store: &Store,
    id: i64,
    recipient: Option<&str>,
    error: &str,
    permanent: bool,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE deliveries SET
                status = CASE WHEN $4 = 1 THEN 'failed' ELSE status END,
                error = $3, updated_at = $5
         WHERE id = $1 AND channel = 'email' AND status IN ('sent', 'delivered', 'failed')
           AND ($2 = '' OR LOWER(destination) = $2)
         RETURNING destination",
    )
    .bind(id)
    .bind(recipient.unwrap_or(""))
    .bind(error)
    .bind(i64::from(permanent))
    .bind(now)
    .fetch_optional(store.write())
    .await?;
    done.map(|row| row.try_get("destination")).transpose()
}

/// Marks `bounce.address` as bouncing, replacing an older mark.
pub async fn mark_bounced(store: &Store, bounce: &MailBounce) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_bounced_addresses (address, bounced_at, status, reason, delivery_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (address) DO UPDATE SET bounced_at = $2, status = $3, reason = $4, delivery_id = $5",
    )
    .bind(&bounce.address)
    .bind(bounce.bounced_at)
    .bind(&bounce.status)
    .bind(&bounce.reason)
    .bind(bounce.delivery_id)
    .execute(store.write())
    .await?;
    Ok(())
}

/// The bounce mark of `address` (lower-cased), if it has one.
pub async fn bounce_of<'e, E>(executor: E, address: &str) -> Result<Option<MailBounce>, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT address, bounced_at, status, reason, delivery_id FROM mail_bounced_addresses
         WHERE address = $1",
    )
    .bind(address)
    .fetch_optional(executor)
    .await?;
    row.map(|r| {
        Ok(MailBounce {
            address: r.try_get("address")?,
            bounced_at: r.try_get("bounced_at")?,
            status: r.try_get("status")?,
            reason: r.try_get("reason")?,
            delivery_id: r.try_get("delivery_id")?,
        })
    })
    .transpose()
}

/// Removes the bounce mark of `address` (lower-cased); whether it had one.
pub async fn clear_bounce(store: &Store, address: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM mail_bounced_addresses WHERE address = $1")
        .bind(address)
        .execute(store.write())
        .await?;
    Ok(done.rows_affected() > 0)
}
