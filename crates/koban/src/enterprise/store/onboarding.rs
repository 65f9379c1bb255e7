//! Member security onboarding: the organization's notice, members'
//! acknowledgements, and the security center's facts the checklist reads.

use super::TWO_FACTOR_ON;
use crate::store::col;
use sqlx::{Any, Executor, Transaction};

#[derive(Debug, Clone)]
pub struct NoticeRow {
    pub body: String,
    pub version: i64,
    pub updated_at: i64,
}

pub async fn notice<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Option<NoticeRow>, sqlx::Error> {
    let row =
        sqlx::query("SELECT body, version, updated_at FROM org_security_notices WHERE org_id = $1")
            .bind(org_id)
            .fetch_optional(db)
            .await?;
    row.map(|r| {
        Ok(NoticeRow {
            body: col(&r, "body")?,
            version: col(&r, "version")?,
            updated_at: col(&r, "updated_at")?,
        })
    })
    .transpose()
}

/// Stores a new version of the notice; returns its version (the first is 1).
pub async fn save_notice(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    body: &str,
    by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO org_security_notices (org_id, body, version, updated_at, updated_by)
         VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (org_id) DO UPDATE SET body = excluded.body,
             version = org_security_notices.version + 1,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by
         RETURNING version",
    )
    .bind(org_id)
    .bind(body)
    .bind(now)
    .bind(by)
    .fetch_one(&mut **tx)
    .await?;
    col(&row, "version")
}

pub async fn acknowledge(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    item: &str,
    version: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_onboarding_acks (org_id, account_id, item, version, done_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id, account_id, item) DO UPDATE SET version = excluded.version,
             done_at = excluded.done_at",
    )
    .bind(org_id)
    .bind(account_id)
    .bind(item)
    .bind(version)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One member's checklist facts.
#[derive(Debug, Clone)]
pub struct MemberFacts {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub joined_at: i64,
    pub two_factor: bool,
    pub unused_recovery_codes: i64,
    pub newest_device_at: Option<i64>,
    pub devices_reviewed_at: Option<i64>,
    pub notice_read_version: Option<i64>,
    pub notice_read_at: Option<i64>,
}

/// Members' checklist facts, account ids below `before`, highest first
/// (only `account` when given).
pub async fn facts<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    account: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberFacts>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT m.account_id, m.display_name, a.email, m.joined_at,
                {TWO_FACTOR_ON} AS two_factor,
                (SELECT COUNT(*) FROM recovery_codes r WHERE r.account_id = m.account_id
                   AND r.used_at IS NULL) AS unused_recovery_codes,
                (SELECT MAX(d.first_seen_at) FROM devices d WHERE d.account_id = m.account_id
                   AND d.removed_at IS NULL) AS newest_device_at,
                (SELECT k.done_at FROM org_onboarding_acks k WHERE k.org_id = m.org_id
                   AND k.account_id = m.account_id AND k.item = 'devices_reviewed') AS devices_reviewed_at,
                (SELECT k.version FROM org_onboarding_acks k WHERE k.org_id = m.org_id
                   AND k.account_id = m.account_id AND k.item = 'security_notice') AS notice_read_version,
                (SELECT k.done_at FROM org_onboarding_acks k WHERE k.org_id = m.org_id
                   AND k.account_id = m.account_id AND k.item = 'security_notice') AS notice_read_at
         FROM org_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND ($2 = 0 OR m.account_id = $2) AND m.account_id < $3
         ORDER BY m.account_id DESC LIMIT $4"
    ))
    .bind(org_id)
    .bind(account.unwrap_or(0))
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MemberFacts {
                account_id: col(r, "account_id")?,
                display_name: col(r, "display_name")?,
                email: col(r, "email")?,
                joined_at: col(r, "joined_at")?,
                two_factor: col::<i64>(r, "two_factor")? != 0,
                unused_recovery_codes: col(r, "unused_recovery_codes")?,
                newest_device_at: col(r, "newest_device_at")?,
                devices_reviewed_at: col(r, "devices_reviewed_at")?,
                notice_read_version: col(r, "notice_read_version")?,
                notice_read_at: col(r, "notice_read_at")?,
            })
        })
        .collect()
}
