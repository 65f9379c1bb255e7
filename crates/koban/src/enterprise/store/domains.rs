//! `org_domains`: the email domains organizations claim and prove.

use crate::store::col;
use sqlx::{Any, Executor, Row, Transaction};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DomainRow {
    #[serde(skip)]
    pub id: i64,
    pub domain: String,
    /// `dns` or `email`.
    pub method: String,
    /// `pending` or `verified`.
    pub status: String,
    /// The mailbox the code went to (`email`).
    pub mailbox: Option<String>,
    /// People with a verified address at the domain may join on their own.
    pub auto_join: bool,
    pub created_at: i64,
    pub verified_at: Option<i64>,
    #[serde(skip)]
    pub token: String,
    #[serde(skip)]
    pub code_hash: Option<String>,
    #[serde(skip)]
    pub code_failures: i64,
}

const COLUMNS: &str = "id, domain, method, status, mailbox, auto_join, created_at, verified_at, token, code_hash, code_failures";

fn from_row(r: &sqlx::any::AnyRow) -> Result<DomainRow, sqlx::Error> {
    Ok(DomainRow {
        id: col(r, "id")?,
        domain: col(r, "domain")?,
        method: col(r, "method")?,
        status: col(r, "status")?,
        mailbox: col(r, "mailbox")?,
        auto_join: col::<i64>(r, "auto_join")? != 0,
        created_at: col(r, "created_at")?,
        verified_at: col(r, "verified_at")?,
        token: col(r, "token")?,
        code_hash: col(r, "code_hash")?,
        code_failures: col(r, "code_failures")?,
    })
}

pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Vec<DomainRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_domains WHERE org_id = $1 ORDER BY domain"
    ))
    .bind(org_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    domain: &str,
) -> Result<Option<DomainRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_domains WHERE org_id = $1 AND domain = $2"
    ))
    .bind(org_id)
    .bind(domain)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Whether another organization proved the domain.
pub async fn verified_elsewhere<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    domain: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM org_domains WHERE domain = $1 AND status = 'verified' AND org_id <> $2",
    )
    .bind(domain)
    .bind(org_id)
    .fetch_optional(db)
    .await?
    .is_some())
}

pub struct NewDomain<'a> {
    pub org_id: i64,
    pub domain: &'a str,
    pub method: &'a str,
    pub token: &'a str,
    pub mailbox: Option<&'a str>,
    pub created_by: i64,
    pub now: i64,
}

/// Claims a domain, or starts its proof again (a new token or code);
/// returns its id.
pub async fn upsert_pending(
    tx: &mut Transaction<'_, Any>,
    new: &NewDomain<'_>,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO org_domains (org_id, domain, method, token, mailbox, status, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)
         ON CONFLICT (org_id, domain) DO UPDATE SET method = excluded.method, token = excluded.token,
             mailbox = excluded.mailbox, code_hash = NULL, code_failures = 0
         RETURNING id",
    )
    .bind(new.org_id)
    .bind(new.domain)
    .bind(new.method)
    .bind(new.token)
    .bind(new.mailbox)
    .bind(new.created_by)
    .bind(new.now)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("id")
}

pub async fn set_code_hash(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    code_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE org_domains SET code_hash = $1 WHERE id = $2")
        .bind(code_hash)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn count_code_failure(tx: &mut Transaction<'_, Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE org_domains SET code_failures = code_failures + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn mark_verified(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE org_domains SET status = 'verified', verified_at = $1, code_hash = NULL WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_auto_join(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    auto_join: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE org_domains SET auto_join = $1 WHERE id = $2")
        .bind(i64::from(auto_join))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete(tx: &mut Transaction<'_, Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM org_domains WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The organization that proved `domain` and lets its people join, if any.
pub async fn joinable_through<'e>(
    db: impl Executor<'e, Database = Any>,
    domain: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "SELECT org_id FROM org_domains WHERE domain = $1 AND status = 'verified' AND auto_join = 1",
    )
    .bind(domain)
    .fetch_optional(db)
    .await?
    .map(|r| col(&r, "org_id"))
    .transpose()
}
