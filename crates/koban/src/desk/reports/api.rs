//! The reports' JSON: `GET /api/v1/desk/reports/{volume,times,sla,backlog,triage}`
//! for supervisors and desk admins. Durations are milliseconds; shares are
//! fractions of 1 to three decimals.

use super::{figures, fraction, scope, Ask, Figures, Scope};
use crate::desk::error::DeskError;
use crate::http::auth::{Staff, SUPERVISOR};
use crate::http::json::ApiQuery;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use koban_policy::desk::report::{self as rules, share_permille, Group, Report};
use std::sync::Arc;

/// Which days, in which zone, grouped how.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeskReportQuery {
    /// First day, YYYY-MM-DD in `tz` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, included, YYYY-MM-DD in `tz` (default: today); at most 366 days after `from`.
    pub to: Option<String>,
    /// IANA time zone the days are in, such as Asia/Tokyo (default: UTC).
    pub tz: Option<String>,
    /// Grouping: volume `day` (default), `channel` or `category`; times
    /// `team` (default), `channel` or `category`; SLA those or `priority`;
    /// backlog only `day`; triage only `category`.
    pub by: Option<String>,
}

impl DeskReportQuery {
    fn scope(&self, report: Report) -> Result<Scope, DeskError> {
        let ask = Ask {
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            tz: self.tz.as_deref(),
            by: self.by.as_deref(),
        };
        scope(report, ask, None)
    }
}

/// The days a report covers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskReportRange {
    /// First day (YYYY-MM-DD).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The zone the days are in.
    pub tz: String,
    pub days: usize,
    /// Milliseconds since the Unix epoch at which the first day starts.
    pub start: i64,
    /// … and at which the last one ends (exclusive).
    pub end: i64,
}

impl From<&Scope> for DeskReportRange {
    fn from(s: &Scope) -> DeskReportRange {
        DeskReportRange {
            from: s.range.first.to_string(),
            to: s.range.last.to_string(),
            tz: s.zone.clone(),
            days: s.range.len(),
            start: s.range.start_ms(),
            end: s.range.end_ms(),
        }
    }
}

/// Tickets created in one group.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskVolumeGroup {
    /// The day, channel or category.
    pub key: String,
    pub tickets: u64,
}

/// Tickets created, by day, channel or category.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskVolumeReport {
    pub range: DeskReportRange,
    pub by: String,
    pub total: u64,
    /// By day: every day in order, empty ones included; otherwise largest first.
    pub groups: Vec<DeskVolumeGroup>,
    /// More tickets than one report reads: the figures cover the oldest only.
    pub truncated: bool,
}

/// How long something took, over the tickets it happened to.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskReportDuration {
    pub count: u64,
    /// Median in milliseconds (interpolated, as PERCENTILE.INC).
    pub median_ms: Option<i64>,
    /// 90th percentile in milliseconds.
    pub p90_ms: Option<i64>,
}

impl From<rules::Stats> for DeskReportDuration {
    fn from(s: rules::Stats) -> DeskReportDuration {
        DeskReportDuration {
            count: s.count,
            median_ms: s.median_ms,
            p90_ms: s.p90_ms,
        }
    }
}

/// Times of one group (or all tickets, with an empty key).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskTimesGroup {
    /// The team's slug (empty for no team), channel or category.
    pub key: String,
    pub tickets: u64,
    /// Creation to the first public agent reply.
    pub first_response: DeskReportDuration,
    /// Creation to solved.
    pub resolution: DeskReportDuration,
}

impl From<Group<rules::Times>> for DeskTimesGroup {
    fn from(g: Group<rules::Times>) -> DeskTimesGroup {
        DeskTimesGroup {
            key: g.key,
            tickets: g.tickets,
            first_response: g.value.first_response.into(),
            resolution: g.value.resolution.into(),
        }
    }
}

/// First-response and resolution times of the tickets created in the range.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskTimesReport {
    pub range: DeskReportRange,
    pub by: String,
    pub overall: DeskTimesGroup,
    pub groups: Vec<DeskTimesGroup>,
    pub truncated: bool,
}

/// One kind of SLA target over a group's tickets.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskSlaTarget {
    pub met: u64,
    pub breached: u64,
    /// Still running and not yet due: counted neither way.
    pub pending: u64,
    /// met / (met + breached), 0 to 1; null while none is decided.
    pub attainment: Option<f64>,
}

impl From<rules::Attainment> for DeskSlaTarget {
    fn from(a: rules::Attainment) -> DeskSlaTarget {
        DeskSlaTarget {
            met: a.met,
            breached: a.breached,
            pending: a.pending,
            attainment: fraction(a.permille()),
        }
    }
}

/// SLA attainment of one group (or all tickets, with an empty key).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskSlaGroup {
    pub key: String,
    pub tickets: u64,
    pub first_response: DeskSlaTarget,
    pub resolution: DeskSlaTarget,
}

impl From<Group<rules::Sla>> for DeskSlaGroup {
    fn from(g: Group<rules::Sla>) -> DeskSlaGroup {
        DeskSlaGroup {
            key: g.key,
            tickets: g.tickets,
            first_response: g.value.first_response.into(),
            resolution: g.value.resolution.into(),
        }
    }
}

/// SLA attainment of the tickets created in the range, from their clocks.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskSlaReport {
    pub range: DeskReportRange,
    pub by: String,
    pub overall: DeskSlaGroup,
    pub groups: Vec<DeskSlaGroup>,
    pub truncated: bool,
}

/// Tickets unsolved at the end of a day.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskBacklogPoint {
    pub day: String,
    pub open: u64,
}

/// Backlog over time: new, open, pending and on-hold tickets at the end of each day.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskBacklogReport {
    pub range: DeskReportRange,
    pub points: Vec<DeskBacklogPoint>,
    pub truncated: bool,
}

