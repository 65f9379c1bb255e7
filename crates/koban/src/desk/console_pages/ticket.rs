//! One ticket in the console: the conversation (replies, internal notes,
//! system events), the composer with canned responses and macros, the
//! fields, the account's security context, the identity verification and
//! the account actions it unlocks. Every form carries the field values the
//! agent saw, so a change made meanwhile is refused, not overwritten.

use super::{agent_of, choices, failed, given, problem_page, Posted};
use crate::accounts::pages::{explain_problem, refused};
use crate::accounts::sessions::Current;
use crate::desk::console::{self, Assign, Changes};
use crate::desk::console_ops;
use crate::desk::service::{self};
use crate::desk::store::{self, console as console_store, TicketRow};
use crate::desk::{library, support_api, verification, DeskError};
use crate::http::problem::Problem;
use crate::security::client::ClientContext;
use crate::security::recovery::SupportAction;
use crate::state::App;
use crate::store::now_ms;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde_json::Value as Json;
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
        crate::desk::api::formatted(&ticket.reference)
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

/// A line of the conversation.
#[derive(serde::Serialize)]
struct Line {
    /// `requester`, `agent`, `note` (internal) or `event`.
    kind: String,
    author: Option<String>,
    body: String,
    /// For events: what changed, as stored (shown as text).
    detail: Option<String>,
    event: Option<String>,
    at: String,
    at_text: String,
    order: (i64, u8),
}

/// Events the page names in words (`console-event-<kind>`); another
/// domain's newer kinds read "changed" with their detail.
const NAMED_EVENTS: &[&str] = &[
    "created",
    "status",
    "priority",
    "category",
    "assigned",
    "tags",
    "verification_started",
    "verification_passed",
    "account_action",
    "followed_up",
];

