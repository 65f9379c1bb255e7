//! Members' devices as the organization's administrators see them (the
//! devices themselves are the security center's).

use crate::store::col;
use sqlx::{Any, Executor};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberDevice {
    pub id: i64,
    pub account_id: i64,
    pub member_name: String,
    pub email: Option<String>,
    pub name: String,
    pub platform: String,
    pub client_version: Option<String>,
    pub last_seen_at: i64,
    pub last_country: Option<String>,
    pub frozen_at: Option<i64>,
    pub frozen_reason: Option<String>,
}

/// Bound devices of the organization's members (of one member when
/// `account` is given), ids below `before`, highest first.
pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    account: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberDevice>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.account_id, m.display_name, a.email, d.name, d.platform, d.client_version,
                d.last_seen_at, d.last_country, d.frozen_at, d.frozen_reason
         FROM org_members m
         JOIN devices d ON d.account_id = m.account_id AND d.removed_at IS NULL
         JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND ($2 = 0 OR m.account_id = $2) AND d.id < $3
         ORDER BY d.id DESC LIMIT $4",
    )
    .bind(org_id)
    .bind(account.unwrap_or(0))
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MemberDevice {
                id: col(r, "id")?,
                account_id: col(r, "account_id")?,
                member_name: col(r, "display_name")?,
                email: col(r, "email")?,
                name: col(r, "name")?,
                platform: col(r, "platform")?,
                client_version: col(r, "client_version")?,
                last_seen_at: col(r, "last_seen_at")?,
                last_country: col(r, "last_country")?,
                frozen_at: col(r, "frozen_at")?,
                frozen_reason: col(r, "frozen_reason")?,
            })
        })
        .collect()
}
