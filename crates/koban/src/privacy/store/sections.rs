//! The export archive's reads: one query per section, by the account's id,
//! over the accounts, security, desk and delivery domains' tables.

use sqlx::{Any, Executor, Row};

/// How a column is read into the archive.
#[derive(Clone, Copy)]
pub enum Col {
    Text,
    Int,
}

/// One section's query: the SQL (the account id as `$1`) and its columns.
pub struct SectionQuery {
    pub sql: &'static str,
    pub columns: &'static [(&'static str, Col)],
}

/// The query of each section of `koban_policy::privacy::SECTIONS` but the
/// messages (which [`public_messages`] reads): rows of the accounts,
/// security, desk and delivery domains' tables, by the account's id.
pub fn section_query(section: &str) -> Option<SectionQuery> {
    use Col::*;
    Some(match section {
        "account" => SectionQuery {
            sql: "SELECT id, email, phone, email_verified_at, phone_verified_at, role, locale, status,
                      created_at, password_changed_at, totp_enabled_at
                  FROM accounts WHERE id = $1",
            columns: &[
                ("id", Int),
                ("email", Text),
                ("phone", Text),
                ("email_verified_at", Int),
                ("phone_verified_at", Int),
                ("role", Text),
                ("locale", Text),
                ("status", Text),
                ("created_at", Int),
                ("password_changed_at", Int),
                ("totp_enabled_at", Int),
            ],
        },
        "contacts" => SectionQuery {
            sql: "SELECT id, email, phone, name, created_at FROM desk_contacts
                  WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("id", Int),
                ("email", Text),
                ("phone", Text),
                ("name", Text),
                ("created_at", Int),
            ],
        },
        "devices" => SectionQuery {
            sql: "SELECT id, name, platform, client_version, first_seen_at, last_seen_at, last_ip,
                      last_country, removed_at
                  FROM devices WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("id", Int),
                ("name", Text),
                ("platform", Text),
                ("client_version", Text),
                ("first_seen_at", Int),
                ("last_seen_at", Int),
                ("last_ip", Text),
                ("last_country", Text),
                ("removed_at", Int),
            ],
        },
        "sign_in_history" => SectionQuery {
            sql: "SELECT at, ip, country, user_agent, outcome, risk_score, reasons, decision
                  FROM login_attempts WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("at", Int),
                ("ip", Text),
                ("country", Text),
                ("user_agent", Text),
                ("outcome", Text),
                ("risk_score", Int),
                ("reasons", Text),
                ("decision", Text),
            ],
        },
        "security_timeline" => SectionQuery {
            sql: "SELECT at, kind, detail, ip FROM security_events WHERE account_id = $1 ORDER BY id",
            columns: &[("at", Int), ("kind", Text), ("detail", Text), ("ip", Text)],
        },
        "tickets" => SectionQuery {
            sql: "SELECT reference, subject, status, category, subcategory, channel, language,
                      created_at, updated_at, solved_at, closed_at
                  FROM desk_tickets WHERE requester_account_id = $1 ORDER BY id",
            columns: &[
                ("reference", Text),
                ("subject", Text),
                ("status", Text),
                ("category", Text),
                ("subcategory", Text),
                ("channel", Text),
                ("language", Text),
                ("created_at", Int),
                ("updated_at", Int),
                ("solved_at", Int),
                ("closed_at", Int),
            ],
        },
        "deliveries" => SectionQuery {
            sql: "SELECT purpose, channel, destination, subject, status, created_at, delivered_at
                  FROM deliveries WHERE account_id = $1 ORDER BY id",
            columns: &[
                ("purpose", Text),
                ("channel", Text),
                ("destination", Text),
                ("subject", Text),
                ("status", Text),
                ("created_at", Int),
                ("delivered_at", Int),
            ],
        },
        _ => return None,
    })
}

/// Runs a section's query: one JSON object per row.
pub async fn section_rows<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    query: &SectionQuery,
    account_id: i64,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(query.sql)
        .bind(account_id)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (name, col) in query.columns {
                let value = match col {
                    Col::Text => row
                        .try_get::<Option<String>, _>(*name)?
                        .map_or(serde_json::Value::Null, serde_json::Value::from),
                    Col::Int => row
                        .try_get::<Option<i64>, _>(*name)?
                        .map_or(serde_json::Value::Null, serde_json::Value::from),
                };
                object.insert((*name).to_string(), value);
            }
            Ok(serde_json::Value::Object(object))
        })
        .collect()
}

/// A message of one of the account's tickets.
pub struct MessageRow {
    pub reference: String,
    pub author_kind: String,
    pub public: bool,
    pub body: String,
    pub created_at: i64,
}

/// The messages of the tickets the account asked, with whether each is
/// public (the caller keeps only what the rule allows).
pub async fn ticket_messages<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    account_id: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.reference, m.author_kind, m.public, m.body, m.created_at
         FROM desk_messages m JOIN desk_tickets t ON t.id = m.ticket_id
         WHERE t.requester_account_id = $1 ORDER BY m.id",
    )
    .bind(account_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MessageRow {
                reference: r.try_get("reference")?,
                author_kind: r.try_get("author_kind")?,
                public: r.try_get::<i64, _>("public")? != 0,
                body: r.try_get("body")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
