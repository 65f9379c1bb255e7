//! The desk's reports (issue 15 §3): ticket volume, first-response and
//! resolution times, SLA attainment, backlog over time and triage
//! corrections, for whole days in the viewer's time zone. Supervisors and
//! desk admins read them through the API (`api.rs`, JSON) and the pages
//! (`pages.rs`: charts drawn on the server as SVG, tables, CSV). Both ask
//! [`scope`] what a request means and [`figures`] for the numbers, which
//! `koban_policy::desk::report*` works out from what the store read.

pub mod api;
mod csv;
pub mod pages;

pub use csv::csv;

use crate::desk::error::DeskError;
use crate::desk::store::reports::{self as store, ReportTicketRow};
use crate::http::problem::FieldError;
use crate::state::App;
use jiff::tz::TimeZone;
use koban_policy::desk::report::{self as rules, By, Group, Report, Ticket};
use koban_policy::desk::report_backlog::{backlog, is_open_status, Lifecycle};
use koban_policy::desk::report_range::Range;

/// The most tickets a report reads; beyond it the answer says it is
/// truncated rather than holding a year of a busy desk in memory.
pub const MAX_TICKETS: i64 = 100_000;

/// What a request asks, as it came (query parameters or a form).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub tz: Option<&'a str>,
    pub by: Option<&'a str>,
}

/// What a request means: the days, in which zone, grouped how.
#[derive(Debug, Clone)]
pub struct Scope {
    pub report: Report,
    pub range: Range,
    /// The zone's IANA name.
    pub zone: String,
    pub by: By,
}

/// Reads `ask` for `report`; a zone not named falls back to `viewer_zone`,
/// then UTC. Every refused parameter is named at once.
pub fn scope(report: Report, ask: Ask, viewer_zone: Option<&TimeZone>) -> Result<Scope, DeskError> {
    let mut errors = vec![];
    let named = ask.tz.map(str::trim).filter(|z| !z.is_empty());
    let zone = match named {
        // Names only: a POSIX TZ string or a path is no zone here.
        Some(name)
            if name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b)) =>
        {
            TimeZone::get(name).ok()
        }
        Some(_) => None,
        None => Some(viewer_zone.cloned().unwrap_or(TimeZone::UTC)),
    };
    if zone.is_none() {
        errors.push(FieldError {
            field: "tz".into(),
            code: "unknown_time_zone",
        });
    }
    let by = report.by(ask.by);
    if by.is_none() {
        errors.push(FieldError {
            field: "by".into(),
            code: "not_an_option",
        });
    }
    let zone = zone.unwrap_or(TimeZone::UTC);
    let range = Range::parse(ask.from, ask.to, &zone, jiff::Timestamp::now());
    if let Err(refused) = &range {
        errors.extend(refused.iter().map(|e| FieldError {
            field: e.field().into(),
            code: e.code(),
        }));
    }
    match (range, by) {
        (Ok(range), Some(by)) if errors.is_empty() => Ok(Scope {
            report,
            range,
            zone: zone.iana_name().unwrap_or("UTC").to_string(),
            by,
        }),
        _ => Err(DeskError::Invalid(errors)),
    }
}

/// A report's numbers.
#[derive(Debug, Clone)]
pub enum Figures {
    Volume(Group<()>, Vec<Group<()>>),
    Times(Group<rules::Times>, Vec<Group<rules::Times>>),
    Sla(Group<rules::Sla>, Vec<Group<rules::Sla>>),
    /// Tickets unsolved at the end of each day of the range.
    Backlog(Vec<u64>),
    Triage(Group<rules::Corrections>, Vec<Group<rules::Corrections>>),
}

/// The figures and whether [`MAX_TICKETS`] cut the reading short.
pub async fn figures(app: &App, scope: &Scope) -> Result<(Figures, bool), DeskError> {
    if scope.report == Report::Backlog {
        let (open, truncated) = backlog_of(app, &scope.range).await?;
        return Ok((Figures::Backlog(open), truncated));
    }
    let (tickets, truncated) = tickets(app, &scope.range).await?;
    Ok((
        figures_of(scope.report, &scope.range, scope.by, &tickets),
        truncated,
    ))
}

