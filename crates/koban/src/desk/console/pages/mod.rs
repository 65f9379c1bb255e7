//! The agent console's pages: the queue with its views, filters and bulk
//! actions; one ticket with its conversation, composer, fields, account
//! context and verified actions; the library of canned responses and
//! macros. Server-rendered like every other page; handlers call the same
//! services as the JSON API. Signed out: to sign-in; not an agent: 404,
//! as for a page that does not exist.

mod event_text;
mod library;
mod ticket;
mod ticket_view;

use crate::accounts::pages::{explain_problem, internal};
use crate::accounts::sessions::{Current, Viewing};
use crate::desk::console::ops::{self as console_ops, Bulk, BulkOutcome, QueueAsk};
use crate::desk::console::View;
use crate::desk::store::{console as console_store, TicketRow};
use crate::desk::DeskError;
use crate::http::pagination::{page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::desk::forms::Category;
use koban_policy::desk::status::{Priority, Status};
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The queue views, in the order the tabs show them: (name in the URL and
/// in `console-view-<name>`, view). One more view is one more line.
const VIEWS: &[(&str, View)] = &[
    ("mine", View::Mine),
    ("unassigned", View::Unassigned),
    ("open", View::Open),
    ("all", View::All),
    ("team", View::Team),
];

/// Routes for the console pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/desk", get(queue_page))
        .route("/desk/bulk", post(bulk))
        .merge(ticket::router())
        .merge(library::router())
}

/// What forms and queries post: every member a string, as browsers send them.
type Posted = BTreeMap<String, String>;

/// The signed-in agent, or the page to show instead: sign-in for a
/// visitor, "not found" for anyone else (the console is not advertised).
#[allow(clippy::result_large_err)]
pub(crate) fn agent_of(viewer: &Viewer) -> Result<Current, Response> {
    let Some(current) = viewer.current() else {
        return Err(see_other(&url_with("/signin", &[("next", &viewer.here)])));
    };
    if !current.account.has_role("agent") {
        return Err(render::error(
            viewer,
            StatusCode::NOT_FOUND,
            "problem-not-found",
        ));
    }
    Ok(current.clone())
}

/// A desk error as a page: field errors and conflicts as an alert on the
/// page being shown again, everything else as the error page.
fn problem_page(viewer: &Viewer, error: DeskError) -> Response {
    let problem = Problem::from(error);
    render::error(viewer, problem.status, problem.message)
}

/// The value of a form or query member, trimmed, when not empty.
fn given(posted: &Posted, name: &str) -> Option<String> {
    posted
        .get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The choices the filters and field editors offer.
fn choices() -> minijinja::Value {
    context! {
        statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        priorities => Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        views => VIEWS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
    }
}

/// One ticket in the queue.
#[derive(serde::Serialize)]
struct QueueRow {
    reference: String,
    subject: String,
    status: String,
    priority: String,
    category: String,
    urgent: bool,
    completeness: i64,
    assignee: Option<String>,
    /// What the bulk form sends back, so a ticket changed since is reported.
    seen: String,
    at: String,
    at_text: String,
}

/// The queue `query` asks for, as the page shows it; the bulk action's
/// `results`, when one was just applied.
async fn queue_context(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
    query: &Posted,
) -> Result<minijinja::Value, DeskError> {
    let view_name = given(query, "view").unwrap_or_else(|| "open".into());
    let view = VIEWS
        .iter()
        .find(|(name, _)| *name == view_name)
        .map(|(_, v)| *v)
        .ok_or_else(|| DeskError::field("view", "invalid_value"))?;
    let assignee = match given(query, "assignee") {
        None => None,
        Some(id) => Some(
            id.parse::<i64>()
                .map_err(|_| DeskError::field("assignee", "invalid_value"))?,
        ),
    };
    let ask = QueueAsk {
        status: given(query, "status"),
        category: given(query, "category"),
        priority: given(query, "priority"),
        assignee,
        // The page has no team filter yet; an unknown slug finds nothing.
        team: given(query, "team"),
    };
    let filter = console_ops::queue_filter(view, agent.account.id, ask)?;
    let (before, limit) = PageQuery {
        cursor: given(query, "cursor"),
        limit: Some(50),
    }
    .bounds()
    .map_err(|_| DeskError::field("cursor", "invalid_value"))?;
    let rows = console_ops::queue(app, &filter, before, limit).await?;
    let agents = console_store::agents(app.store.read()).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| agents.iter().find(|(a, _)| *a == id))
            .map(|(_, name)| name.clone())
    };
    let paged = page(rows, limit, |t: &TicketRow| t.id);
    let tickets: Vec<QueueRow> = paged
        .items
        .iter()
        .map(|t| {
            let when = viewer.when(t.updated_at);
            QueueRow {
                reference: crate::desk::tickets::api::formatted(&t.reference),
                subject: t.subject.clone(),
                status: t.status.clone(),
                priority: t.priority.clone(),
                category: t.category.clone(),
                urgent: t.urgent,
                completeness: t.completeness,
                assignee: name_of(t.assignee_id),
                seen: format!("{}:{}", t.reference, t.updated_at),
                at: when.iso,
                at_text: when.text,
            }
        })
        .collect();
    // The next page keeps the view and the filters.
    let mut keep: Vec<(&str, String)> = ["view", "status", "category", "priority", "assignee"]
        .into_iter()
        .filter_map(|k| given(query, k).map(|v| (k, v)))
        .collect();
    let next = paged.next_cursor.map(|c| {
        keep.push(("cursor", c));
        let pairs: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (*k, v.as_str())).collect();
        url_with("/desk", &pairs)
    });
    Ok(context! {
        view => view_name,
        filter => context! {
            status => given(query, "status"),
            category => given(query, "category"),
            priority => given(query, "priority"),
            assignee => given(query, "assignee"),
        },
        tickets => tickets,
        next => next,
        agents => agents.iter().map(|(id, name)| context! { id => id.to_string(), name => name }).collect::<Vec<_>>(),
        is_admin => agent.account.has_role("admin"),
        ..choices()
    })
}

