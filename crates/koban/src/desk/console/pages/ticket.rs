//! One ticket in the console: the conversation (replies, internal notes,
//! system events), the composer with canned responses and macros, the
//! fields, the account's security context, the identity verification and
//! the account actions it unlocks. Every form carries the field values the
//! agent saw, so a change made meanwhile is refused, not overwritten.

use super::ticket_view::ticket_context;
use super::{agent_of, failed, given, problem_page, Posted};
use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Current;
use crate::desk::console::library;
use crate::desk::console::ops as console_ops;
use crate::desk::console::{self, Assign, Changes};
use crate::desk::store::TicketRow;
use crate::desk::tickets::service::{self};
use crate::desk::{verification, DeskError};
use crate::http::problem::Problem;
use crate::security::client::ClientContext;
use crate::security::recovery::SupportAction;
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/desk/tickets/{reference}", get(ticket_page))
        .route("/desk/tickets/{reference}/reply", post(reply))
        .route("/desk/tickets/{reference}/fields", post(fields))
        .route("/desk/tickets/{reference}/macro", post(run_macro))
        .route(
            "/desk/tickets/{reference}/verifications",
            post(start_verification),
        )
        .route(
            "/desk/tickets/{reference}/verifications/{id}",
            post(check_verification),
        )
        .route(
            "/desk/tickets/{reference}/account-actions",
            post(account_action),
        )
}

/// The page's own URL.
fn path_of(ticket: &TicketRow) -> String {
    format!(
        "/desk/tickets/{}",
        crate::desk::tickets::api::formatted(&ticket.reference)
    )
}

/// The ticket as the agent saw it: the form's `seen_*` members over the
/// ticket as it is now. Changes are compared against these, so a field
/// someone else changed since the page was drawn is not overwritten.
fn as_seen(ticket: &TicketRow, form: &Posted) -> TicketRow {
    let mut seen = ticket.clone();
    if let Some(v) = form.get("seen_status") {
        seen.status = v.clone();
    }
    if let Some(v) = form.get("seen_priority") {
        seen.priority = v.clone();
    }
    if let Some(v) = form.get("seen_category") {
        seen.category = v.clone();
    }
    if let Some(v) = form.get("seen_assignee") {
        seen.assignee_id = v.trim().parse().ok();
    }
    seen
}

/// The ticket for an agent, or the page to show instead.
async fn open_ticket(
    app: &App,
    viewer: &Viewer,
    reference: &str,
) -> Result<(Current, TicketRow), Response> {
    let agent = agent_of(viewer)?;
    match service::visible(app, &agent, reference).await {
        Ok((ticket, _)) => Ok((agent, ticket)),
        Err(error) => Err(problem_page(viewer, error)),
    }
}

/// `GET /desk/tickets/{reference}?canned=…&done=…`.
async fn ticket_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let canned = match given(&query, "canned").map(|c| c.parse::<i64>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return problem_page(&viewer, DeskError::NotFound),
    };
    // Only known outcomes are named; anything else in the URL is ignored.
    let done = given(&query, "done").filter(|d| {
        [
            "replied",
            "noted",
            "fields",
            "macro",
            "verification_started",
            "verified",
            "action",
        ]
        .contains(&d.as_str())
    });
    match ticket_context(&app, &viewer, &agent, &ticket, None, canned).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "desk_ticket.html",
            context! { done => done, ..page },
        ),
        Err(error) => problem_page(&viewer, error),
    }
}

/// Why a form's action did not happen: the service refused it (the ticket
/// page again, with the refusal), or there is another page to show.
enum Refusal {
    Desk(DeskError),
    Page(Response),
}

impl From<DeskError> for Refusal {
    fn from(error: DeskError) -> Self {
        Refusal::Desk(error)
    }
}

