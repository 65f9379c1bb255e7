//! The SQL of routing: teams, their members and their open loads.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A team as stored, with its calendar's spec.
#[derive(Debug, Clone)]
pub struct TeamRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub languages: Vec<String>,
    pub regions: Vec<String>,
    pub categories: Vec<String>,
    pub skills: Vec<String>,
    pub calendar_id: i64,
    pub calendar_spec: String,
    pub enterprise_queue: bool,
    pub is_default: bool,
}

/// A team as an admin writes it.
#[derive(Debug, Clone)]
pub struct TeamFields<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub languages: &'a [String],
    pub regions: &'a [String],
    pub categories: &'a [String],
    pub skills: &'a [String],
    pub calendar_id: i64,
    pub enterprise_queue: bool,
}

/// A member with what assignment needs: cap, availability, open load.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub account_id: i64,
    pub cap: i64,
    pub available: bool,
    pub last_assigned_at: Option<i64>,
    /// Tickets assigned to the agent and not solved or closed (any team).
    pub open_tickets: i64,
}

pub(super) fn list(row: &AnyRow, column: &str) -> Result<Vec<String>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

pub(super) fn json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

const TEAM_COLUMNS: &str = "t.id, t.slug, t.name, t.languages, t.regions, t.categories, t.skills, \
    t.calendar_id, c.spec, t.enterprise_queue, t.is_default";

fn team_row(row: &AnyRow) -> Result<TeamRow, sqlx::Error> {
    Ok(TeamRow {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        languages: list(row, "languages")?,
        regions: list(row, "regions")?,
        categories: list(row, "categories")?,
        skills: list(row, "skills")?,
        calendar_id: row.try_get("calendar_id")?,
        calendar_spec: row.try_get("spec")?,
        enterprise_queue: row.try_get::<i64, _>("enterprise_queue")? != 0,
        is_default: row.try_get::<i64, _>("is_default")? != 0,
    })
}

/// Every team, by slug.
pub async fn teams<'e, E>(executor: E) -> Result<Vec<TeamRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {TEAM_COLUMNS} FROM desk_teams t JOIN desk_calendars c ON c.id = t.calendar_id ORDER BY t.slug"
    );
    let rows = sqlx::query(&sql).fetch_all(executor).await?;
    Ok(rows.iter().map(team_row).collect::<Result<_, _>>()?)
}

/// The ids of the teams that have at least one member.
pub async fn staffed_teams<'e, E>(executor: E) -> Result<Vec<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT DISTINCT team_id FROM desk_team_members")
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("team_id"))
        .collect::<Result<_, _>>()?)
}

/// The team with `slug`.
pub async fn team<'e, E>(executor: E, slug: &str) -> Result<Option<TeamRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {TEAM_COLUMNS} FROM desk_teams t JOIN desk_calendars c ON c.id = t.calendar_id WHERE t.slug = $1"
    );
    let row = sqlx::query(&sql)
        .bind(slug)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(team_row).transpose()?)
}

/// Adds a team; false when the slug is taken.
pub async fn insert_team(
    tx: &mut Transaction<'_, Any>,
    team: &TeamFields<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO desk_teams (slug, name, languages, regions, categories, skills, calendar_id,
             enterprise_queue, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(team.slug)
    .bind(team.name)
    .bind(json(team.languages))
    .bind(json(team.regions))
    .bind(json(team.categories))
    .bind(json(team.skills))
    .bind(team.calendar_id)
    .bind(i64::from(team.enterprise_queue))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rewrites the team with `team.slug`; false when there is none.
pub async fn update_team(
    tx: &mut Transaction<'_, Any>,
    team: &TeamFields<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_teams SET name = $2, languages = $3, regions = $4, categories = $5,
             skills = $6, calendar_id = $7, enterprise_queue = $8, updated_at = $9
         WHERE slug = $1",
    )
    .bind(team.slug)
    .bind(team.name)
    .bind(json(team.languages))
    .bind(json(team.regions))
    .bind(json(team.categories))
    .bind(json(team.skills))
    .bind(team.calendar_id)
    .bind(i64::from(team.enterprise_queue))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a team that is not the default, and its memberships; false when
/// there is no such team (or it is the default).
pub async fn delete_team(tx: &mut Transaction<'_, Any>, slug: &str) -> Result<bool, StoreError> {
    sqlx::query(
        "DELETE FROM desk_team_members WHERE team_id IN
             (SELECT id FROM desk_teams WHERE slug = $1 AND is_default = 0)",
    )
    .bind(slug)
    .execute(&mut **tx)
    .await?;
    let done = sqlx::query("DELETE FROM desk_teams WHERE slug = $1 AND is_default = 0")
        .bind(slug)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the team's row lock (PostgreSQL; SQLite writes one at a time
/// anyway), so two tickets assigned at once read each other's load and
/// never both fill an agent's last place.
pub async fn lock_team(tx: &mut Transaction<'_, Any>, team_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE desk_teams SET updated_at = updated_at WHERE id = $1")
        .bind(team_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A team's members with their current open load, by account id.
pub async fn members<'e, E>(executor: E, team_id: i64) -> Result<Vec<MemberRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT m.account_id, m.cap, m.available, m.last_assigned_at,
                (SELECT COUNT(*) FROM desk_tickets t WHERE t.assignee_id = m.account_id
                   AND t.status NOT IN ('solved', 'closed')) AS open_tickets
         FROM desk_team_members m WHERE m.team_id = $1 ORDER BY m.account_id",
    )
    .bind(team_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MemberRow {
                account_id: row.try_get("account_id")?,
                cap: row.try_get("cap")?,
                available: row.try_get::<i64, _>("available")? != 0,
                last_assigned_at: row.try_get("last_assigned_at")?,
                open_tickets: row.try_get("open_tickets")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Adds or changes a membership.
pub async fn upsert_member(
    tx: &mut Transaction<'_, Any>,
    team_id: i64,
    account_id: i64,
    cap: i64,
    available: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_team_members (team_id, account_id, cap, available) VALUES ($1, $2, $3, $4)
         ON CONFLICT (team_id, account_id) DO UPDATE SET cap = $3, available = $4",
    )
    .bind(team_id)
    .bind(account_id)
    .bind(cap)
    .bind(i64::from(available))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a membership; false when there was none.
pub async fn delete_member(
    tx: &mut Transaction<'_, Any>,
    team_id: i64,
    account_id: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM desk_team_members WHERE team_id = $1 AND account_id = $2")
        .bind(team_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stamps when the agent was last given a ticket (the round-robin's memory).
pub async fn mark_assigned(
    tx: &mut Transaction<'_, Any>,
    team_id: i64,
    account_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE desk_team_members SET last_assigned_at = $3 WHERE team_id = $1 AND account_id = $2",
    )
    .bind(team_id)
    .bind(account_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
