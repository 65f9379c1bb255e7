//! SQL for accounts: the accounts table here, codes and sessions beside it.

pub mod codes;
pub mod sessions;

use crate::store::now_ms;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

/// An account as the rest of Koban sees it (never the password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub phone_verified: bool,
    pub email_verified: bool,
    pub role: String,
    pub locale: Option<String>,
    pub status: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    #[serde(skip)]
    pub password_changed_at: i64,
}

pub(crate) const COLUMNS: &str =
    "id, phone, email, phone_verified_at, email_verified_at, role, locale, status, created_at, password_changed_at";

impl Account {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Account, sqlx::Error> {
        Ok(Account {
            id: row.try_get("id")?,
            phone: row.try_get("phone")?,
            email: row.try_get("email")?,
            phone_verified: row
                .try_get::<Option<i64>, _>("phone_verified_at")?
                .is_some(),
            email_verified: row
                .try_get::<Option<i64>, _>("email_verified_at")?
                .is_some(),
            role: row.try_get("role")?,
            locale: row.try_get("locale")?,
            status: row.try_get("status")?,
            created_at: row.try_get("created_at")?,
            password_changed_at: row.try_get("password_changed_at")?,
        })
    }

    /// What the account is called on screen: its email, else its phone.
    pub fn display_identifier(&self) -> &str {
        self.email
            .as_deref()
            .or(self.phone.as_deref())
            .unwrap_or("")
    }

    /// Whether the role reaches `role` (user < agent < supervisor < admin).
    pub fn has_role(&self, role: &str) -> bool {
        let rank = |r: &str| match r {
            "agent" => 1,
            "supervisor" => 2,
            "admin" => 3,
            _ => 0,
        };
        rank(&self.role) >= rank(role)
    }
}

/// The account columns as read through table alias `table` (`a.id, a.phone, …`),
/// for statements that join accounts to other tables.
pub(crate) fn columns_of(table: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The column an identifier is looked up in.
pub(crate) fn identifier_column(identifier: &koban_policy::contact::Contact) -> &'static str {
    match identifier {
        koban_policy::contact::Contact::Phone(_) => "phone",
        koban_policy::contact::Contact::Email(_) => "email",
    }
}

/// The account and its password hash, by phone or email.
pub async fn find_with_hash<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    identifier: &koban_policy::contact::Contact,
) -> Result<Option<(Account, String)>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS}, password_hash FROM accounts WHERE {} = $1",
        identifier_column(identifier)
    );
    let row = sqlx::query(&sql)
        .bind(identifier.as_str())
        .fetch_optional(executor)
        .await?;
    row.map(|r| Ok((Account::from_row(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

/// The account by id.
pub async fn find_by_id<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    id: i64,
) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(executor).await?;
    row.map(|r| Account::from_row(&r)).transpose()
}

/// Whether an account uses this phone or email.
pub async fn exists<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    identifier: &koban_policy::contact::Contact,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "SELECT 1 AS one FROM accounts WHERE {} = $1",
        identifier_column(identifier)
    );
    Ok(sqlx::query(&sql)
        .bind(identifier.as_str())
        .fetch_optional(executor)
        .await?
        .is_some())
}

/// Up to `limit` active accounts with ids above `after`, in id order.
pub async fn active_after<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<Account>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts WHERE status = 'active' AND id > $1 ORDER BY id LIMIT {limit}"
    );
    let rows = sqlx::query(&sql).bind(after).fetch_all(executor).await?;
    rows.iter().map(Account::from_row).collect()
}

/// Inserts a new account; returns its id.
pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    identifier: &koban_policy::contact::Contact,
    password_hash: &str,
    role: &str,
    status: &str,
    locale: Option<&str>,
    verified: bool,
) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    let (phone, email) = match identifier {
        koban_policy::contact::Contact::Phone(p) => (Some(p.as_str()), None),
        koban_policy::contact::Contact::Email(e) => (None, Some(e.as_str())),
    };
    let verified_at = verified.then_some(now);
    let row = sqlx::query(
        "INSERT INTO accounts (phone, email, phone_verified_at, email_verified_at, password_hash, password_changed_at, role, status, locale, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $6) RETURNING id",
    )
    .bind(phone)
    .bind(email)
    .bind(phone.and(verified_at))
    .bind(email.and(verified_at))
    .bind(password_hash)
    .bind(now)
    .bind(role)
    .bind(status)
    .bind(locale)
    .fetch_one(executor)
    .await?;
    row.try_get("id")
}

/// Replaces the password hash (and its change time when `changed`).
pub async fn set_password_hash<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    hash: &str,
    changed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET password_hash = $1,
                password_changed_at = CASE WHEN $2 = 1 THEN $3 ELSE password_changed_at END
         WHERE id = $4",
    )
    .bind(hash)
    .bind(changed as i64)
    .bind(now_ms())
    .bind(account_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks the contact a code went to as verified and activates a pending account.
pub async fn mark_verified<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    channel: &str,
) -> Result<(), sqlx::Error> {
    let column = if channel == "sms" {
        "phone_verified_at"
    } else {
        "email_verified_at"
    };
    let sql = format!(
        "UPDATE accounts SET {column} = COALESCE({column}, $1),
                status = CASE WHEN status = 'pending' THEN 'active' ELSE status END
         WHERE id = $2"
    );
    sqlx::query(&sql)
        .bind(now_ms())
        .bind(account_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Saves the language an account chose.
pub async fn set_locale<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
    tag: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET locale = $1 WHERE id = $2")
        .bind(tag)
        .bind(account_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Sets a verified contact: `columns` are the contact's column and its
/// verification time's (`phone`, `phone_verified_at` or the email pair).
pub async fn set_contact(
    tx: &mut sqlx::Transaction<'_, Any>,
    account_id: i64,
    columns: (&str, &str),
    value: &str,
    verified_at: i64,
) -> Result<(), sqlx::Error> {
    let (column, verified) = columns;
    let sql = format!("UPDATE accounts SET {column} = $1, {verified} = $2 WHERE id = $3");
    sqlx::query(&sql)
        .bind(value)
        .bind(verified_at)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Is `error` a UNIQUE violation, and on which contact column?
pub fn duplicate_field(error: &sqlx::Error) -> Option<&'static str> {
    let db = error.as_database_error()?;
    if !matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return None;
    }
    let message = db.message();
    let constraint = db.constraint().unwrap_or("");
    if message.contains("phone") || constraint.contains("phone") {
        Some("phone")
    } else {
        Some("email")
    }
}
