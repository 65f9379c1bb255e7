//! `org_invites`: invitations to join, by email or phone.

use super::{join_keys, split_keys};
use crate::store::col;
use sqlx::{Any, Executor, Row, Transaction};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InviteRow {
    pub id: i64,
    pub org_id: i64,
    /// The invited email or phone (E.164).
    pub contact: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub created_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// `pending`, `accepted`, `declined` or `revoked`.
    pub status: String,
    pub decided_at: Option<i64>,
    #[serde(skip)]
    pub code_hash: String,
    #[serde(skip)]
    pub code_failures: i64,
}

const COLUMNS: &str = "id, org_id, contact, display_name, roles, created_by, created_at, expires_at, status, decided_at, code_hash, code_failures";

fn from_row(row: &sqlx::any::AnyRow) -> Result<InviteRow, sqlx::Error> {
    Ok(InviteRow {
        id: col(row, "id")?,
        org_id: col(row, "org_id")?,
        contact: col(row, "contact")?,
        display_name: col(row, "display_name")?,
        roles: split_keys(&col::<String>(row, "roles")?),
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        status: col(row, "status")?,
        decided_at: col(row, "decided_at")?,
        code_hash: col(row, "code_hash")?,
        code_failures: col(row, "code_failures")?,
    })
}

/// A new pending invitation.
pub struct NewInvite<'a> {
    pub org_id: i64,
    pub contact: &'a str,
    pub display_name: &'a str,
    pub roles: &'a [String],
    pub token_hash: &'a str,
    pub created_by: i64,
    pub now: i64,
    pub expires_at: i64,
}

/// Inserts the invitation with a placeholder code hash (the code is bound
/// to the id, which is known only now); None when one is pending already.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    new: &NewInvite<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO org_invites (org_id, contact, display_name, roles, token_hash, code_hash, created_by, created_at, expires_at, status)
         VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, 'pending')
         ON CONFLICT (org_id, contact) WHERE status = 'pending' DO NOTHING RETURNING id",
    )
    .bind(new.org_id)
    .bind(new.contact)
    .bind(new.display_name)
    .bind(join_keys(new.roles))
    .bind(new.token_hash)
    .bind(new.created_by)
    .bind(new.now)
    .bind(new.expires_at)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get("id")).transpose()
}

pub async fn set_code_hash(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    code_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE org_invites SET code_hash = $1 WHERE id = $2")
        .bind(code_hash)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    id: i64,
) -> Result<Option<InviteRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND id = $2"
    ))
    .bind(org_id)
    .bind(id)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub async fn by_token<'e>(
    db: impl Executor<'e, Database = Any>,
    token_hash: &str,
) -> Result<Option<InviteRow>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_invites WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The newest invitation of `org_id` to one of `contacts` (any status).
pub async fn latest_for<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    contacts: &[String],
) -> Result<Option<InviteRow>, sqlx::Error> {
    let (first, second) = match contacts {
        [] => return Ok(None),
        [one] => (one.as_str(), one.as_str()),
        [one, two, ..] => (one.as_str(), two.as_str()),
    };
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND contact IN ($2, $3) ORDER BY id DESC LIMIT 1"
    ))
    .bind(org_id)
    .bind(first)
    .bind(second)
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Pending invitations of an organization, newest first, ids below `before`.
pub async fn pending<'e>(
    db: impl Executor<'e, Database = Any>,
    org_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<InviteRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM org_invites WHERE org_id = $1 AND status = 'pending' AND id < $2 ORDER BY id DESC LIMIT $3"
    ))
    .bind(org_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Decides a pending invitation; false when it was no longer pending.
pub async fn decide(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    status: &str,
    account_id: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE org_invites SET status = $1, decided_at = $2, account_id = $3 WHERE id = $4 AND status = 'pending'",
    )
    .bind(status)
    .bind(now)
    .bind(account_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_code_failure(tx: &mut Transaction<'_, Any>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE org_invites SET code_failures = code_failures + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks `contact`'s expired pending invitation to `org_id` expired, so a
/// new one may be sent.
pub async fn expire_stale(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    contact: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE org_invites SET status = 'expired', decided_at = $1
         WHERE org_id = $2 AND contact = $3 AND status = 'pending' AND expires_at <= $1",
    )
    .bind(now)
    .bind(org_id)
    .bind(contact)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The contacts with an invitation to `org_id` still open at `now`.
pub async fn open_contacts(
    tx: &mut Transaction<'_, Any>,
    org_id: i64,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar::<_, String>(
        "SELECT contact FROM org_invites WHERE org_id = $1 AND status = 'pending' AND expires_at > $2",
    )
    .bind(org_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await
}

/// Invitations still open at `now` to any of `contacts` (a person's
/// verified addresses), with their organization's name, newest first.
pub async fn open_to<'e>(
    db: impl Executor<'e, Database = Any>,
    contacts: &[String],
    now: i64,
) -> Result<Vec<(InviteRow, String)>, sqlx::Error> {
    let (first, second) = match contacts {
        [] => return Ok(Vec::new()),
        [one] => (one.as_str(), one.as_str()),
        [one, two, ..] => (one.as_str(), two.as_str()),
    };
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("i.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {columns}, o.name AS org_name FROM org_invites i JOIN orgs o ON o.id = i.org_id
         WHERE i.contact IN ($1, $2) AND i.status = 'pending' AND i.expires_at > $3
         ORDER BY i.id DESC LIMIT 50"
    ))
    .bind(first)
    .bind(second)
    .bind(now)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, col(r, "org_name")?)))
        .collect()
}
