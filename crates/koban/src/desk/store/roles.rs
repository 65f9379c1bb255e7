//! The SQL of desk roles: who holds one, changing one, and the record of
//! every change.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// An account with its desk role.
#[derive(Debug, Clone)]
pub struct StaffRow {
    pub account_id: i64,
    pub identifier: String,
    pub role: String,
}

/// Accounts holding a desk role (agent and above), by id.
pub async fn staff<'e, E>(executor: E) -> Result<Vec<StaffRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, COALESCE(email, phone, '') AS identifier, role FROM accounts
         WHERE role <> 'user' ORDER BY id LIMIT 1000",
    )
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StaffRow {
                account_id: r.try_get("id")?,
                identifier: r.try_get("identifier")?,
                role: r.try_get("role")?,
            })
        })
        .collect()
}

/// Locks the admins' rows until `tx` ends, so that two admins demoting
/// each other at once are decided one after the other (PostgreSQL; SQLite
/// takes its one write lock here); then counts them.
pub async fn lock_admins(tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
    sqlx::query("UPDATE accounts SET role = role WHERE role = 'admin'")
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE role = 'admin'")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("n")?)
}

/// The role of account `id`, if it exists.
pub async fn role_of(tx: &mut Transaction<'_, Any>, id: i64) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT role FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("role")?),
        None => None,
    })
}

/// Sets account `id`'s role from `from` to `to` and records who did it.
pub async fn set_role(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    from: &str,
    to: &str,
    by: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let changed = sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2 AND role = $3")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    if changed.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO desk_role_changes (account_id, from_role, to_role, changed_by, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// A recorded role change.
#[derive(Debug, Clone)]
pub struct RoleChangeRow {
    pub account_id: i64,
    pub from_role: String,
    pub to_role: String,
    pub changed_by: Option<i64>,
    pub at: i64,
}

/// The newest role changes, newest first.
pub async fn role_changes<'e, E>(executor: E, limit: i64) -> Result<Vec<RoleChangeRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT account_id, from_role, to_role, changed_by, at FROM desk_role_changes
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RoleChangeRow {
                account_id: r.try_get("account_id")?,
                from_role: r.try_get("from_role")?,
                to_role: r.try_get("to_role")?,
                changed_by: r.try_get("changed_by")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}
