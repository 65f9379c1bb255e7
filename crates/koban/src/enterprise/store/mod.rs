//! The enterprise domain's SQL, one file per table.

pub mod devices;
pub mod domains;
pub mod invites;
pub mod members;
pub mod onboarding;
pub mod orgs;
pub mod policies;
pub mod reviews;
pub mod roles;
pub mod support;

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

/// SQL that is 1 when the member `m` (accounts joined as `a`) has a
/// second factor on: an authenticator app or a passkey.
pub const TWO_FACTOR_ON: &str = "CASE WHEN a.totp_enabled_at IS NOT NULL
    OR EXISTS (SELECT 1 FROM passkeys p WHERE p.account_id = m.account_id) THEN 1 ELSE 0 END";

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
