//! The SQL of the desk's settings: calendars, SLA policies, and the log
//! of who changed the desk's administration.

use super::routing::{json, list};
use crate::store::StoreError;
use sqlx::{Any, Executor, Row, Transaction};

/// A calendar as stored.
#[derive(Debug, Clone)]
pub struct CalendarRow {
    pub id: i64,
    pub name: String,
    /// `CalendarSpec` as JSON, checked before it was stored.
    pub spec: String,
}

/// An SLA policy as stored, in the order the admin listed them.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub priority: Option<String>,
    pub tier: Option<String>,
    pub channel: Option<String>,
    pub first_response: Option<i64>,
    pub next_response: Option<i64>,
    pub resolution: Option<i64>,
    pub warn_percent: i64,
    pub on_warning: Vec<String>,
    pub on_breach: Vec<String>,
}

/// Every calendar, by id.
pub async fn calendars<'e, E>(executor: E) -> Result<Vec<CalendarRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT id, name, spec FROM desk_calendars ORDER BY id")
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CalendarRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                spec: row.try_get("spec")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Adds a calendar; its id, or `None` when the name is taken.
pub async fn insert_calendar(
    tx: &mut Transaction<'_, Any>,
    name: &str,
    spec: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_calendars (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(spec)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Replaces a calendar's spec; false when there is none.
pub async fn update_calendar(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    spec: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE desk_calendars SET spec = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(spec)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The SLA policies in the admin's order.
pub async fn policies<'e, E>(executor: E) -> Result<Vec<PolicyRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT priority, tier, channel, first_response, next_response, resolution, warn_percent,
                on_warning, on_breach
         FROM desk_sla_policies ORDER BY position, id",
    )
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PolicyRow {
                priority: row.try_get("priority")?,
                tier: row.try_get("tier")?,
                channel: row.try_get("channel")?,
                first_response: row.try_get("first_response")?,
                next_response: row.try_get("next_response")?,
                resolution: row.try_get("resolution")?,
                warn_percent: row.try_get("warn_percent")?,
                on_warning: list(row, "on_warning")?,
                on_breach: list(row, "on_breach")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Replaces every policy with `policies`, in order.
pub async fn replace_policies(
    tx: &mut Transaction<'_, Any>,
    policies: &[PolicyRow],
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM desk_sla_policies")
        .execute(&mut **tx)
        .await?;
    for (position, p) in policies.iter().enumerate() {
        sqlx::query(
            "INSERT INTO desk_sla_policies (position, priority, tier, channel, first_response,
                 next_response, resolution, warn_percent, on_warning, on_breach, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(position as i64)
        .bind(p.priority.clone())
        .bind(p.tier.clone())
        .bind(p.channel.clone())
        .bind(p.first_response)
        .bind(p.next_response)
        .bind(p.resolution)
        .bind(p.warn_percent)
        .bind(json(&p.on_warning))
        .bind(json(&p.on_breach))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records who changed what in the desk's administration.
pub async fn record_change(
    tx: &mut Transaction<'_, Any>,
    actor: i64,
    entity: &str,
    key: &str,
    action: &str,
    detail: &serde_json::Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_admin_changes (actor_account_id, entity, entity_key, action, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor)
    .bind(entity)
    .bind(key)
    .bind(action)
    .bind(detail.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
