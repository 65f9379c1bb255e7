//! The enterprise support line: the memberships that may open an
//! organization's tickets, and the organization's tickets (the desk's
//! `desk_tickets`, filled with `organization_id` as they are opened).

use super::split_keys;
use crate::store::col;
use sqlx::{Any, Executor};

/// An account's active memberships: organization, plan and role keys.
pub async fn memberships<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: i64,
) -> Result<Vec<(i64, String, Vec<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.org_id, o.plan, m.roles FROM org_members m JOIN orgs o ON o.id = m.org_id
         WHERE m.account_id = $1 AND m.status = 'active' ORDER BY m.org_id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                col(r, "org_id")?,
                col(r, "plan")?,
                split_keys(&col::<String>(r, "roles")?),
            ))
        })
        .collect()
}

/// Active and suspended members, and tickets not solved or closed.
pub async fn counts<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT
            (SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND status = 'active') AS active,
            (SELECT COUNT(*) FROM org_members WHERE org_id = $1 AND status = 'suspended') AS suspended,
            (SELECT COUNT(*) FROM desk_tickets WHERE organization_id = $1
               AND status NOT IN ('solved', 'closed')) AS open_tickets",
    )
    .bind(org_id)
    .fetch_one(db)
    .await?;
    Ok((
        col(&row, "active")?,
        col(&row, "suspended")?,
        col(&row, "open_tickets")?,
    ))
}

/// One of the organization's tickets, as its administrators follow it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OrgTicket {
    #[serde(skip)]
    pub id: i64,
    /// Grouped for reading aloud: `2612-0345-678`.
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub category: String,
    /// `standard` or `enterprise`.
    pub tier: String,
    pub requester_account_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The organization's tickets, ids below `before`, newest first; only
/// unsolved ones when `open_only`.
pub async fn tickets<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    open_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<OrgTicket>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, reference, subject, status, priority, category, tier, requester_account_id,
                created_at, updated_at
         FROM desk_tickets
         WHERE organization_id = $1 AND id < $2 AND ($3 = 0 OR status NOT IN ('solved', 'closed'))
         ORDER BY id DESC LIMIT $4",
    )
    .bind(org_id)
    .bind(before)
    .bind(i64::from(open_only))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OrgTicket {
                id: col(r, "id")?,
                reference: crate::desk::tickets::api::formatted(&col::<String>(r, "reference")?),
                subject: col(r, "subject")?,
                status: col(r, "status")?,
                priority: col(r, "priority")?,
                category: col(r, "category")?,
                tier: col(r, "tier")?,
                requester_account_id: col(r, "requester_account_id")?,
                created_at: col(r, "created_at")?,
                updated_at: col(r, "updated_at")?,
            })
        })
        .collect()
}

/// Whether `account_id` is subscribed to the organization's replies.
pub async fn subscribed<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    account_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM org_support_subscriptions WHERE org_id = $1 AND account_id = $2",
    )
    .bind(org_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?
    .is_some())
}

/// Subscribes or unsubscribes; whether anything changed.
pub async fn set_subscribed(
    tx: &mut sqlx::Transaction<'_, Any>,
    org_id: i64,
    account_id: i64,
    on: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = if on {
        sqlx::query(
            "INSERT INTO org_support_subscriptions (org_id, account_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (org_id, account_id) DO NOTHING",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
    } else {
        sqlx::query("DELETE FROM org_support_subscriptions WHERE org_id = $1 AND account_id = $2")
            .bind(org_id)
            .bind(account_id)
            .execute(&mut **tx)
            .await?
    };
    Ok(done.rows_affected() > 0)
}

/// The subscribers of an organization with their active membership's
/// role keys, email (when verified) and language; suspended members and
/// those without a verified email are left out.
pub async fn subscribers<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
) -> Result<Vec<(i64, Vec<String>, String, Option<String>)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.account_id, m.roles, a.email, a.locale
         FROM org_support_subscriptions s
         JOIN org_members m ON m.org_id = s.org_id AND m.account_id = s.account_id
         JOIN accounts a ON a.id = s.account_id
         WHERE s.org_id = $1 AND m.status = 'active'
           AND a.email IS NOT NULL AND a.email_verified_at IS NOT NULL
         ORDER BY s.account_id LIMIT 200",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                col(r, "account_id")?,
                split_keys(&col::<String>(r, "roles")?),
                col(r, "email")?,
                col(r, "locale")?,
            ))
        })
        .collect()
}