fn event_name(kind: &str) -> &str {
    NAMED_EVENTS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

fn text_at(viewer: &Viewer, ms: i64) -> (String, String) {
    let when = viewer.when(ms);
    (when.iso, when.text)
}

/// Members of JSON rows the context panel shows, times in words.
fn rows(viewer: &Viewer, items: &[Json], members: &[&str], time: &str) -> Vec<Json> {
    items
        .iter()
        .map(|item| {
            let mut row = serde_json::Map::new();
            for m in members {
                row.insert((*m).into(), item.get(*m).cloned().unwrap_or(Json::Null));
            }
            if let Some(ms) = item.get(time).and_then(Json::as_i64) {
                row.insert("at_text".into(), Json::String(viewer.when(ms).text));
            }
            Json::Object(row)
        })
        .collect()
}

/// Everything the ticket page shows; `draft` keeps what the agent typed
/// when a reply was refused.
async fn ticket_context(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
    ticket: &TicketRow,
    draft: Option<String>,
    canned: Option<i64>,
) -> Result<minijinja::Value, DeskError> {
    let others = console_ops::present(app, agent, ticket.id).await?;
    let messages = store::messages(app.store.read(), ticket.id, true).await?;
    let events = store::events(app.store.read(), ticket.id).await?;
    let mut ids: Vec<i64> = messages
        .iter()
        .filter_map(|m| m.author_account_id)
        .chain(events.iter().filter_map(|e| e.actor_account_id))
        .chain(ticket.assignee_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names = console_store::names(app.store.read(), &ids).await?;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| names.iter().find(|(n, _)| *n == id))
            .map(|(_, name)| name.clone())
    };
    let mut lines: Vec<Line> = Vec::new();
    for m in messages {
        let (at, at_text) = text_at(viewer, m.created_at);
        let kind = match (m.author_kind.as_str(), m.public) {
            (_, false) => "note",
            ("requester", _) => "requester",
            _ => "agent",
        };
        lines.push(Line {
            kind: kind.into(),
            author: name_of(m.author_account_id),
            body: m.body,
            detail: None,
            event: None,
            at,
            at_text,
            order: (m.created_at, 0),
        });
    }
    for e in &events {
        // Replies and notes are already lines of their own.
        if e.kind == "replied" || e.kind == "noted" {
            continue;
        }
        let (at, at_text) = text_at(viewer, e.at);
        lines.push(Line {
            kind: "event".into(),
            author: name_of(e.actor_account_id),
            body: String::new(),
            detail: Some(e.detail.clone()).filter(|d| d != "{}"),
            event: Some(event_name(&e.kind).to_string()),
            at,
            at_text,
            order: (e.at, 1),
        });
    }
    lines.sort_by_key(|l| l.order);
    let tags = console_store::tags(app.store.read(), ticket.id).await?;
    let agents = console_store::agents(app.store.read()).await?;
    let canned_list = library::canned_list(app).await?;
    let macros = library::macro_list(app).await?;
    let draft = match (draft, canned) {
        (Some(draft), _) => Some(draft),
        (None, Some(id)) => Some(library::use_canned(app, agent, ticket, id).await?),
        (None, None) => None,
    };
    let context = support_api::context_answer(app, ticket).await?;
    let live = context.live.as_ref().map(|live| {
        context! {
            lock => live.lock.as_ref().map(|l| context! {
                until_text => l.until.map(|ms| viewer.when(ms).text),
                for_support => l.for_support,
                cause => l.cause.clone(),
                reference => l.reference,
            }),
            two_factor => live.two_factor,
            passkeys => live.passkeys,
            devices => rows(viewer, &live.devices, &["id", "name", "platform", "signed_in", "last_country"], "last_seen_at"),
            attempts => rows(viewer, &live.attempts, &["ip", "country", "outcome", "decision"], "at"),
            deliveries => rows(viewer, &live.deliveries, &["purpose", "channel", "destination", "status"], "created_at"),
        }
    });
    let now = now_ms();
    let latest = console_store::latest_verification(app.store.read(), ticket.id).await?;
    let verified = latest.as_ref().is_some_and(|(_, _, status, passed_at)| {
        status == "passed" && passed_at.is_some_and(|at| at >= now - verification::VALID_MS)
    });
    let pending = latest
        .filter(|(_, _, status, _)| status == "pending")
        .map(|(id, destination, _, _)| context! { id => id, destination => destination });
    let triage: Json = serde_json::from_str(&ticket.triage).unwrap_or_default();
    let fields: std::collections::BTreeMap<String, Json> =
        serde_json::from_str(&ticket.fields).unwrap_or_default();
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    Ok(context! {
        ticket => context! {
            reference => crate::desk::api::formatted(&ticket.reference),
            subject => ticket.subject.clone(),
            status => ticket.status.clone(),
            priority => ticket.priority.clone(),
            category => ticket.category.clone(),
            urgent => ticket.urgent,
            completeness => ticket.completeness,
            channel => ticket.channel.clone(),
            language => ticket.language.clone(),
            assignee => ticket.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
            assignee_name => name_of(ticket.assignee_id),
            closed => ticket.status == "closed",
        },
        triage => context! {
            confidence => triage.get("confidence").and_then(Json::as_f64).map(|c| (c * 100.0).round() as i64),
            decided_by => triage.get("decided_by").and_then(Json::as_str).map(str::to_string),
            category => triage.get("category").and_then(Json::as_str).map(str::to_string),
            chosen_by_requester => triage.get("chosen_by_requester").and_then(Json::as_bool).unwrap_or(false),
        },
        answers => fields,
        lines => lines,
        tags => tags.join(", "),
        tag_list => tags,
        others => others,
        agents => agents.iter().map(|(id, name)| context! { id => id.to_string(), name => name }).collect::<Vec<_>>(),
        canned => canned_list.iter().map(|c| context! { id => c.id, name => c.name.clone() }).collect::<Vec<_>>(),
        macros => macros.iter().map(|m| context! { id => m.id, name => m.name.clone() }).collect::<Vec<_>>(),
        draft => draft,
        live => live,
        account_proved => context.account_proved,
        has_snapshot => context.snapshot.is_some(),
        verified => verified,
        pending => pending,
        ..choices()
    })
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

/// After a POST: back to the ticket with what was done, or the page again
/// with the refusal (the alert says what, the draft is kept).
async fn answer(
    app: &App,
    viewer: &Viewer,
    agent: &Current,
    ticket: &TicketRow,
    result: Result<&str, DeskError>,
    draft: Option<String>,
    fields: &[&str],
) -> Response {
    let error = match result {
        Ok(done) => return see_other(&url_with(&path_of(ticket), &[("done", done)])),
        Err(error) => error,
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
    let now = match service::visible(app, agent, &ticket.reference).await {
        Ok((now, _)) => now,
        Err(error) => return problem_page(viewer, error),
    };
    match ticket_context(app, viewer, agent, &now, draft, None).await {
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let body = form.get("body").cloned().unwrap_or_default();
    let public = form.get("visibility").map(String::as_str) != Some("internal");
    let changes = Changes {
        status: given(&form, "status_after"),
        ..Changes::default()
    };
    let seen = as_seen(&ticket, &form);
    let result =
        console_ops::reply_and_set(&app, &agent, &seen, Some((&body, public)), changes).await;
    let done = if public { "replied" } else { "noted" };
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result.map(|()| done),
        Some(body),
        &["body", "status_after"],
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = async {
        let seen = as_seen(&ticket, &form);
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
        let seen_tags = console_ops::parse_tags(form.get("seen_tags").map_or("", String::as_str))?;
        let changes = Changes {
            status: differs("status", &seen.status),
            priority: differs("priority", &seen.priority),
            category: differs("category", &seen.category),
            assign,
        };
        console::update(&app, &agent, &seen, changes).await?;
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
        console_ops::change_tags(&app, &agent, ticket.id, &add, &remove).await?;
        Ok::<_, DeskError>("fields")
    }
    .await;
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result,
        None,
        &["status", "priority", "category", "assignee", "tags"],
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let seen = as_seen(&ticket, &form);
    let result = match given(&form, "macro").and_then(|m| m.parse::<i64>().ok()) {
        Some(id) => library::apply_macro(&app, &agent, &seen, id).await,
        None => Err(DeskError::field("macro", "required")),
    };
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result.map(|()| "macro"),
        None,
        &["macro"],
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = verification::start(&app, &agent, &ticket).await;
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result.map(|_| "verification_started"),
        None,
        &[],
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return problem_page(&viewer, DeskError::NotFound);
    };
    let code = form
        .get("code")
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let result = verification::check(&app, &agent, &ticket, id, &code).await;
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result.map(|()| "verified"),
        None,
        &["code"],
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
    let (agent, ticket) = match open_ticket(&app, &viewer, &reference).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let device = given(&form, "device_id").and_then(|d| d.parse::<i64>().ok());
    let action = match (given(&form, "action").as_deref(), device) {
        (Some("unlock"), _) => Ok(SupportAction::Unlock),
        (Some("reset_two_factor"), _) => Ok(SupportAction::ResetTwoFactor),
        (Some("end_sessions"), _) => Ok(SupportAction::EndSessions),
        (Some("remove_device"), Some(device)) => Ok(SupportAction::RemoveDevice(device)),
        (Some("remove_device"), None) => Err(DeskError::field("device_id", "required")),
        _ => Err(DeskError::field("action", "invalid_value")),
    };
    let reason = form.get("reason").cloned().unwrap_or_default();
    let result = match action {
        Ok(action) => {
            verification::act(
                &app,
                &agent,
                &ticket,
                action,
                &reason,
                &client.ip.to_string(),
            )
            .await
        }
        Err(error) => Err(error),
    };
    answer(
        &app,
        &viewer,
        &agent,
        &ticket,
        result.map(|()| "action"),
        None,
        &["reason"],
    )
    .await
}
