//! Access reviews: members' access as a reviewer sees it (roles, last
//! activity, second factor, devices: read from the security center's
//! tables), the reviews themselves, their decisions and the schedule.

use super::TWO_FACTOR_ON;
use super::{join_keys, split_keys};
use crate::store::col;
use sqlx::{Any, Executor, Row, Transaction};

/// One member's access, as it is now.
#[derive(Debug, Clone)]
pub struct AccessRow {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub status: String,
    pub roles: Vec<String>,
    pub joined_at: i64,
    /// The last time any of their sessions was used.
    pub last_seen_at: Option<i64>,
    pub two_factor: bool,
    pub devices: i64,
    pub frozen_devices: i64,
}

/// Members' access, account ids below `before`, highest first.
pub async fn access<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<AccessRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT m.account_id, m.display_name, a.email, m.status, m.roles, m.joined_at,
                (SELECT MAX(s.last_seen_at) FROM sessions s WHERE s.account_id = m.account_id) AS last_seen_at,
                {TWO_FACTOR_ON} AS two_factor,
                (SELECT COUNT(*) FROM devices d WHERE d.account_id = m.account_id AND d.removed_at IS NULL) AS devices,
                (SELECT COUNT(*) FROM devices d WHERE d.account_id = m.account_id AND d.removed_at IS NULL
                   AND d.frozen_at IS NOT NULL) AS frozen_devices
         FROM org_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND m.account_id < $2
         ORDER BY m.account_id DESC LIMIT $3"
    ))
    .bind(org_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccessRow {
                account_id: col(r, "account_id")?,
                display_name: col(r, "display_name")?,
                email: col(r, "email")?,
                status: col(r, "status")?,
                roles: split_keys(&col::<String>(r, "roles")?),
                joined_at: col(r, "joined_at")?,
                last_seen_at: col(r, "last_seen_at")?,
                two_factor: col::<i64>(r, "two_factor")? != 0,
                devices: col(r, "devices")?,
                frozen_devices: col(r, "frozen_devices")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewRow {
    pub id: i64,
    pub started_by: i64,
    pub started_at: i64,
    pub signed_off_by: Option<i64>,
    pub signed_off_at: Option<i64>,
    pub note: Option<String>,
    /// Members in the review, and how many were decided, kept and revoked.
    pub members: i64,
    pub decided: i64,
    pub kept: i64,
    pub revoked: i64,
}

const REVIEW_COLUMNS: &str = "r.id, r.started_by, r.started_at, r.signed_off_by, r.signed_off_at, r.note,
    (SELECT COUNT(*) FROM org_access_review_items i WHERE i.review_id = r.id) AS members,
    (SELECT COUNT(*) FROM org_access_review_items i WHERE i.review_id = r.id AND i.decision IS NOT NULL) AS decided,
    (SELECT COUNT(*) FROM org_access_review_items i WHERE i.review_id = r.id AND i.decision = 'keep') AS kept,
    (SELECT COUNT(*) FROM org_access_review_items i WHERE i.review_id = r.id AND i.decision = 'revoke') AS revoked";

fn review_from(r: &sqlx::any::AnyRow) -> Result<ReviewRow, sqlx::Error> {
    Ok(ReviewRow {
        id: col(r, "id")?,
        started_by: col(r, "started_by")?,
        started_at: col(r, "started_at")?,
        signed_off_by: col(r, "signed_off_by")?,
        signed_off_at: col(r, "signed_off_at")?,
        note: col(r, "note")?,
        members: col(r, "members")?,
        decided: col(r, "decided")?,
        kept: col(r, "kept")?,
        revoked: col(r, "revoked")?,
    })
}

/// The organization's reviews, newest first (at most `limit`).
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    limit: i64,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM org_access_reviews r WHERE r.org_id = $1
         ORDER BY r.id DESC LIMIT $2"
    ))
    .bind(org_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(review_from).collect()
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    review_id: i64,
) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM org_access_reviews r WHERE r.org_id = $1 AND r.id = $2"
    ))
    .bind(org_id)
    .bind(review_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(review_from)
    .transpose()
}

/// The review in progress, if any.
pub async fn open<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id FROM org_access_reviews WHERE org_id = $1 AND signed_off_at IS NULL",
    )
    .bind(org_id)
    .fetch_optional(db)
    .await?;
    row.map(|r| col(&r, "id")).transpose()
}

/// What a member's access was when a review began.
pub struct Snapshot<'a> {
    pub account_id: i64,
    pub display_name: &'a str,
    pub roles: &'a [String],
    pub marks: Vec<&'static str>,
}

