//! The privacy domain's SQL: its own tables (exports, deletion requests),
//! and the reads and erasures it does on other domains' tables. Those
//! live here, each commented, because an archive and an erasure must see
//! every table in one place and one transaction, which the other domains'
//! paged, per-screen services do not offer.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// One export as stored.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: i64,
    pub account_id: i64,
    pub status: String,
    pub progress: i64,
    pub blob_id: Option<String>,
    pub bytes: Option<i64>,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    pub expires_at: Option<i64>,
}

const EXPORT_COLUMNS: &str =
    "id, account_id, status, progress, blob_id, bytes, created_at, ready_at, expires_at";

fn export_row(row: &AnyRow) -> Result<ExportRow, sqlx::Error> {
    Ok(ExportRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        status: row.try_get("status")?,
        progress: row.try_get("progress")?,
        blob_id: row.try_get("blob_id")?,
        bytes: row.try_get("bytes")?,
        created_at: row.try_get("created_at")?,
        ready_at: row.try_get("ready_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// Adds a queued export unless the account has one in progress (the
/// unique `in_progress_for` refuses a second, however close in time).
pub async fn insert_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO privacy_exports (account_id, in_progress_for, status, progress, created_at)
         VALUES ($1, $1, 'queued', 0, $2)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(now)
    .fetch_optional(executor)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// The account's export in progress, if any.
pub async fn in_progress<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    let sql = format!("SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE in_progress_for = $1");
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(export_row).transpose()
}

/// One export of `account_id` (None for another person's).
pub async fn export_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    id: i64,
) -> Result<Option<ExportRow>, sqlx::Error> {
    let sql =
        format!("SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE id = $1 AND account_id = $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(export_row).transpose()
}

/// The account's newest exports, newest first.
pub async fn exports_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    limit: i64,
) -> Result<Vec<ExportRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {EXPORT_COLUMNS} FROM privacy_exports WHERE account_id = $1 ORDER BY id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(account_id)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(export_row).collect()
}

/// Records how far the preparation is.
pub async fn set_progress<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    progress: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'preparing', progress = $2
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .bind(progress)
    .execute(executor)
    .await?;
    Ok(())
}

/// The archive is stored: ready until `expires_at`, and no longer in progress.
pub async fn finish_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    blob_id: &str,
    bytes: i64,
    ready_at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'ready', progress = 100, in_progress_for = NULL,
             blob_id = $2, bytes = $3, ready_at = $4, expires_at = $5
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .bind(blob_id)
    .bind(bytes)
    .bind(ready_at)
    .bind(expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// The job gave up: the account may ask again.
pub async fn fail_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'failed', in_progress_for = NULL
         WHERE id = $1 AND status IN ('queued', 'preparing')",
    )
    .bind(id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Ready exports whose link ran out by `now`: (id, blob id).
pub async fn expired_exports<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    now: i64,
) -> Result<Vec<(i64, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, blob_id FROM privacy_exports WHERE status = 'ready' AND expires_at <= $1
         ORDER BY id LIMIT 500",
    )
    .bind(now)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("blob_id")?)))
        .collect()
}

/// Marks an export expired once its bytes are deleted.
pub async fn mark_expired<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE privacy_exports SET status = 'expired', blob_id = NULL WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// One deletion request as stored.
#[derive(Debug, Clone)]
pub struct DeletionRow {
    pub id: i64,
    pub account_id: i64,
    pub status: String,
    pub requested_at: i64,
    pub erase_after: i64,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<String>,
    pub erased_at: Option<i64>,
}

const DELETION_COLUMNS: &str =
    "id, account_id, status, requested_at, erase_after, cancelled_at, cancelled_by, erased_at";

fn deletion_row(row: &AnyRow) -> Result<DeletionRow, sqlx::Error> {
    Ok(DeletionRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        status: row.try_get("status")?,
        requested_at: row.try_get("requested_at")?,
        erase_after: row.try_get("erase_after")?,
        cancelled_at: row.try_get("cancelled_at")?,
        cancelled_by: row.try_get("cancelled_by")?,
        erased_at: row.try_get("erased_at")?,
    })
}

/// Adds a pending deletion unless one is pending (unique `pending_for`).
pub async fn insert_deletion(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    now: i64,
    erase_after: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO privacy_deletions (account_id, pending_for, status, requested_at, erase_after)
         VALUES ($1, $1, 'requested', $2, $3)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(now)
    .bind(erase_after)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// The account's newest deletion request, pending or not.
pub async fn latest_deletion<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<DeletionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELETION_COLUMNS} FROM privacy_deletions WHERE account_id = $1 ORDER BY id DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(account_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(deletion_row).transpose()
}

