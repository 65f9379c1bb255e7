//! `org_members`: who belongs to an organization, with which roles.

use super::{join_keys, split_keys};
use crate::store::col;
use sqlx::{Any, Executor, Row, Transaction};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberRow {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    /// Role keys: built-in names and `custom:<id>`.
    pub roles: Vec<String>,
    /// Name it in a role change (`version`): a change made meanwhile by
    /// someone else is then refused instead of undone.
    pub version: i64,
    pub joined_at: i64,
    pub status_reason: Option<String>,
}

const COLUMNS: &str = "m.account_id, m.display_name, a.email, a.phone, m.status, m.roles, m.version, m.joined_at, m.status_reason";

fn from_row(row: &sqlx::any::AnyRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        account_id: col(row, "account_id")?,
        display_name: col(row, "display_name")?,
        email: col(row, "email")?,
        phone: col(row, "phone")?,
        status: col(row, "status")?,
        roles: split_keys(&col::<String>(row, "roles")?),
        version: col(row, "version")?,
        joined_at: col(row, "joined_at")?,
        status_reason: col(row, "status_reason")?,
    })
}

pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    display_name: &str,
    roles: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_members (org_id, account_id, display_name, status, roles, version, joined_at, updated_at)
         VALUES ($1, $2, $3, 'active', $4, 1, $5, $5)",
    )
    .bind(org_id)
    .bind(account_id)
    .bind(display_name)
    .bind(join_keys(roles))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    account_id: i64,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND m.account_id = $2"
    ))
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// `%text%` for LIKE, with the wildcards in `text` taken literally.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// What the directory shows.
#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    /// Part of a name, email or phone.
    pub search: Option<String>,
    pub status: Option<String>,
    /// A role key the member holds.
    pub role: Option<String>,
}

/// Members with an account id below `before`, highest first.
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    filter: &DirectoryFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let mut sql = format!(
        "SELECT {COLUMNS} FROM org_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND m.account_id < $2"
    );
    // Only the filters given are in the statement (and bound, in order).
    let mut binds: Vec<String> = Vec::new();
    if let Some(search) = &filter.search {
        binds.push(contains_pattern(search));
        let n = binds.len() + 2;
        sql.push_str(&format!(
            " AND (LOWER(m.display_name) LIKE ${n} ESCAPE '\\'
                   OR LOWER(COALESCE(a.email, '')) LIKE ${n} ESCAPE '\\'
                   OR COALESCE(a.phone, '') LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(status) = &filter.status {
        binds.push(status.clone());
        sql.push_str(&format!(" AND m.status = ${}", binds.len() + 2));
    }
    if let Some(role) = &filter.role {
        binds.push(format!("%,{role},%"));
        sql.push_str(&format!(
            " AND (',' || m.roles || ',') LIKE ${}",
            binds.len() + 2
        ));
    }
    sql.push_str(&format!(
        " ORDER BY m.account_id DESC LIMIT {}",
        limit.max(1)
    ));
    let query = binds
        .iter()
        .fold(sqlx::query(&sql).bind(org_id).bind(before), |q, b| {
            q.bind(b.as_str())
        });
    let rows = query.fetch_all(db).await?;
    rows.iter().map(from_row).collect()
}

/// Active members holding the owner role.
pub async fn active_owners(tx: &mut Transaction<'_, Any>, org_id: i64) -> Result<u32, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM org_members
         WHERE org_id = $1 AND status = 'active' AND (',' || roles || ',') LIKE '%,owner,%'",
    )
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>("n")?.max(0) as u32)
}

/// Members holding the role `key`.
pub async fn holding_role(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    key: &str,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM org_members WHERE org_id = $1 AND (',' || roles || ',') LIKE $2",
    )
    .bind(org_id)
    .bind(format!("%,{key},%"))
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("n")
}

/// Replaces the member's roles if the row is still at `version`; false when
/// someone changed it first.
pub async fn set_roles(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    roles: &[String],
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE org_members SET roles = $1, version = version + 1, updated_at = $2
         WHERE org_id = $3 AND account_id = $4 AND version = $5",
    )
    .bind(join_keys(roles))
    .bind(now)
    .bind(org_id)
    .bind(account_id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_status(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    status: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE org_members SET status = $1, status_reason = $2, version = version + 1, updated_at = $3
         WHERE org_id = $4 AND account_id = $5",
    )
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(org_id)
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND account_id = $2")
        .bind(org_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The emails and phones of every member, for an import to skip them.
pub async fn contacts(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.email, a.phone FROM org_members m JOIN accounts a ON a.id = m.account_id WHERE m.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len() * 2);
    for row in &rows {
        out.extend(col::<Option<String>>(row, "email")?);
        out.extend(col::<Option<String>>(row, "phone")?);
    }
    Ok(out)
}
