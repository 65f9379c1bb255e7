//! The announcements' SQL: the announcements, their change log and the
//! accounts a security notice was pushed to.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use std::collections::BTreeMap;

/// One language of an announcement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TextRow {
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// An announcement as stored.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Announcement {
    pub id: i64,
    /// `service_status`, `security` or `maintenance`.
    pub kind: String,
    /// Title and Markdown body by language tag (`en`, `zh-CN`, `zh-TW`, `ja`, `th`).
    pub texts: BTreeMap<String, TextRow>,
    /// ISO 3166 alpha-2 codes; empty means everywhere.
    pub regions: Vec<String>,
    /// Milliseconds since the epoch.
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    /// `draft`, `published` or `withdrawn`.
    pub status: String,
    pub author_id: i64,
    pub created_at: i64,
    pub updated_by: i64,
    pub updated_at: i64,
    /// Send it back with an edit: a save over someone else's is refused (409).
    pub version: i64,
}

const COLUMNS: &str = "id, kind, texts, regions, starts_at, ends_at, status, author_id, created_at, updated_by, updated_at, version";

impl Announcement {
    fn from_row(row: &AnyRow) -> Result<Announcement, sqlx::Error> {
        let texts: String = row.try_get("texts")?;
        let regions: String = row.try_get("regions")?;
        Ok(Announcement {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            texts: serde_json::from_str(&texts).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            regions: regions
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            status: row.try_get("status")?,
            author_id: row.try_get("author_id")?,
            created_at: row.try_get("created_at")?,
            updated_by: row.try_get("updated_by")?,
            updated_at: row.try_get("updated_at")?,
            version: row.try_get("version")?,
        })
    }

    /// The stored form of the texts.
    pub fn texts_json(texts: &BTreeMap<String, TextRow>) -> String {
        serde_json::to_string(texts).unwrap_or_else(|_| "{}".into())
    }
}

/// What an insert or an edit writes.
pub struct Write<'a> {
    pub kind: &'a str,
    pub texts: String,
    pub regions: String,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

/// A change as the log keeps it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    pub actor_id: i64,
    pub at: i64,
    /// `created`, `edited`, `published`, `withdrawn` or `pushed`.
    pub action: String,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    write: &Write<'_>,
    author: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO announcements (kind, texts, regions, starts_at, ends_at, status, author_id, created_at, updated_by, updated_at, version)
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $6, $7, 1) RETURNING id",
    )
    .bind(write.kind)
    .bind(&write.texts)
    .bind(&write.regions)
    .bind(write.starts_at)
    .bind(write.ends_at)
    .bind(author)
    .bind(now)
    .fetch_one(executor)
    .await?;
    row.try_get("id")
}

/// Rewrites an announcement's content if it is still at `version`; false
/// when someone changed it meanwhile.
pub async fn update<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    version: i64,
    write: &Write<'_>,
    actor: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE announcements SET kind = $1, texts = $2, regions = $3, starts_at = $4, ends_at = $5,
         updated_by = $6, updated_at = $7, version = version + 1 WHERE id = $8 AND version = $9",
    )
    .bind(write.kind)
    .bind(&write.texts)
    .bind(&write.regions)
    .bind(write.starts_at)
    .bind(write.ends_at)
    .bind(actor)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves an announcement to `status` if it is still at `version`.
pub async fn set_status<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    version: i64,
    status: &str,
    actor: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE announcements SET status = $1, updated_by = $2, updated_at = $3, version = version + 1
         WHERE id = $4 AND version = $5",
    )
    .bind(status)
    .bind(actor)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn log<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    actor: i64,
    now: i64,
    action: &str,
    snapshot: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO announcement_changes (announcement_id, actor_id, at, action, snapshot) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(actor)
    .bind(now)
    .bind(action)
    .bind(snapshot)
    .execute(executor)
    .await?;
    Ok(())
}

pub async fn find<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<Announcement>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM announcements WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(executor).await?;
    row.as_ref().map(Announcement::from_row).transpose()
}

/// The newest announcements first, any status: at most `limit`.
pub async fn all<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    limit: i64,
) -> Result<Vec<Announcement>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM announcements ORDER BY id DESC LIMIT {limit}");
    let rows = sqlx::query(&sql).fetch_all(executor).await?;
    rows.iter().map(Announcement::from_row).collect()
}

/// Published announcements not ended before `since`, newest start first:
/// what readers may see now or saw lately.
pub async fn published_since<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    since: i64,
) -> Result<Vec<Announcement>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM announcements WHERE status = 'published' AND (ends_at IS NULL OR ends_at > $1)
         ORDER BY starts_at DESC, id DESC LIMIT 200"
    );
    let rows = sqlx::query(&sql).bind(since).fetch_all(executor).await?;
    rows.iter().map(Announcement::from_row).collect()
}

pub async fn changes<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Vec<Change>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT actor_id, at, action FROM announcement_changes WHERE announcement_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                actor_id: r.try_get("actor_id")?,
                at: r.try_get("at")?,
                action: r.try_get("action")?,
            })
        })
        .collect()
}

/// Adds `accounts` to a notice's recipients; those already there stay as
/// they were. Returns how many were new.
pub async fn add_recipients<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
    accounts: &[i64],
    now: i64,
) -> Result<u64, StoreError> {
    if accounts.is_empty() {
        return Ok(0);
    }
    let values: Vec<String> = accounts
        .iter()
        .map(|a| format!("({id}, {a}, {now})"))
        .collect();
    // Ids and times are integers this code produced: nothing from outside
    // reaches the statement's text.
    let sql = format!(
        "INSERT INTO announcement_recipients (announcement_id, account_id, pushed_at) VALUES {}
         ON CONFLICT (announcement_id, account_id) DO NOTHING",
        values.join(", ")
    );
    Ok(sqlx::query(&sql).execute(executor).await?.rows_affected())
}

/// The announcements pushed to `account` that are published and not ended at `now`.
pub async fn pushed_to<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account: i64,
    now: i64,
) -> Result<Vec<Announcement>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM announcements a JOIN announcement_recipients r ON r.announcement_id = a.id
         WHERE r.account_id = $1 AND a.status = 'published' AND a.starts_at <= $2 AND (a.ends_at IS NULL OR a.ends_at > $2)
         ORDER BY a.id DESC LIMIT 20",
        COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(account)
        .bind(now)
        .fetch_all(executor)
        .await?;
    rows.iter().map(Announcement::from_row).collect()
}

pub async fn recipients<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<i64, sqlx::Error> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM announcement_recipients WHERE announcement_id = $1")
            .bind(id)
            .fetch_one(executor)
            .await?;
    row.try_get("n")
}