/// What every form on the ticket page does: open the ticket for the agent,
/// run `act`, and answer: back to the ticket with `done=<what act returned>`,
/// or the page again with the refusal, `draft` kept in the composer and the
/// reasons about `fields` next to them.
async fn act_on(
    app: &App,
    viewer: &Viewer,
    reference: &str,
    draft: Option<String>,
    fields: &[&str],
    act: impl AsyncFnOnce(&Current, &TicketRow) -> Result<&'static str, Refusal>,
) -> Response {
    let (agent, ticket) = match open_ticket(app, viewer, reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let error = match act(&agent, &ticket).await {
        Ok(done) => return see_other(&url_with(&path_of(&ticket), &[("done", done)])),
        Err(Refusal::Page(response)) => return response,
        Err(Refusal::Desk(error)) => error,
    };
    let mut feedback = match explain_problem(viewer, Problem::from(error), fields) {
        Ok(feedback) => feedback,
        Err(response) => return response,
    };
    // A wrong code read back is said next to the code, where the agent looks.
    if fields == ["code"] && feedback.status == 422 && feedback.errors.is_empty() {
        if let Some(alert) = feedback.alert.take() {
            feedback.errors.insert("code".into(), vec![alert]);
        }
    }
    // Drawn from the ticket as it is now, so the agent sees what changed.
    let now = match service::visible(app, &agent, &ticket.reference).await {
        Ok((now, _)) => now,
        Err(error) => return problem_page(viewer, error),
    };
    match ticket_context(app, viewer, &agent, &now, draft, None).await {
        Ok(page) => refused(viewer, "desk_ticket.html", feedback, page),
        Err(error) => failed(viewer, &error),
    }
}

/// `POST /desk/tickets/{reference}/reply`: `body`, `visibility`
/// (`public` or `internal`), `status_after`, and the `seen_*` fields.
async fn reply(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let body = form.get("body").cloned().unwrap_or_default();
    let draft = Some(body.clone());
    let fields = ["body", "status_after"];
    act_on(
        &app,
        &viewer,
        &reference,
        draft,
        &fields,
        async |agent, ticket| {
            let public = form.get("visibility").map(String::as_str) != Some("internal");
            let changes = Changes {
                status: given(&form, "status_after"),
                ..Changes::default()
            };
            let seen = as_seen(ticket, &form);
            console_ops::reply_and_set(&app, agent, &seen, Some((&body, public)), changes).await?;
            Ok(if public { "replied" } else { "noted" })
        },
    )
    .await
}

/// `POST /desk/tickets/{reference}/fields`: status, priority, category,
/// assignee (empty: nobody), tags (comma-separated), each compared with
/// the `seen_*` value the form was drawn with.
async fn fields(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let fields = ["status", "priority", "category", "assignee", "tags"];
    act_on(
        &app,
        &viewer,
        &reference,
        None,
        &fields,
        async |agent, ticket| {
            let seen = as_seen(ticket, &form);
            let differs = |name: &str, was: &str| given(&form, name).filter(|v| v != was);
            let assign = match form.get("assignee").map(|v| v.trim()) {
                None => None,
                Some("") if seen.assignee_id.is_some() => Some(Assign::Nobody),
                Some("") => None,
                Some(id) => {
                    let id: i64 = id
                        .parse()
                        .map_err(|_| DeskError::field("assignee", "invalid_value"))?;
                    (Some(id) != seen.assignee_id).then_some(Assign::To(id))
                }
            };
            let new_tags = console_ops::parse_tags(form.get("tags").map_or("", String::as_str))?;
            let seen_tags =
                console_ops::parse_tags(form.get("seen_tags").map_or("", String::as_str))?;
            let changes = Changes {
                status: differs("status", &seen.status),
                priority: differs("priority", &seen.priority),
                category: differs("category", &seen.category),
                assign,
                team: None,
            };
            console::update(&app, agent, &seen, changes).await?;
            let add: Vec<String> = new_tags
                .iter()
                .filter(|t| !seen_tags.contains(t))
                .cloned()
                .collect();
            let remove: Vec<String> = seen_tags
                .iter()
                .filter(|t| !new_tags.contains(t))
                .cloned()
                .collect();
            console_ops::change_tags(&app, agent, ticket.id, &add, &remove).await?;
            Ok("fields")
        },
    )
    .await
}

/// `POST /desk/tickets/{reference}/macro`: `macro` and the `seen_*` fields.
async fn run_macro(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    act_on(
        &app,
        &viewer,
        &reference,
        None,
        &["macro"],
        async |agent, ticket| {
            let id = given(&form, "macro")
                .and_then(|m| m.parse::<i64>().ok())
                .ok_or_else(|| DeskError::field("macro", "required"))?;
            library::apply_macro(&app, agent, &as_seen(ticket, &form), id).await?;
            Ok("macro")
        },
    )
    .await
}

/// `POST /desk/tickets/{reference}/verifications`: sends the code.
async fn start_verification(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(reference): Path<String>,
    PageForm(_form): PageForm<Posted>,
) -> Response {
    act_on(
        &app,
        &viewer,
        &reference,
        None,
        &[],
        async |agent, ticket| {
            verification::start(&app, agent, ticket).await?;
            Ok("verification_started")
        },
    )
    .await
}

/// `POST /desk/tickets/{reference}/verifications/{id}`: the code read back.
async fn check_verification(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((reference, id)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    act_on(
        &app,
        &viewer,
        &reference,
        None,
        &["code"],
        async |agent, ticket| {
            // A verification id that is not a number names nothing: the error
            // page, as for any address that does not exist.
            let Ok(id) = id.parse::<i64>() else {
                return Err(Refusal::Page(problem_page(&viewer, DeskError::NotFound)));
            };
            let code = form.get("code").map_or("", |c| c.trim());
            verification::check(&app, agent, ticket, id, code).await?;
            Ok("verified")
        },
    )
    .await
}

/// `POST /desk/tickets/{reference}/account-actions`: `action`, `reason`,
/// and `device_id` for removing a device. Needs a passed verification.
async fn account_action(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    client: ClientContext,
    Path(reference): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    act_on(
        &app,
        &viewer,
        &reference,
        None,
        &["reason"],
        async |agent, ticket| {
            let device = given(&form, "device_id").and_then(|d| d.parse::<i64>().ok());
            let action = match (given(&form, "action").as_deref(), device) {
                (Some("unlock"), _) => SupportAction::Unlock,
                (Some("reset_two_factor"), _) => SupportAction::ResetTwoFactor,
                (Some("end_sessions"), _) => SupportAction::EndSessions,
                (Some("remove_device"), Some(device)) => SupportAction::RemoveDevice(device),
                (Some("remove_device"), None) => {
                    return Err(DeskError::field("device_id", "required").into())
                }
                _ => return Err(DeskError::field("action", "invalid_value").into()),
            };
            let reason = form.get("reason").map_or("", String::as_str);
            let ip = client.ip.to_string();
            verification::act(&app, agent, ticket, action, reason, &ip).await?;
            Ok("action")
        },
    )
    .await
}