/// Pending requests after id `after`, oldest first, for the sweep.
pub async fn pending_deletions<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<DeletionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {DELETION_COLUMNS} FROM privacy_deletions WHERE status = 'requested' AND id > $1
         ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(after)
        .bind(limit)
        .fetch_all(executor)
        .await?;
    rows.iter().map(deletion_row).collect()
}

/// Cancels a pending request; false when it is no longer pending (another
/// node, or the erasure, got there first).
pub async fn cancel_deletion(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    by: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE privacy_deletions SET status = 'cancelled', pending_for = NULL,
             cancelled_at = $2, cancelled_by = $3
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a pending request erased; false when it was no longer pending.
pub async fn mark_erased(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE privacy_deletions SET status = 'erased', pending_for = NULL, erased_at = $2
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the account last signed in: its newest session's start. Read from
/// the accounts domain's `sessions` table, which has no such query.
pub async fn last_sign_in<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT MAX(created_at) AS at FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(executor)
        .await?;
    row.try_get("at")
}

/// How a column is read into the archive.
#[derive(Clone, Copy)]
pub enum Col {
    Text,
    Int,
}

/// One section's query: the SQL (the account id as `$1`) and its columns.
pub struct SectionQuery {
    pub sql: &'static str,
    pub columns: &'static [(&'static str, Col)],
}

/// The query of each section of `koban_policy::privacy::SECTIONS` but the
/// messages (which [`public_messages`] reads): rows of the accounts,
/// security, desk and delivery domains' tables, by the account's id.
pub fn section_query(section: &str) -> Option<SectionQuery> {
    use Col::*;
    Some(match section {
        "account" => SectionQuery {
            sql: "SELECT id, email, phone, email_verified_at, phone_verified_at, role, locale, status,
                      created_at, password_changed_at, totp_enabled_at
                  FROM accounts WHERE id = $1",
            columns: &[
                ("id", Int),
                ("email", Text),
                ("phone", Text),
                ("email_verified_at", Int),
                ("phone_verified_at", Int),
                ("role", Text),
                ("locale", Text),
                ("status", Text),
                ("created_at", Int),
                ("password_changed_at", Int),
                ("totp_enabled_at", Int),
            ],
        },
        "contacts" => SectionQuery {
            sql: "SELECT id, email, phone, name, created_at FROM desk_contacts
                  WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("id", Int),
                ("email", Text),
                ("phone", Text),
                ("name", Text),
                ("created_at", Int),
            ],
        },
        "devices" => SectionQuery {
            sql: "SELECT id, name, platform, client_version, first_seen_at, last_seen_at, last_ip,
                      last_country, removed_at
                  FROM devices WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("id", Int),
                ("name", Text),
                ("platform", Text),
                ("client_version", Text),
                ("first_seen_at", Int),
                ("last_seen_at", Int),
                ("last_ip", Text),
                ("last_country", Text),
                ("removed_at", Int),
            ],
        },
        "sign_in_history" => SectionQuery {
            sql: "SELECT at, ip, country, user_agent, outcome, risk_score, reasons, decision
                  FROM login_attempts WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("at", Int),
                ("ip", Text),
                ("country", Text),
                ("user_agent", Text),
                ("outcome", Text),
                ("risk_score", Int),
                ("reasons", Text),
                ("decision", Text),
            ],
        },
        "security_timeline" => SectionQuery {
            sql: "SELECT at, kind, detail, ip FROM security_events WHERE account_id = $1 ORDER BY id",
            columns: &[("at", Int), ("kind", Text), ("detail", Text), ("ip", Text)],
        },
        "tickets" => SectionQuery {
            sql: "SELECT reference, subject, status, category, subcategory, channel, language,
                      created_at, updated_at, solved_at, closed_at
                  FROM desk_tickets WHERE requester_account_id = $1 ORDER BY id",
            columns: &[
                ("reference", Text),
                ("subject", Text),
                ("status", Text),
                ("category", Text),
                ("subcategory", Text),
                ("channel", Text),
                ("language", Text),
                ("created_at", Int),
                ("updated_at", Int),
                ("solved_at", Int),
                ("closed_at", Int),
            ],
        },
        "deliveries" => SectionQuery {
            sql: "SELECT purpose, channel, destination, subject, status, created_at, delivered_at
                  FROM deliveries WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("purpose", Text),
                ("channel", Text),
                ("destination", Text),
                ("subject", Text),
                ("status", Text),
                ("created_at", Int),
                ("delivered_at", Int),
            ],
        },
        _ => return None,
    })
}

