//! The console's JSON API: queue views and ticket changes (agents).

use crate::accounts::sessions::Authenticated;
use crate::desk::console::{self, Assign, Changes, View};
use crate::desk::tickets::api::TicketSummary;
use crate::desk::tickets::service::{self, Standing};
use crate::http::auth::{Staff, AGENT};
use crate::http::json::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

choices! {
    /// A queue view.
    pub enum ViewName {
        Mine = "mine",
        Unassigned = "unassigned",
        Open = "open",
        All = "all",
        Breaching = "breaching",
        Team = "team",
    }
}

/// A queue view, its refinements and the page.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `mine`, `unassigned`, `open` (default), `all`, `breaching`
    /// (running SLA clocks, nearest due first, one page), or `team` (not
    /// done, of every team the caller is a member of).
    #[param(inline)]
    pub view: Option<ViewName>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this priority.
    pub priority: Option<String>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Only this team's tickets (its slug).
    #[param(max_length = 40)]
    pub team: Option<String>,
}

/// A queue of tickets, newest first (agents).
#[utoipa::path(get, path = "/api/v1/desk/tickets", tag = "desk", security(("bearer" = []), ("session_cookie" = [])), params(QueueQuery),
    responses((status = 200, body = Page<TicketSummary>), (status = 401), (status = 403), (status = 422)))]
pub async fn queue(
    State(app): State<Arc<App>>,
    Staff(agent): Staff<AGENT>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Page<TicketSummary>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    }
    .bounds()?;
    if let Some(team) = &q.team {
        let known = crate::desk::store::routing::team(app.store.read(), team)
            .await
            .map_err(|e| Problem::internal(&e))?;
        if known.is_none() {
            return Err(Problem::field("team", "unknown_team"));
        }
    }
    let view = match q.view.unwrap_or(ViewName::Open) {
        ViewName::Breaching => {
            let rows = crate::desk::store::sla::breaching_tickets(
                app.store.read(),
                q.team.as_deref(),
                limit,
            )
            .await
            .map_err(|e| Problem::internal(&e))?;
            let items = rows.iter().map(TicketSummary::from).collect();
            return Ok(Json(Page {
                items,
                next_cursor: None,
            }));
        }
        ViewName::Mine => View::Mine,
        ViewName::Unassigned => View::Unassigned,
        ViewName::Open => View::Open,
        ViewName::All => View::All,
        ViewName::Team => View::Team,
    };
    let ask = crate::desk::console::ops::QueueAsk {
        status: q.status,
        category: q.category,
        priority: q.priority,
        assignee: None,
        team: q.team,
    };
    let filter = crate::desk::console::ops::queue_filter(view, agent.account_id(), ask)?;
    let rows = crate::desk::console::ops::queue(&app, &filter, before, limit).await?;
    let items: Vec<TicketSummary> = rows.iter().map(TicketSummary::from).collect();
    Ok(Json(page(items, limit, |t| t.id())))
}

/// Changes to a ticket; absent members stay as they are.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketChanges {
    /// `open`, `pending`, `on_hold`, `solved` or `closed` (only from solved).
    pub status: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    /// One of the ten categories; a change is recorded as a triage correction.
    pub category: Option<String>,
    /// Take the ticket (refused with 409 if another agent has it).
    #[serde(default)]
    pub claim: bool,
    /// Give the ticket to this agent.
    pub assignee_id: Option<i64>,
    /// Leave the ticket to nobody.
    #[serde(default)]
    pub unassign: bool,
    /// Move the ticket to this team (its slug); an unknown one answers 422.
    #[schema(max_length = 40)]
    pub team: Option<String>,
}

impl TicketChanges {
    /// The changes asked for; claiming, giving and unassigning at once is
    /// refused by name.
    pub fn into_changes(self) -> Result<Changes, Problem> {
        let assign = match (self.claim, self.assignee_id, self.unassign) {
            (false, None, false) => None,
            (true, None, false) => Some(Assign::Claim),
            (false, Some(id), false) => Some(Assign::To(id)),
            (false, None, true) => Some(Assign::Nobody),
            _ => return Err(Problem::field("claim", "invalid_value")),
        };
        Ok(Changes {
            status: self.status,
            priority: self.priority,
            category: self.category,
            assign,
            team: self.team,
        })
    }
}

/// Changes a ticket's status, priority, category or assignee (agents).
/// All or nothing: when another agent changed it first, 409 and nothing changes.
#[utoipa::path(patch, path = "/api/v1/desk/tickets/{reference}", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number")),
    request_body = TicketChanges,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn change(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<TicketChanges>,
) -> Result<StatusCode, Problem> {
    let (ticket, standing) = service::visible(&app, &current, &reference).await?;
    if standing != Standing::Agent {
        return Err(Problem::forbidden());
    }
    console::update(&app, &current, &ticket, input.into_changes()?).await?;
    Ok(StatusCode::NO_CONTENT)
}