/// Corrections of one category triage chose (or all, with an empty key).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskTriageGroup {
    /// The category triage chose.
    pub key: String,
    /// Tickets triage categorized (not those whose requester chose).
    pub triaged: u64,
    /// Of those, how many an agent moved to another category.
    pub corrected: u64,
    /// corrected / triaged, 0 to 1.
    pub share: Option<f64>,
}

impl From<Group<rules::Corrections>> for DeskTriageGroup {
    fn from(g: Group<rules::Corrections>) -> DeskTriageGroup {
        DeskTriageGroup {
            share: fraction(share_permille(g.value.corrected, g.tickets)),
            key: g.key,
            triaged: g.tickets,
            corrected: g.value.corrected,
        }
    }
}

/// How often agents changed the category triage chose, per category.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskTriageReport {
    pub range: DeskReportRange,
    pub overall: DeskTriageGroup,
    pub groups: Vec<DeskTriageGroup>,
    pub truncated: bool,
}

fn mismatch() -> Problem {
    Problem::internal(&"a report answered with another report's figures")
}

/// Tickets created per day, channel or category (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/reports/volume", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskReportQuery),
    responses((status = 200, body = DeskVolumeReport), (status = 401), (status = 403),
        (status = 422, description = "a malformed date, `to` before `from`, more than 366 days, an unknown time zone or grouping")))]
pub async fn volume(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    ApiQuery(q): ApiQuery<DeskReportQuery>,
) -> Result<Json<DeskVolumeReport>, Problem> {
    let scope = q.scope(Report::Volume)?;
    let (Figures::Volume(all, groups), truncated) = figures(&app, &scope).await? else {
        return Err(mismatch());
    };
    Ok(Json(DeskVolumeReport {
        range: (&scope).into(),
        by: scope.by.as_str().into(),
        total: all.tickets,
        groups: groups
            .into_iter()
            .map(|g| DeskVolumeGroup {
                key: g.key,
                tickets: g.tickets,
            })
            .collect(),
        truncated,
    }))
}

/// First-response and resolution times, median and p90, per team, channel
/// or category (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/reports/times", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskReportQuery),
    responses((status = 200, body = DeskTimesReport), (status = 401), (status = 403),
        (status = 422, description = "a malformed date, `to` before `from`, more than 366 days, an unknown time zone or grouping")))]
pub async fn times(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    ApiQuery(q): ApiQuery<DeskReportQuery>,
) -> Result<Json<DeskTimesReport>, Problem> {
    let scope = q.scope(Report::Times)?;
    let (Figures::Times(all, groups), truncated) = figures(&app, &scope).await? else {
        return Err(mismatch());
    };
    Ok(Json(DeskTimesReport {
        range: (&scope).into(),
        by: scope.by.as_str().into(),
        overall: all.into(),
        groups: groups.into_iter().map(Into::into).collect(),
        truncated,
    }))
}

/// SLA attainment: first-response and resolution targets met, from the
/// stored clocks (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/reports/sla", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskReportQuery),
    responses((status = 200, body = DeskSlaReport), (status = 401), (status = 403),
        (status = 422, description = "a malformed date, `to` before `from`, more than 366 days, an unknown time zone or grouping")))]
pub async fn sla(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    ApiQuery(q): ApiQuery<DeskReportQuery>,
) -> Result<Json<DeskSlaReport>, Problem> {
    let scope = q.scope(Report::Sla)?;
    let (Figures::Sla(all, groups), truncated) = figures(&app, &scope).await? else {
        return Err(mismatch());
    };
    Ok(Json(DeskSlaReport {
        range: (&scope).into(),
        by: scope.by.as_str().into(),
        overall: all.into(),
        groups: groups.into_iter().map(Into::into).collect(),
        truncated,
    }))
}

/// Unsolved tickets at the end of each day (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/reports/backlog", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskReportQuery),
    responses((status = 200, body = DeskBacklogReport), (status = 401), (status = 403),
        (status = 422, description = "a malformed date, `to` before `from`, more than 366 days, an unknown time zone or grouping")))]
pub async fn backlog(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    ApiQuery(q): ApiQuery<DeskReportQuery>,
) -> Result<Json<DeskBacklogReport>, Problem> {
    let scope = q.scope(Report::Backlog)?;
    let (Figures::Backlog(open), truncated) = figures(&app, &scope).await? else {
        return Err(mismatch());
    };
    Ok(Json(DeskBacklogReport {
        range: (&scope).into(),
        points: scope
            .range
            .days()
            .iter()
            .zip(open)
            .map(|(day, open)| DeskBacklogPoint {
                day: day.to_string(),
                open,
            })
            .collect(),
        truncated,
    }))
}

/// How often agents changed the category triage chose, per category
/// (supervisors and desk admins).
#[utoipa::path(get, path = "/api/v1/desk/reports/triage", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(DeskReportQuery),
    responses((status = 200, body = DeskTriageReport), (status = 401), (status = 403),
        (status = 422, description = "a malformed date, `to` before `from`, more than 366 days, an unknown time zone or grouping")))]
pub async fn triage(
    State(app): State<Arc<App>>,
    _supervisor: Staff<SUPERVISOR>,
    ApiQuery(q): ApiQuery<DeskReportQuery>,
) -> Result<Json<DeskTriageReport>, Problem> {
    let scope = q.scope(Report::Triage)?;
    let (Figures::Triage(all, groups), truncated) = figures(&app, &scope).await? else {
        return Err(mismatch());
    };
    Ok(Json(DeskTriageReport {
        range: (&scope).into(),
        overall: all.into(),
        groups: groups.into_iter().map(Into::into).collect(),
        truncated,
    }))
}
