//! SLA clocks on tickets: computed by `koban_policy::desk::sla` from what
//! happened on the ticket, stored after every change, and driven by the
//! durable job queue: one job per ticket at its nearest warning or
//! deadline not yet acted on, keyed by ticket and instant, so a restart or a
//! second node neither loses nor doubles one. The job re-reads the clocks
//! and sets each stage's once-only flag with a conditional UPDATE; only the
//! worker that set it escalates, and it schedules the next wake.

use crate::desk::error::DeskError;
use crate::desk::routing::{calendar, instant, team_of, Setup};
use crate::desk::store::routing::TeamRow;
use crate::desk::store::sla::{self as sstore, ClockRow, HistoryRows, Stage};
use crate::desk::store::{self, settings::PolicyRow, Label, TicketRow};
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::{now_ms, Batch};
use jiff::SignedDuration;
use koban_policy::desk::calendar::Calendar;
use koban_policy::desk::sla::{self, ClockState, History, Metric, Policy, Settings, Targets, Tier};
use koban_policy::desk::status::{Channel, Priority, Status};
use sqlx::{Any, Transaction};
use std::sync::Arc;

/// The job that looks at one clock at its warning or deadline.
pub const SLA_JOB: &str = "desk.sla";

/// The job kind the desk registers.
pub const JOB: JobKind = JobKind {
    kind: SLA_JOB,
    round: None,
    every_ms: None,
    run: run_job,
};

/// What a desk admin may have an escalation do.
pub const ACTIONS: [&str; 3] = ["raise_priority", "notify_supervisor", "reassign"];

/// A stored policy as the pure rules read it.
pub fn as_policy(row: &PolicyRow) -> Option<Policy> {
    let minutes = |m: Option<i64>| m.and_then(|m| u32::try_from(m).ok());
    Some(Policy {
        priority: row
            .priority
            .as_deref()
            .map(Priority::parse)
            .transpose()
            .ok()?,
        tier: row.tier.as_deref().map(Tier::parse).transpose().ok()?,
        channel: row
            .channel
            .as_deref()
            .map(Channel::parse)
            .transpose()
            .ok()?,
        targets: Targets {
            first_response: minutes(row.first_response),
            next_response: minutes(row.next_response),
            resolution: minutes(row.resolution),
        },
    })
}

/// The policy row that applies to `ticket`, if any.
fn policy_for(rows: &[PolicyRow], ticket: &TicketRow) -> Option<PolicyRow> {
    let policies: Vec<Policy> = rows.iter().filter_map(as_policy).collect();
    let usable: Vec<&PolicyRow> = rows.iter().filter(|r| as_policy(r).is_some()).collect();
    let chosen = sla::select(
        &policies,
        Priority::parse(&ticket.priority).ok()?,
        Tier::parse(&ticket.tier).unwrap_or(Tier::Standard),
        Channel::parse(&ticket.channel).unwrap_or(Channel::Web),
    )?;
    let index = policies.iter().position(|p| std::ptr::eq(p, chosen))?;
    usable.get(index).map(|r| (*r).clone())
}

fn team_calendar(team: Option<&TeamRow>) -> Result<Calendar, DeskError> {
    match team {
        Some(team) => calendar(&team.calendar_spec),
        None => calendar(
            r#"{"zone":"UTC","week":{"mon":"24h","tue":"24h","wed":"24h","thu":"24h","fri":"24h","sat":"24h","sun":"24h"}}"#,
        ),
    }
}

fn state_name(state: ClockState) -> &'static str {
    match state {
        ClockState::Running => "running",
        ClockState::Paused => "paused",
        ClockState::Met => "met",
        ClockState::Breached => "breached",
    }
}

/// Computes the ticket's clocks at `now`, stores them and queues a job for
/// each warning and deadline ahead. Called in the transaction of every
/// change that can move a clock (open, message, status, priority, team).
pub async fn refresh(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    now: i64,
) -> Result<(), DeskError> {
    let Some(ticket) = store::ticket_by_id(&mut **tx, ticket_id).await? else {
        return Ok(());
    };
    let policies = store::settings::policies(&mut **tx).await?;
    let team = team_of(tx, ticket.team.as_deref()).await?;
    let rows = sstore::history(tx, ticket_id).await?;
    let before = sstore::clocks(&mut **tx, ticket_id).await?;
    let mut inserts = Batch::default();
    let facts = Facts {
        ticket: &ticket,
        policies: &policies,
        team: team.as_ref(),
        rows: &rows,
    };
    settle(tx, &mut inserts, facts, &before, now).await?;
    inserts.run(tx).await?;
    Ok(())
}

