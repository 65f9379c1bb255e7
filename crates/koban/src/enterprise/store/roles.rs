//! `org_roles`: an organization's custom roles.

use crate::store::col;
use sqlx::{Any, Executor, Row, Transaction};

#[derive(Debug, Clone)]
pub struct CustomRoleRow {
    pub id: i64,
    pub name: String,
    /// Permission names, comma-separated.
    pub permissions: String,
    pub updated_at: i64,
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<CustomRoleRow, sqlx::Error> {
    Ok(CustomRoleRow {
        id: col(row, "id")?,
        name: col(row, "name")?,
        permissions: col(row, "permissions")?,
        updated_at: col(row, "updated_at")?,
    })
}

pub async fn all<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Vec<CustomRoleRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, permissions, updated_at FROM org_roles WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts a role; None when the organization has one of that name.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    name: &str,
    permissions: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO org_roles (org_id, name, permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (org_id, name) DO NOTHING RETURNING id",
    )
    .bind(org_id)
    .bind(name)
    .bind(permissions)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// Renames and re-permissions a role; false when another role has the name.
pub async fn update(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    id: i64,
    name: &str,
    permissions: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let clash =
        sqlx::query("SELECT 1 AS one FROM org_roles WHERE org_id = $1 AND name = $2 AND id <> $3")
            .bind(org_id)
            .bind(name)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    if clash.is_some() {
        return Ok(false);
    }
    sqlx::query("UPDATE org_roles SET name = $1, permissions = $2, updated_at = $3 WHERE org_id = $4 AND id = $5")
        .bind(name)
        .bind(permissions)
        .bind(now)
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM org_roles WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
