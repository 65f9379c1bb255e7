//! `org_policies`: each organization's security policy, and the policies
//! governing one account (for the security center's sign-in).

use crate::store::col;
use koban_policy::org::policy::Policy;
use sqlx::{Any, Executor, Transaction};

/// An organization's policy as stored.
#[derive(Debug, Clone, Default)]
pub struct PolicyRow {
    pub policy: Policy,
    pub two_factor_since: Option<i64>,
    /// 0 while no policy was ever set.
    pub version: i64,
    pub updated_at: Option<i64>,
}

fn parse(text: &str) -> Result<Policy, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The organization's policy; the default (nothing set) without a row.
pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<PolicyRow, sqlx::Error> {
    let row = sqlx::query(
        "SELECT policy, two_factor_since, version, updated_at FROM org_policies WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(db)
    .await?;
    match row {
        None => Ok(PolicyRow::default()),
        Some(r) => Ok(PolicyRow {
            policy: parse(&col::<String>(&r, "policy")?)?,
            two_factor_since: col(&r, "two_factor_since")?,
            version: col(&r, "version")?,
            updated_at: Some(col(&r, "updated_at")?),
        }),
    }
}

/// Stores the organization's policy at `version` (the row's next).
pub async fn save(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    row: &PolicyRow,
    actor: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(&row.policy).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO org_policies (org_id, policy, two_factor_since, version, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id) DO UPDATE SET policy = $2, two_factor_since = $3, version = $4,
             updated_at = $5, updated_by = $6",
    )
    .bind(org_id)
    .bind(json)
    .bind(row.two_factor_since)
    .bind(row.version)
    .bind(now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A policy over one member: organization, its name, the policy, when
/// two-step verification became required, when the member joined.
pub type GoverningRow = (i64, String, Policy, Option<i64>, i64);

/// The policies of every organization `account_id` is a member of
/// (suspended members included: suspension is no way out of a policy),
/// by organization id.
pub async fn governing<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: i64,
) -> Result<Vec<GoverningRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT o.id, o.name, p.policy, p.two_factor_since, m.joined_at
         FROM org_members m
         JOIN org_policies p ON p.org_id = m.org_id
         JOIN orgs o ON o.id = m.org_id
         WHERE m.account_id = $1
         ORDER BY o.id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                col(r, "id")?,
                col(r, "name")?,
                parse(&col::<String>(r, "policy")?)?,
                col(r, "two_factor_since")?,
                col(r, "joined_at")?,
            ))
        })
        .collect()
}

/// The accounts of the organization's members, for a policy change that
/// reaches their sessions.
pub async fn member_accounts<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT account_id FROM org_members WHERE org_id = $1")
        .bind(org_id)
        .fetch_all(db)
        .await?;
    rows.iter().map(|r| col(r, "account_id")).collect()
}