/// A report other than backlog, from tickets already read.
pub fn figures_of(report: Report, range: &Range, by: By, tickets: &[Ticket]) -> Figures {
    match report {
        Report::Volume => {
            let (all, groups) = rules::volume(tickets, range, by);
            Figures::Volume(all, groups)
        }
        Report::Times => {
            let (all, groups) = rules::times(tickets, range, by);
            Figures::Times(all, groups)
        }
        Report::Sla => {
            let (all, groups) = rules::sla(tickets, range, by);
            Figures::Sla(all, groups)
        }
        // Backlog reads histories, not these tickets: the caller asks
        // [`backlog_of`]; triage is what is left.
        Report::Triage | Report::Backlog => {
            let (all, groups) = rules::triage(tickets, range);
            Figures::Triage(all, groups)
        }
    }
}

/// The tickets created in `range` (not merged away), as the rules read
/// them, and whether there were more than [`MAX_TICKETS`].
pub async fn tickets(app: &App, range: &Range) -> Result<(Vec<Ticket>, bool), DeskError> {
    let rows = store::tickets(
        app.store.read(),
        range.start_ms(),
        range.end_ms(),
        MAX_TICKETS + 1,
    )
    .await?;
    let truncated = rows.len() as i64 > MAX_TICKETS;
    let now = crate::store::now_ms();
    let tickets = rows
        .iter()
        .take(MAX_TICKETS as usize)
        .map(|row| ticket(row, now))
        .collect();
    Ok((tickets, truncated))
}

/// Tickets unsolved at the end of each day of `range`.
pub async fn backlog_of(app: &App, range: &Range) -> Result<(Vec<u64>, bool), DeskError> {
    let rows = store::lifecycles(
        app.store.read(),
        range.start_ms(),
        range.end_ms(),
        MAX_TICKETS + 1,
    )
    .await?;
    let truncated = rows.len() as i64 > MAX_TICKETS;
    let lives: Vec<Lifecycle> = rows
        .iter()
        .take(MAX_TICKETS as usize)
        .map(|row| {
            let changes: Vec<(i64, bool)> = row
                .changes
                .iter()
                .filter_map(|(at, detail)| {
                    let detail: serde_json::Value = serde_json::from_str(detail).ok()?;
                    Some((*at, is_open_status(detail.get("to")?.as_str()?)))
                })
                .collect();
            if changes.is_empty() {
                Lifecycle::without_events(row.created_at, is_open_status(&row.status), row.done_at)
            } else {
                Lifecycle {
                    created_at: row.created_at,
                    changes,
                }
            }
        })
        .collect();
    Ok((backlog(&lives, range.day_ends()), truncated))
}

/// A stored ticket as the rules read it.
fn ticket(row: &ReportTicketRow, now: i64) -> Ticket {
    let triage: serde_json::Value = serde_json::from_str(&row.triage).unwrap_or_default();
    // Triage chose only when the requester did not; an old record without
    // the flag was triage's.
    let triaged = triage["category"]
        .as_str()
        .filter(|_| !triage["chosen_by_requester"].as_bool().unwrap_or(false))
        .map(str::to_string);
    let outcome = |clock: &Option<(String, Option<i64>)>| {
        clock
            .as_ref()
            .and_then(|(state, due)| rules::outcome(state, *due, now))
    };
    Ticket {
        created_at: row.created_at,
        channel: row.channel.clone(),
        category: row.category.clone(),
        team: row.team.clone(),
        priority: row.priority.clone(),
        first_reply_at: row.first_reply_at,
        solved_at: row.solved_at,
        first_response_sla: outcome(&row.first_response),
        resolution_sla: outcome(&row.resolution),
        triaged,
        category_changed: row.category_changes > 0,
    }
}

/// Thousandths as a fraction (0.667), for JSON.
pub fn fraction(permille: Option<u32>) -> Option<f64> {
    permille.map(|p| f64::from(p) / 1000.0)
}

/// Thousandths as a percentage with one decimal ("66.7").
pub fn percent(permille: Option<u32>) -> String {
    permille
        .map(|p| format!("{}.{}", p / 10, p % 10))
        .unwrap_or_default()
}
