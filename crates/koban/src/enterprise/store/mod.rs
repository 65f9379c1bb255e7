//! The enterprise domain's SQL, one file per table.

pub mod invites;
pub mod members;
pub mod orgs;
pub mod roles;

use crate::store::Backend;
use sqlx::{Any, Transaction};

/// Locks the organization's row until the change ends, so changes of its
/// members and roles take turns: the last-owner rule and a member's
/// version are judged on what no other change is altering. (SQLite has one
/// writer, so its changes take turns already.) False when there is no
/// such organization.
pub async fn lock_org(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    org_id: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => "SELECT id FROM orgs WHERE id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT id FROM orgs WHERE id = $1",
    };
    Ok(sqlx::query(sql)
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// Role keys as stored: comma-separated.
pub fn join_keys(keys: &[String]) -> String {
    keys.join(",")
}

pub fn split_keys(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}