/// Starts the clocks of a ticket opened in this transaction: nothing has
/// happened on it but its first message, and it has no clock yet, so
/// nothing is read back from the writer and nothing is updated; its clocks
/// and their job go into `batch`, which the opener runs with the ticket's
/// other rows. When the first answer is due, if a policy promises one (what
/// the acknowledgement tells the requester).
pub async fn start(
    conn: &mut sqlx::AnyConnection,
    batch: &mut Batch,
    ticket: &TicketRow,
    setup: &Setup,
    now: i64,
) -> Result<Option<i64>, DeskError> {
    let rows = HistoryRows {
        requester_messages: vec![ticket.created_at],
        ..HistoryRows::default()
    };
    let facts = Facts {
        ticket,
        policies: &setup.policies,
        team: setup.team_or_default(ticket.team.as_deref()),
        rows: &rows,
    };
    settle(conn, batch, facts, &[], now).await
}

/// What a ticket's clocks are computed from.
struct Facts<'a> {
    ticket: &'a TicketRow,
    policies: &'a [PolicyRow],
    team: Option<&'a TeamRow>,
    rows: &'a HistoryRows,
}

/// Computes `ticket`'s clocks from what happened on it, stores them
/// (`before`: as they were stored; clocks it had are updated at once, new
/// ones and the next look at them go into `inserts`) and schedules the
/// next look at them.
async fn settle(
    conn: &mut sqlx::AnyConnection,
    inserts: &mut Batch,
    Facts {
        ticket,
        policies,
        team,
        rows,
    }: Facts<'_>,
    before: &[ClockRow],
    now: i64,
) -> Result<Option<i64>, DeskError> {
    let ticket_id = ticket.id;
    let policy = policy_for(policies, ticket);
    let targets = policy
        .as_ref()
        .and_then(as_policy)
        .map_or(Targets::default(), |p| p.targets);
    let settings = Settings {
        warn_percent: policy
            .as_ref()
            .and_then(|p| u8::try_from(p.warn_percent).ok())
            .unwrap_or(75),
        ..Settings::default()
    };
    let calendar = team_calendar(team)?;
    let statuses: Vec<_> = rows
        .statuses
        .iter()
        .filter_map(|(at, s)| Status::parse(s).ok().map(|s| (instant(*at), s)))
        .collect();
    let messages: Vec<_> = rows
        .requester_messages
        .iter()
        .map(|t| instant(*t))
        .collect();
    let replies: Vec<_> = rows.agent_replies.iter().map(|t| instant(*t)).collect();
    let history = History {
        created_at: instant(ticket.created_at),
        statuses: &statuses,
        requester_messages: &messages,
        agent_replies: &replies,
    };
    let clocks = sla::clocks(&calendar, &targets, &history, &settings, instant(now))
        .map_err(|e| DeskError::Internal(format!("sla: {e}")))?;
    let mut fresh = Vec::new();
    let mut wake: Option<i64> = None;
    let first_answer_by = clocks
        .first_response
        .as_ref()
        .filter(|c| matches!(c.state, ClockState::Running))
        .and_then(|c| c.due_at)
        .map(|t| t.as_millisecond());
    for (metric, clock) in [
        (Metric::FirstResponse, clocks.first_response),
        (Metric::NextResponse, clocks.next_response),
        (Metric::Resolution, clocks.resolution),
    ] {
        let Some(clock) = clock else {
            if before.iter().any(|b| b.metric == metric.as_str()) {
                sstore::drop_clock(conn, ticket_id, metric.as_str()).await?;
            }
            continue;
        };
        let row = ClockRow {
            metric: metric.as_str().to_string(),
            state: state_name(clock.state).to_string(),
            target_minutes: clock.target.as_secs() / 60,
            elapsed_minutes: clock.elapsed.as_secs() / 60,
            warn_at: clock.warn_at.map(|t| t.as_millisecond()),
            due_at: clock.due_at.map(|t| t.as_millisecond()),
            warned_at: None,
            breached_at: None,
        };
        // A later wait for a reply is a new promise, with its own warning.
        let new_wait = metric == Metric::NextResponse
            && row.state == "running"
            && before
                .iter()
                .any(|b| b.metric == row.metric && b.state == "met");
        // A ticket without clocks (a new one) gets them in one statement.
        if !before.is_empty() {
            sstore::save_clock(conn, ticket_id, &row, new_wait, now).await?;
        }
        // The stages not yet acted on, of a clock that counts or has just
        // run out: when this ticket must be looked at next.
        if matches!(clock.state, ClockState::Running | ClockState::Breached) {
            let prev = before.iter().find(|b| b.metric == row.metric);
            let warned = !new_wait && prev.is_some_and(|p| p.warned_at.is_some());
            let breached = !new_wait && prev.is_some_and(|p| p.breached_at.is_some());
            let pending = [(!warned, row.warn_at), (!breached, row.due_at)];
            for at in pending
                .into_iter()
                .filter_map(|(open, at)| at.filter(|_| open))
            {
                wake = Some(wake.map_or(at, |w: i64| w.min(at)));
            }
        }
        if before.is_empty() {
            fresh.push(row);
        }
    }
    sstore::push_clocks(inserts, ticket_id, &fresh, now);
    // One job per ticket and instant: its key holds the instant, so every
    // refresh that finds the same next wake adds nothing, and a node that
    // dies before running it leaves it for another.
    if let Some(at) = wake {
        let key = format!("{SLA_JOB}:{ticket_id}:{at}");
        let payload = serde_json::json!({ "ticket_id": ticket_id });
        crate::jobs::enqueue_into(inserts, SLA_JOB, &payload, Some(&key), at);
    }
    Ok(first_answer_by)
}