/// `GET /desk?view=…&status=…&category=…&priority=…&assignee=…&cursor=…`.
async fn queue_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let agent = match agent_of(&viewer) {
        Ok(agent) => agent,
        Err(response) => return response,
    };
    match queue_context(&app, &viewer, &agent, &query).await {
        Ok(page) => render::page(&viewer, StatusCode::OK, "desk_queue.html", page),
        Err(error) => problem_page(&viewer, error),
    }
}

/// `POST /desk/bulk`: `ticket` (repeated, `reference:updated_at` as the
/// agent saw it), `action` and its `value`; answers the queue again with
/// each ticket's outcome.
async fn bulk(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Vec<(String, String)>>,
) -> Response {
    let agent = match agent_of(&viewer) {
        Ok(agent) => agent,
        Err(response) => return response,
    };
    let single: Posted = form
        .iter()
        .filter(|(k, _)| k != "ticket")
        .cloned()
        .collect();
    let mut selection = Vec::new();
    for (_, value) in form.iter().filter(|(k, _)| k == "ticket") {
        let parsed = value.rsplit_once(':').and_then(|(reference, at)| {
            Some((reference.to_string(), Some(at.parse::<i64>().ok()?)))
        });
        match parsed {
            Some(item) => selection.push(item),
            None => return problem_page(&viewer, DeskError::field("tickets", "invalid_value")),
        }
    }
    let action = given(&single, "action").unwrap_or_default();
    let value = given(&single, "value").unwrap_or_default();
    let result = match Bulk::parse(&action, &value) {
        Ok(action) => console_ops::bulk(&app, &agent, &selection, &action).await,
        Err(error) => Err(error),
    };
    let back: Posted = single
        .into_iter()
        .filter(|(k, _)| {
            ["view", "status", "category", "priority", "assignee"].contains(&k.as_str())
        })
        .collect();
    let queue = match queue_context(&app, &viewer, &agent, &back).await {
        Ok(queue) => queue,
        Err(error) => return problem_page(&viewer, error),
    };
    match result {
        Ok(outcomes) => {
            let results: Vec<BulkOutcome> = outcomes;
            render::page(
                &viewer,
                StatusCode::OK,
                "desk_queue.html",
                context! { results => results, ..queue },
            )
        }
        Err(error) => match explain_problem(&viewer, Problem::from(error), &[]) {
            Ok(feedback) => {
                crate::accounts::pages::refused(&viewer, "desk_queue.html", feedback, queue)
            }
            Err(response) => response,
        },
    }
}

/// Logs and shows the internal-error page (kept here so the submodules
/// need one import).
fn failed(viewer: &Viewer, error: &dyn std::fmt::Display) -> Response {
    internal(viewer, error)
}
