//! `orgs`: an organization's profile and plan.

use crate::store::col;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `standard` or `enterprise`: the support tier.
    pub plan: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, description, plan, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<OrgRow, sqlx::Error> {
    Ok(OrgRow {
        id: col(row, "id")?,
        name: col(row, "name")?,
        description: col(row, "description")?,
        plan: col(row, "plan")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    name: &str,
    description: &str,
    created_by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO orgs (name, description, plan, created_by, created_at, updated_at)
         VALUES ($1, $2, 'standard', $3, $4, $4) RETURNING id",
    )
    .bind(name)
    .bind(description)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    row.try_get("id")
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    id: i64,
) -> Result<Option<OrgRow>, sqlx::Error> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM orgs WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The organizations `account_id` is a member of (active or suspended),
/// with their status there and roles, newest first.
pub async fn of_account(
    db: &AnyPool,
    account_id: i64,
) -> Result<Vec<(OrgRow, String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT o.id, o.name, o.description, o.plan, o.created_at, o.updated_at, m.status AS member_status, m.roles
         FROM org_members m JOIN orgs o ON o.id = m.org_id
         WHERE m.account_id = $1 ORDER BY o.id DESC LIMIT 200",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, col(r, "member_status")?, col(r, "roles")?)))
        .collect()
}

pub async fn update_profile(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    name: &str,
    description: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orgs SET name = $1, description = $2, updated_at = $3 WHERE id = $4")
        .bind(name)
        .bind(description)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_plan(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    plan: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE orgs SET plan = $1, updated_at = $2 WHERE id = $3")
        .bind(plan)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