fn run_job<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let ticket_id = job
            .payload
            .get("ticket_id")
            .and_then(|v| v.as_i64())
            .ok_or("payload lacks ticket_id")?;
        // Every clock and stage: whatever has come by now is acted on, once.
        for metric in Metric::ALL {
            for stage in [Stage::Warning, Stage::Breach] {
                check_clock(app, ticket_id, metric.as_str(), stage)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// Looks at one clock now and, if its warning or deadline has come and no
/// one has acted on it, performs the policy's escalation actions; true when
/// this caller did. Safe to run from any number of workers at once.
pub async fn check_clock(
    app: &App,
    ticket_id: i64,
    metric: &str,
    stage: Stage,
) -> Result<bool, DeskError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    refresh(&mut tx, ticket_id, now).await?;
    let clocks = sstore::clocks(&mut *tx, ticket_id).await?;
    let Some(clock) = clocks.iter().find(|c| c.metric == metric) else {
        tx.commit().await?;
        return Ok(false);
    };
    let reached = match stage {
        Stage::Warning => {
            matches!(clock.state.as_str(), "running" | "breached")
                && clock.warn_at.is_some_and(|w| w <= now)
        }
        Stage::Breach => clock.state == "breached",
    };
    if !reached || !sstore::claim_stage(&mut tx, ticket_id, metric, stage, now).await? {
        tx.commit().await?;
        return Ok(false);
    }
    let Some(ticket) = store::ticket_by_id(&mut *tx, ticket_id).await? else {
        tx.commit().await?;
        return Ok(false);
    };
    let policies = store::settings::policies(&mut *tx).await?;
    let actions = policy_for(&policies, &ticket)
        .map(|p| match stage {
            Stage::Warning => p.on_warning,
            Stage::Breach => p.on_breach,
        })
        .unwrap_or_default();
    let kind = match stage {
        Stage::Warning => "sla_warning",
        Stage::Breach => "sla_breached",
    };
    let detail =
        serde_json::json!({ "metric": metric, "due_at": clock.due_at, "actions": actions });
    store::insert_event(&mut tx, ticket_id, None, kind, &detail, now).await?;
    let why = format!("sla_{}", stage.as_str());
    for action in &actions {
        match action.as_str() {
            "raise_priority" => {
                raise_priority(&mut tx, &ticket, None, &why, now).await?;
            }
            "notify_supervisor" => {
                let breached = stage == Stage::Breach;
                let sent = crate::desk::routing::sla_notice::notify_supervisors(
                    app, &mut tx, &ticket, metric, breached,
                )
                .await?;
                let detail = serde_json::json!({ "metric": metric, "stage": stage.as_str(), "recipients": sent });
                store::insert_event(
                    &mut tx,
                    ticket_id,
                    None,
                    "supervisor_notified",
                    &detail,
                    now,
                )
                .await?;
            }
            "reassign" => reassign(&mut tx, &ticket, &why, now).await?,
            _ => {}
        }
    }
    // A raised priority may bring tighter targets.
    refresh(&mut tx, ticket_id, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Raises the priority one step (urgent stays urgent), recorded with why.
pub async fn raise_priority(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    actor: Option<i64>,
    why: &str,
    now: i64,
) -> Result<(), DeskError> {
    let current = store::ticket_by_id(&mut **tx, ticket.id)
        .await?
        .map_or(ticket.priority.clone(), |t| t.priority);
    let next = match Priority::parse(&current) {
        Ok(Priority::Low) => Priority::Normal,
        Ok(Priority::Normal) => Priority::High,
        Ok(Priority::High) | Ok(Priority::Urgent) => Priority::Urgent,
        Err(_) => return Ok(()),
    };
    if next.as_str() == current {
        return Ok(());
    }
    if store::relabel(tx, ticket.id, Label::Priority, &current, next.as_str(), now).await? {
        let detail = serde_json::json!({ "from": current, "to": next.as_str(), "reason": why });
        store::insert_event(tx, ticket.id, actor, "priority", &detail, now).await?;
    }
    Ok(())
}

/// Gives the ticket to another agent of its team, if one may take it.
async fn reassign(
    tx: &mut Transaction<'_, Any>,
    ticket: &TicketRow,
    why: &str,
    now: i64,
) -> Result<(), DeskError> {
    let Some(team) = team_of(tx, ticket.team.as_deref()).await? else {
        return Ok(());
    };
    let current = store::ticket_by_id(&mut **tx, ticket.id)
        .await?
        .and_then(|t| t.assignee_id);
    if let Some(to) =
        crate::desk::routing::assign_in_team(tx, team.id, ticket.id, current, why, now).await?
    {
        store::assign(tx, ticket.id, current, Some(to), now).await?;
    }
    Ok(())
}

/// One clock as staff see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskSlaTimer {
    /// `first_response`, `next_response` or `resolution`.
    pub metric: String,
    /// `running`, `paused`, `met` or `breached`.
    pub state: String,
    pub target_minutes: i64,
    /// When it is due (ms), while running or once breached.
    pub due_at: Option<i64>,
    /// Business minutes left until due (negative once overdue).
    pub remaining_business_minutes: Option<i64>,
    pub warned: bool,
    pub breached: bool,
}

/// When the requester can expect the desk's next answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskExpectedResponse {
    /// `first_response` or `next_response`.
    pub metric: String,
    /// The promised time (ms since the epoch, UTC).
    pub due_at: i64,
    /// The promise in the team's business minutes.
    pub business_minutes: i64,
}

/// The ticket's timers, remaining time counted on its team's calendar.
pub async fn timers(app: &App, ticket: &TicketRow) -> Result<Vec<DeskSlaTimer>, DeskError> {
    let now = instant(now_ms());
    // Read-only: a look at the timers never takes the write connection.
    let teams = store::routing::teams(app.store.read()).await?;
    let own = ticket
        .team
        .as_deref()
        .and_then(|slug| teams.iter().find(|t| t.slug == slug));
    let calendar = team_calendar(own.or_else(|| teams.iter().find(|t| t.is_default)))?;
    let rows = sstore::clocks(app.store.read(), ticket.id).await?;
    Ok(rows
        .into_iter()
        .map(|c| DeskSlaTimer {
            remaining_business_minutes: c.due_at.filter(|_| c.state != "met").map(|due| {
                let left: SignedDuration = calendar.between(now, instant(due));
                left.as_secs() / 60
            }),
            metric: c.metric,
            state: c.state,
            target_minutes: c.target_minutes,
            due_at: c.due_at,
            warned: c.warned_at.is_some(),
            breached: c.breached_at.is_some(),
        })
        .collect())
}

/// The running reply clock's promise, if the desk owes an answer.
pub async fn expected_response(
    app: &App,
    ticket: &TicketRow,
) -> Result<Option<DeskExpectedResponse>, DeskError> {
    let rows = sstore::clocks(app.store.read(), ticket.id).await?;
    Ok(rows
        .into_iter()
        .filter(|c| c.metric != "resolution" && c.state == "running")
        .find_map(|c| {
            c.due_at.map(|due_at| DeskExpectedResponse {
                metric: c.metric,
                due_at,
                business_minutes: c.target_minutes,
            })
        }))
}