/// Runs a section's query: one JSON object per row.
pub async fn section_rows<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    query: &SectionQuery,
    account_id: i64,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(query.sql)
        .bind(account_id)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (name, col) in query.columns {
                let value = match col {
                    Col::Text => row
                        .try_get::<Option<String>, _>(*name)?
                        .map_or(serde_json::Value::Null, serde_json::Value::from),
                    Col::Int => row
                        .try_get::<Option<i64>, _>(*name)?
                        .map_or(serde_json::Value::Null, serde_json::Value::from),
                };
                object.insert((*name).to_string(), value);
            }
            Ok(serde_json::Value::Object(object))
        })
        .collect()
}

/// A message of one of the account's tickets.
pub struct MessageRow {
    pub reference: String,
    pub author_kind: String,
    pub public: bool,
    pub body: String,
    pub created_at: i64,
}

/// The messages of the tickets the account asked, with whether each is
/// public (the caller keeps only what the rule allows).
pub async fn ticket_messages<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.reference, m.author_kind, m.public, m.body, m.created_at
         FROM desk_messages m JOIN desk_tickets t ON t.id = m.ticket_id
         WHERE t.requester_account_id = $1 ORDER BY m.id",
    )
    .bind(account_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MessageRow {
                reference: r.try_get("reference")?,
                author_kind: r.try_get("author_kind")?,
                public: r.try_get::<i64, _>("public")? != 0,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The text an erased requester's messages are replaced with.
pub const ERASED_TEXT: &str = "[removed at the requester's request]";

/// Erases the account's personal data inside `tx` (docs/privacy.md says
/// what goes and what stays). The account row stays, emptied, because
/// tickets, audit entries and organizations refer to it by id.
pub async fn erase_account(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    remove_requester_text: bool,
) -> Result<(), StoreError> {
    let placeholder = format!("erased-{account_id}@erased.invalid");
    // Sign-in throttles are keyed by the contact itself: read it first.
    let contacts = sqlx::query("SELECT email, phone FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = contacts {
        for column in ["email", "phone"] {
            if let Some(contact) = row.try_get::<Option<String>, _>(column)? {
                sqlx::query("DELETE FROM send_throttle WHERE destination = $1")
                    .bind(contact)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    // accounts (accounts domain): contacts, password hash, second factor.
    sqlx::query(
        "UPDATE accounts SET email = $2, phone = NULL, email_verified_at = NULL,
             phone_verified_at = NULL, password_hash = '!erased', locale = NULL,
             status = 'disabled', totp_secret_sealed = NULL, totp_enabled_at = NULL,
             totp_last_step = NULL
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(&placeholder)
    .execute(&mut **tx)
    .await?;
    // Sessions, codes, devices, history and factors (accounts and
    // security domains): nothing of them is kept.
    for table in [
        "sessions",
        "verification_codes",
        "devices",
        "login_attempts",
        "security_events",
        "recovery_codes",
        "passkeys",
        "webauthn_ceremonies",
        "sign_in_challenges",
        "security_reminders",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
    }
    // Delivery records (delivery domain) stay as counts of what was sent,
    // without where to or what.
    sqlx::query(
        "UPDATE deliveries SET destination = 'erased', body_sealed = NULL WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    // The desk's contacts proven to be this account, and its tickets: the
    // requester becomes the emptied account, the form's answers and the
    // security snapshot go.
    sqlx::query(
        "UPDATE desk_contacts SET email = 'erased-contact-' || CAST(id AS TEXT) || '@erased.invalid',
             phone = NULL, name = NULL
         WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE desk_tickets SET fields = '{}', security_snapshot_sealed = NULL
         WHERE requester_account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    if remove_requester_text {
        sqlx::query(
            "UPDATE desk_messages SET body = $2, original_sealed = NULL
             WHERE author_kind = 'requester' AND (author_account_id = $1
                 OR ticket_id IN (SELECT id FROM desk_tickets WHERE requester_account_id = $1))",
        )
        .bind(account_id)
        .bind(ERASED_TEXT)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Whose export `id` is (the preparing job starts from the id alone).
pub async fn owner_of_export<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT account_id FROM privacy_exports WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?;
    row.map(|r| r.try_get("account_id")).transpose()
}

/// The account's exports that still hold an archive: (id, blob id).
pub async fn archives_of<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, blob_id FROM privacy_exports WHERE account_id = $1 AND blob_id IS NOT NULL",
    )
    .bind(account_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("blob_id")?)))
        .collect()
}

/// Ends every export of an account being erased.
pub async fn expire_exports_of(
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE privacy_exports SET status = 'expired', blob_id = NULL, in_progress_for = NULL
         WHERE account_id = $1",
    )
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

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
