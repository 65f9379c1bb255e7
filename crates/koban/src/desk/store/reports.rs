//! The SQL of the desk's reports: what each ticket created in a range
//! needs (one row per ticket, its first reply, category changes and SLA
//! clocks joined in), and the status history backlog reads. The figures
//! themselves are worked out by `koban_policy::desk::report*`.

use crate::store::StoreError;
use sqlx::{Any, Executor, Row};

/// One ticket as the reports read it.
#[derive(Debug, Clone)]
pub struct ReportTicketRow {
    pub created_at: i64,
    pub channel: String,
    pub category: String,
    pub team: Option<String>,
    pub priority: String,
    pub solved_at: Option<i64>,
    /// What triage decided, as JSON.
    pub triage: String,
    pub first_reply_at: Option<i64>,
    pub category_changes: i64,
    pub first_response: Option<(String, Option<i64>)>,
    pub resolution: Option<(String, Option<i64>)>,
}

/// Tickets created in `[start, end)`, oldest first, at most `limit`. A
/// ticket merged into another is left out: it is counted once, as the one
/// it joined.
pub async fn tickets<'e, E>(
    executor: E,
    start: i64,
    end: i64,
    limit: i64,
) -> Result<Vec<ReportTicketRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    // Subqueries per ticket ride the (ticket_id, id) indexes of messages
    // and events; internal notes answer nobody, so only public replies count.
    let rows = sqlx::query(
        "SELECT t.created_at, t.channel, t.category, t.team, t.priority, t.solved_at, t.triage,
                (SELECT MIN(m.created_at) FROM desk_messages m
                  WHERE m.ticket_id = t.id AND m.author_kind = 'agent' AND m.public = 1) AS first_reply_at,
                (SELECT COUNT(*) FROM desk_events e
                  WHERE e.ticket_id = t.id AND e.kind = 'category') AS category_changes,
                fr.state AS fr_state, fr.due_at AS fr_due, rs.state AS rs_state, rs.due_at AS rs_due
         FROM desk_tickets t
         LEFT JOIN desk_sla_clocks fr ON fr.ticket_id = t.id AND fr.metric = 'first_response'
         LEFT JOIN desk_sla_clocks rs ON rs.ticket_id = t.id AND rs.metric = 'resolution'
         WHERE t.created_at >= $1 AND t.created_at < $2 AND t.merged_into IS NULL
         ORDER BY t.created_at, t.id LIMIT $3",
    )
    .bind(start)
    .bind(end)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let clock = |state: &str, due: &str| -> Result<_, sqlx::Error> {
                let state: Option<String> = r.try_get(state)?;
                let due: Option<i64> = r.try_get(due)?;
                Ok(state.map(|s| (s, due)))
            };
            Ok(ReportTicketRow {
                created_at: r.try_get("created_at")?,
                channel: r.try_get("channel")?,
                category: r.try_get("category")?,
                team: r.try_get("team")?,
                priority: r.try_get("priority")?,
                solved_at: r.try_get("solved_at")?,
                triage: r.try_get("triage")?,
                first_reply_at: r.try_get("first_reply_at")?,
                category_changes: r.try_get("category_changes")?,
                first_response: clock("fr_state", "fr_due")?,
                resolution: clock("rs_state", "rs_due")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// A ticket's life as backlog reads it.
#[derive(Debug, Clone, Default)]
pub struct LifecycleRow {
    pub id: i64,
    pub created_at: i64,
    pub status: String,
    pub done_at: Option<i64>,
    /// Its status changes in recorded order: (at, the event's detail).
    pub changes: Vec<(i64, String)>,
}

/// The tickets that may have been unsolved at some instant of
/// `[start, end)`, with their status changes, at most `limit` tickets.
/// Every status change touches `updated_at`, so a ticket done now and
/// untouched since before `start` was done all along and is not read.
pub async fn lifecycles<'e, E>(
    executor: E,
    start: i64,
    end: i64,
    limit: i64,
) -> Result<Vec<LifecycleRow>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    const WHICH: &str = "t.created_at < $1 AND t.merged_into IS NULL
          AND (t.status NOT IN ('solved', 'closed') OR t.updated_at >= $2)";
    let tickets = sqlx::query(&format!(
        "SELECT t.id, t.created_at, t.status, COALESCE(t.solved_at, t.closed_at) AS done_at
         FROM desk_tickets t WHERE {WHICH} ORDER BY t.id LIMIT $3"
    ))
    .bind(end)
    .bind(start)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    let mut out: Vec<LifecycleRow> = tickets
        .iter()
        .map(|r| {
            Ok(LifecycleRow {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                status: r.try_get("status")?,
                done_at: r.try_get("done_at")?,
                changes: vec![],
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let Some(last) = out.last().map(|t| t.id) else {
        return Ok(out);
    };
    let events = sqlx::query(&format!(
        "SELECT e.ticket_id, e.at, e.detail FROM desk_events e
         JOIN desk_tickets t ON t.id = e.ticket_id
         WHERE e.kind = 'status' AND t.id <= $3 AND {WHICH}
         ORDER BY e.ticket_id, e.id"
    ))
    .bind(end)
    .bind(start)
    .bind(last)
    .fetch_all(executor)
    .await?;
    // Both lists are in ticket order: one walk pairs them.
    let mut i = 0;
    for e in &events {
        let ticket: i64 = e.try_get("ticket_id")?;
        while i < out.len() && out[i].id < ticket {
            i += 1;
        }
        if let Some(row) = out.get_mut(i).filter(|row| row.id == ticket) {
            row.changes.push((e.try_get("at")?, e.try_get("detail")?));
        }
    }
    Ok(out)
}
