//! The SQL of satisfaction surveys: one row per ticket, its answer, and
//! the report's counts.

use crate::store::StoreError;
use koban_policy::desk::survey::By;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A survey as stored.
#[derive(Debug, Clone)]
pub struct SurveyRow {
    pub id: i64,
    pub ticket_id: i64,
    pub sent_by: Option<String>,
    pub sent_at: i64,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub answered_at: Option<i64>,
}

const COLUMNS: &str = "id, ticket_id, sent_by, sent_at, score, comment, answered_at";

fn survey(row: &AnyRow) -> Result<SurveyRow, sqlx::Error> {
    Ok(SurveyRow {
        id: row.try_get("id")?,
        ticket_id: row.try_get("ticket_id")?,
        sent_by: row.try_get("sent_by")?,
        sent_at: row.try_get("sent_at")?,
        score: row.try_get("score")?,
        comment: row.try_get("comment")?,
        answered_at: row.try_get("answered_at")?,
    })
}

/// A survey about to be stored.
pub struct NewSurvey<'a> {
    pub ticket_id: i64,
    pub token_hash: &'a str,
    pub sent_by: Option<&'a str>,
    pub agent_id: Option<i64>,
    pub team: Option<&'a str>,
    pub channel: &'a str,
    pub category: &'a str,
    pub sent_at: i64,
}

/// Stores the ticket's survey; false when it has one already (then
/// nothing changed).
pub async fn create(tx: &mut Transaction<'_, Any>, new: NewSurvey<'_>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO desk_surveys
            (ticket_id, token_hash, sent_by, agent_id, team, channel, category, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (ticket_id) DO NOTHING",
    )
    .bind(new.ticket_id)
    .bind(new.token_hash)
    .bind(new.sent_by)
    .bind(new.agent_id)
    .bind(new.team)
    .bind(new.channel)
    .bind(new.category)
    .bind(new.sent_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The survey whose link token hashes to `hash`.
pub async fn by_token<'e, E>(executor: E, hash: &str) -> Result<Option<SurveyRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {COLUMNS} FROM desk_surveys WHERE token_hash = $1");
    let row = sqlx::query(&sql)
        .bind(hash)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(survey).transpose()?)
}

/// The ticket's survey, if it was sent one.
pub async fn of_ticket<'e, E>(executor: E, ticket_id: i64) -> Result<Option<SurveyRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = format!("SELECT {COLUMNS} FROM desk_surveys WHERE ticket_id = $1");
    let row = sqlx::query(&sql)
        .bind(ticket_id)
        .fetch_optional(executor)
        .await?;
    Ok(row.as_ref().map(survey).transpose()?)
}

/// Records the answer; false when the survey was answered already (by a
/// request that got there first), and then nothing changed.
pub async fn answer(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    score: i64,
    comment: Option<&str>,
    by: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_surveys SET score = $2, comment = $3, answered_by = $4, answered_at = $5
         WHERE id = $1 AND score IS NULL",
    )
    .bind(id)
    .bind(score)
    .bind(comment)
    .bind(by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The column a report groups by: chosen from this list, never from input.
fn group_column(by: By) -> &'static str {
    match by {
        By::Agent => "CAST(s.agent_id AS TEXT)",
        By::Team => "s.team",
        By::Channel => "s.channel",
        By::Category => "s.category",
    }
}

/// Surveys sent in [from, to), counted by group and score (NULL: not
/// answered): (group, score, surveys).
pub async fn counts<'e, E>(
    executor: E,
    by: By,
    from: i64,
    to: i64,
) -> Result<Vec<(Option<String>, Option<i64>, i64)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let column = group_column(by);
    let sql = format!(
        "SELECT {column} AS grp, s.score AS score, COUNT(*) AS n FROM desk_surveys s
         WHERE s.sent_at >= $1 AND s.sent_at < $2
         GROUP BY {column}, s.score"
    );
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("grp")?, r.try_get("score")?, r.try_get("n")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// One answered or unanswered survey, as the export lists it.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub reference: String,
    pub agent: Option<String>,
    pub team: Option<String>,
    pub channel: String,
    pub category: String,
    pub sent_at: i64,
    pub score: Option<i64>,
    pub comment: Option<String>,
    pub answered_at: Option<i64>,
    /// What the requester's region is read from (privacy's regional
    /// rules): their phone, and the country of their latest sign-in.
    pub requester_phone: Option<String>,
    pub requester_country: Option<String>,
}

/// The surveys sent in [from, to), oldest first, at most `limit`.
pub async fn export<'e, E>(
    executor: E,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<ExportRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT t.reference AS reference, COALESCE(a.email, a.phone) AS agent, s.team AS team,
                s.channel AS channel, s.category AS category, s.sent_at AS sent_at,
                s.score AS score, s.comment AS comment, s.answered_at AS answered_at,
                q.phone AS requester_phone,
                (SELECT l.country FROM login_attempts l
                 WHERE l.account_id = q.id AND l.outcome = 'success' AND l.country IS NOT NULL
                 ORDER BY l.id DESC LIMIT 1) AS requester_country
         FROM desk_surveys s
         JOIN desk_tickets t ON t.id = s.ticket_id
         LEFT JOIN accounts a ON a.id = s.agent_id
         LEFT JOIN accounts q ON q.id = t.requester_account_id
         WHERE s.sent_at >= $1 AND s.sent_at < $2
         ORDER BY s.sent_at, s.id LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ExportRow {
                reference: r.try_get("reference")?,
                agent: r.try_get("agent")?,
                team: r.try_get("team")?,
                channel: r.try_get("channel")?,
                category: r.try_get("category")?,
                sent_at: r.try_get("sent_at")?,
                score: r.try_get("score")?,
                comment: r.try_get("comment")?,
                answered_at: r.try_get("answered_at")?,
                requester_phone: r.try_get("requester_phone")?,
                requester_country: r.try_get("requester_country")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
