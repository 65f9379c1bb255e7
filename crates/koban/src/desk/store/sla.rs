//! The SQL of a ticket's SLA: what happened on it (for the clocks), its
//! clocks as last computed, the once-only escalation flags, its team and
//! routed assignee, and the requester's one escalation.

use crate::store::{Batch, StoreError, Value};
use sqlx::{Any, Executor, Row, Transaction};

/// What the clocks are computed from, times in ms.
#[derive(Debug, Clone, Default)]
pub struct HistoryRows {
    /// Status changes in recording order: (at, new status).
    pub statuses: Vec<(i64, String)>,
    pub requester_messages: Vec<i64>,
    /// Public agent replies (internal notes do not answer anyone).
    pub agent_replies: Vec<i64>,
}

/// A ticket's history as the SLA clocks read it.
pub async fn history(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<HistoryRows, StoreError> {
    let mut out = HistoryRows::default();
    let events = sqlx::query(
        "SELECT detail, at FROM desk_events WHERE ticket_id = $1 AND kind = 'status' ORDER BY at, id",
    )
    .bind(ticket_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in &events {
        let detail: String = row.try_get("detail")?;
        let at: i64 = row.try_get("at")?;
        let value: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        if let Some(to) = value.get("to").and_then(|v| v.as_str()) {
            out.statuses.push((at, to.to_string()));
        }
    }
    let messages = sqlx::query(
        "SELECT author_kind, public, created_at FROM desk_messages WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(&mut **tx)
    .await?;
    for row in &messages {
        let kind: String = row.try_get("author_kind")?;
        let public = row.try_get::<i64, _>("public")? != 0;
        let at: i64 = row.try_get("created_at")?;
        match kind.as_str() {
            "requester" => out.requester_messages.push(at),
            "agent" if public => out.agent_replies.push(at),
            _ => {}
        }
    }
    Ok(out)
}

/// One clock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRow {
    pub metric: String,
    pub state: String,
    pub target_minutes: i64,
    pub elapsed_minutes: i64,
    pub warn_at: Option<i64>,
    pub due_at: Option<i64>,
    pub warned_at: Option<i64>,
    pub breached_at: Option<i64>,
}

/// A ticket's clocks as last computed.
pub async fn clocks<'e, E>(executor: E, ticket_id: i64) -> Result<Vec<ClockRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT metric, state, target_minutes, elapsed_minutes, warn_at, due_at, warned_at, breached_at
         FROM desk_sla_clocks WHERE ticket_id = $1 ORDER BY metric",
    )
    .bind(ticket_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ClockRow {
                metric: row.try_get("metric")?,
                state: row.try_get("state")?,
                target_minutes: row.try_get("target_minutes")?,
                elapsed_minutes: row.try_get("elapsed_minutes")?,
                warn_at: row.try_get("warn_at")?,
                due_at: row.try_get("due_at")?,
                warned_at: row.try_get("warned_at")?,
                breached_at: row.try_get("breached_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Stores a clock as computed now. The once-only flags are kept, except
/// when `new_wait` says a new wait began (a later next-response clock).
pub async fn save_clock(
    conn: &mut sqlx::AnyConnection,
    ticket_id: i64,
    clock: &ClockRow,
    new_wait: bool,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO desk_sla_clocks (ticket_id, metric, state, target_minutes, elapsed_minutes,
             warn_at, due_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (ticket_id, metric) DO UPDATE SET state = $3, target_minutes = $4,
             elapsed_minutes = $5, warn_at = $6, due_at = $7, updated_at = $8,
             warned_at = CASE WHEN $9 = 1 THEN NULL ELSE desk_sla_clocks.warned_at END,
             breached_at = CASE WHEN $9 = 1 THEN NULL ELSE desk_sla_clocks.breached_at END",
    )
    .bind(ticket_id)
    .bind(&clock.metric)
    .bind(&clock.state)
    .bind(clock.target_minutes)
    .bind(clock.elapsed_minutes)
    .bind(clock.warn_at)
    .bind(clock.due_at)
    .bind(now)
    .bind(i64::from(new_wait))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores the clocks of a ticket that had none (a new one), as one
/// statement of `batch`; a clock stored meanwhile by another transaction
/// is overwritten as [`save_clock`] would.
pub fn push_clocks(batch: &mut Batch, ticket_id: i64, clocks: &[ClockRow], now: i64) {
    if clocks.is_empty() {
        return;
    }
    let values: Vec<String> = (0..clocks.len())
        .map(|i| {
            let n = 3 + i * 6;
            format!(
                "($1, ${}, ${}, ${}, ${}, ${}, ${}, $2)",
                n,
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO desk_sla_clocks (ticket_id, metric, state, target_minutes, elapsed_minutes,
             warn_at, due_at, updated_at)
         VALUES {}
         ON CONFLICT (ticket_id, metric) DO UPDATE SET state = excluded.state,
             target_minutes = excluded.target_minutes, elapsed_minutes = excluded.elapsed_minutes,
             warn_at = excluded.warn_at, due_at = excluded.due_at, updated_at = excluded.updated_at",
        values.join(", ")
    );
    let mut params: Vec<Value> = vec![ticket_id.into(), now.into()];
    for clock in clocks {
        params.extend([
            clock.metric.as_str().into(),
            clock.state.as_str().into(),
            clock.target_minutes.into(),
            clock.elapsed_minutes.into(),
            clock.warn_at.into(),
            clock.due_at.into(),
        ]);
    }
    batch.push(&sql, params);
}

/// Removes a clock the policy no longer sets.
pub async fn drop_clock(
    conn: &mut sqlx::AnyConnection,
    ticket_id: i64,
    metric: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM desk_sla_clocks WHERE ticket_id = $1 AND metric = $2")
        .bind(ticket_id)
        .bind(metric)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Which once-only flag an escalation sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Warning,
    Breach,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Warning => "warning",
            Stage::Breach => "breach",
        }
    }
}

/// Sets the stage's flag if nobody has: true for exactly one caller,
/// whichever worker or node gets there first.
pub async fn claim_stage(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    metric: &str,
    stage: Stage,
    now: i64,
) -> Result<bool, StoreError> {
    let column = match stage {
        Stage::Warning => "warned_at",
        Stage::Breach => "breached_at",
    };
    let sql = format!(
        "UPDATE desk_sla_clocks SET {column} = $3 WHERE ticket_id = $1 AND metric = $2 AND {column} IS NULL"
    );
    let done = sqlx::query(&sql)
        .bind(ticket_id)
        .bind(metric)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a ticket in a team and, when one was chosen, with an agent.
pub async fn set_routing(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    team: &str,
    assignee: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE desk_tickets SET team = $2, assignee_id = COALESCE($3, assignee_id), updated_at = $4
         WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(team)
    .bind(assignee)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves a ticket to `to` if it is still in the team the caller saw.
pub async fn move_team(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    expected: Option<&str>,
    to: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_tickets SET team = $3, updated_at = $4 WHERE id = $1 AND COALESCE(team, '') = $2",
    )
    .bind(ticket_id)
    .bind(expected.unwrap_or(""))
    .bind(to)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the requester's escalation if there was none: false the second time.
pub async fn escalate_once(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE desk_tickets SET escalated_at = $2, escalation_reason = $3, updated_at = $2
         WHERE id = $1 AND escalated_at IS NULL",
    )
    .bind(ticket_id)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the requester escalated, if they did.
pub async fn escalated_at<'e, E>(executor: E, ticket_id: i64) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT escalated_at FROM desk_tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_one(executor)
        .await?;
    Ok(row.try_get("escalated_at")?)
}

/// Not-done tickets with a running or breached clock, nearest due first
/// (optionally of one team): the "breaching soon" view.
pub async fn breaching_tickets<'e, E>(
    executor: E,
    team: Option<&str>,
    limit: i64,
) -> Result<Vec<super::TicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let columns = super::TICKET_COLUMNS
        .split(", ")
        .map(|c| format!("t.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM desk_tickets t
         JOIN (SELECT ticket_id, MIN(due_at) AS due FROM desk_sla_clocks
               WHERE state IN ('running', 'breached') AND due_at IS NOT NULL
               GROUP BY ticket_id) c ON c.ticket_id = t.id
         WHERE t.status NOT IN ('solved', 'closed') AND ($1 = '' OR t.team = $1)
         ORDER BY c.due, t.id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(team.unwrap_or(""))
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(rows
        .iter()
        .map(super::TicketRow::from_row)
        .collect::<Result<_, _>>()?)
}

/// Supervisors and desk admins with a verified email, and their language:
/// who hears of an SLA warning or breach (at most `limit`, oldest first).
pub async fn supervisors(
    tx: &mut Transaction<'_, Any>,
    limit: i64,
) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, email, locale FROM accounts
         WHERE role IN ('supervisor', 'admin') AND status = 'active'
           AND email IS NOT NULL AND email_verified_at IS NOT NULL
         ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?, r.try_get("locale")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Up to `limit` ids of tickets not solved or closed, above `after`, in
/// order: one page of the walk that moves open clocks after a policy or
/// calendar change.
pub async fn open_ticket_ids_after<'e, E>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id FROM desk_tickets WHERE id > $1 AND status NOT IN ('solved', 'closed')
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// When the ticket's first answer is due, while its clock runs.
pub async fn first_response_due(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT due_at FROM desk_sla_clocks
         WHERE ticket_id = $1 AND metric = 'first_response' AND state = 'running'",
    )
    .bind(ticket_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(row) => row.try_get("due_at")?,
        None => None,
    })
}