/// Starts a review of the given members; returns its id.
pub async fn start(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    started_by: i64,
    now: i64,
    members: &[Snapshot<'_>],
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query(
        "INSERT INTO org_access_reviews (org_id, started_by, started_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(org_id)
    .bind(started_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    for member in members {
        sqlx::query(
            "INSERT INTO org_access_review_items (review_id, account_id, display_name, roles, marks)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(member.account_id)
        .bind(member.display_name)
        .bind(join_keys(member.roles))
        .bind(member.marks.join(","))
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemRow {
    pub account_id: i64,
    pub display_name: String,
    /// Role keys held when the review began.
    pub roles: Vec<String>,
    /// Why the member needed a look when the review began:
    /// `inactive`, `administrator_without_two_factor`.
    pub marks: Vec<String>,
    /// `keep` or `revoke`; absent until decided.
    pub decision: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
}

const ITEM_COLUMNS: &str =
    "account_id, display_name, roles, marks, decision, decided_by, decided_at, note";

fn item_from(r: &sqlx::any::AnyRow) -> Result<ItemRow, sqlx::Error> {
    Ok(ItemRow {
        account_id: col(r, "account_id")?,
        display_name: col(r, "display_name")?,
        roles: split_keys(&col::<String>(r, "roles")?),
        marks: split_keys(&col::<String>(r, "marks")?),
        decision: col(r, "decision")?,
        decided_by: col(r, "decided_by")?,
        decided_at: col(r, "decided_at")?,
        note: col(r, "note")?,
    })
}

/// A review's members, account ids below `before`, highest first; only the
/// undecided ones when asked.
pub async fn items<'e>(
    db: impl Executor<'e, Database = Any>,
    review_id: i64,
    undecided_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<ItemRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM org_access_review_items
         WHERE review_id = $1 AND ($2 = 0 OR decision IS NULL) AND account_id < $3
         ORDER BY account_id DESC LIMIT $4"
    ))
    .bind(review_id)
    .bind(i64::from(undecided_only))
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(item_from).collect()
}

pub async fn find_item<'e>(
    db: impl Executor<'e, Database = Any>,
    review_id: i64,
    account_id: i64,
) -> Result<Option<ItemRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM org_access_review_items WHERE review_id = $1 AND account_id = $2"
    ))
    .bind(review_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(item_from)
    .transpose()
}

pub async fn decide(
    tx: &mut Transaction<'_, Any>,
    review_id: i64,
    account_id: i64,
    decision: &str,
    note: Option<&str>,
    by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE org_access_review_items SET decision = $1, note = $2, decided_by = $3, decided_at = $4
         WHERE review_id = $5 AND account_id = $6",
    )
    .bind(decision)
    .bind(note)
    .bind(by)
    .bind(now)
    .bind(review_id)
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Signs the review off; false when it was signed off already.
pub async fn sign_off(
    tx: &mut Transaction<'_, Any>,
    review_id: i64,
    by: i64,
    note: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE org_access_reviews SET signed_off_by = $1, signed_off_at = $2, note = $3
         WHERE id = $4 AND signed_off_at IS NULL",
    )
    .bind(by)
    .bind(now)
    .bind(note)
    .bind(review_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The accounts a review decided to revoke.
pub async fn revoked<'e>(
    db: impl Executor<'e, Database = Any>,
    review_id: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT account_id FROM org_access_review_items WHERE review_id = $1 AND decision = 'revoke'
         ORDER BY account_id",
    )
    .bind(review_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| col(r, "account_id")).collect()
}

/// When reviews fall due for one organization, and whether a reminder went.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub org_id: i64,
    pub org_name: String,
    pub created_at: i64,
    pub every_days: i64,
    pub reminded_for: Option<i64>,
    pub last_signed_off_at: Option<i64>,
    pub review_open: bool,
}

const SCHEDULE_SQL: &str = "SELECT o.id, o.name, o.created_at, s.every_days, s.reminded_for,
        (SELECT MAX(r.signed_off_at) FROM org_access_reviews r WHERE r.org_id = o.id) AS last_signed_off_at,
        (SELECT COUNT(*) FROM org_access_reviews r WHERE r.org_id = o.id AND r.signed_off_at IS NULL) AS open
     FROM orgs o LEFT JOIN org_review_schedules s ON s.org_id = o.id";

fn schedule_from(r: &sqlx::any::AnyRow, default_days: i64) -> Result<Schedule, sqlx::Error> {
    Ok(Schedule {
        org_id: col(r, "id")?,
        org_name: col(r, "name")?,
        created_at: col(r, "created_at")?,
        every_days: col::<Option<i64>>(r, "every_days")?.unwrap_or(default_days),
        reminded_for: col(r, "reminded_for")?,
        last_signed_off_at: col(r, "last_signed_off_at")?,
        review_open: col::<i64>(r, "open")? > 0,
    })
}

pub async fn schedule<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    default_days: i64,
) -> Result<Option<Schedule>, sqlx::Error> {
    sqlx::query(&format!("{SCHEDULE_SQL} WHERE o.id = $1"))
        .bind(org_id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(|r| schedule_from(r, default_days))
        .transpose()
}

/// Every organization's schedule, ids above `after`, lowest first.
pub async fn schedules<'e>(
    db: impl Executor<'e, Database = Any>,
    after: i64,
    limit: i64,
    default_days: i64,
) -> Result<Vec<Schedule>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SCHEDULE_SQL} WHERE o.id > $1 ORDER BY o.id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| schedule_from(r, default_days))
        .collect()
}

pub async fn set_every_days(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    every_days: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO org_review_schedules (org_id, every_days) VALUES ($1, $2)
         ON CONFLICT (org_id) DO UPDATE SET every_days = excluded.every_days",
    )
    .bind(org_id)
    .bind(every_days)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records that owners were reminded of the review due at `due_at`;
/// false when another node did it first.
pub async fn mark_reminded(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    every_days: i64,
    due_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO org_review_schedules (org_id, every_days, reminded_for) VALUES ($1, $2, $3)
         ON CONFLICT (org_id) DO UPDATE SET reminded_for = excluded.reminded_for
         WHERE org_review_schedules.reminded_for IS NULL OR org_review_schedules.reminded_for <> excluded.reminded_for",
    )
    .bind(org_id)
    .bind(every_days)
    .bind(due_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The active members of an organization with their role keys.
pub async fn active_member_roles<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Vec<(i64, Vec<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT account_id, roles FROM org_members WHERE org_id = $1 AND status = 'active'",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                col(r, "account_id")?,
                split_keys(&col::<String>(r, "roles")?),
            ))
        })
        .collect()
}
