//! The console page of the mails no rule could place (`/desk/mail`): the
//! same list and the same three decisions as the API, for agents.

use super::review::{self, PlaceError, Placement};
use crate::desk::console::pages::agent_of;
use crate::state::App;
use crate::web::{render, see_other, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Mails one page lists.
const PAGE_SIZE: i64 = 50;

/// Routes of the page.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/desk/mail", get(mail_page))
        .route("/desk/mail/{id}/place", post(place))
}

type Posted = BTreeMap<String, String>;

/// `GET /desk/mail?status=all`: what waits, or every mail.
async fn mail_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    show(&app, &viewer, query.get("status").map(String::as_str), None).await
}

async fn show(app: &App, viewer: &Viewer, filter: Option<&str>, refusal: Option<&str>) -> Response {
    if let Err(response) = agent_of(viewer) {
        return response;
    }
    let all = filter == Some("all");
    let statuses: &[&str] = if all { &review::ALL } else { &review::WAITING };
    let rows = match review::list(app, statuses, i64::MAX, PAGE_SIZE).await {
        Ok(rows) => rows,
        Err(error) => return crate::accounts::pages::internal(viewer, &error),
    };
    let grouped = |r: &str| crate::desk::tickets::api::formatted(r);
    let mails: Vec<minijinja::Value> = rows
        .iter()
        .map(|(m, related)| {
            let when = viewer.when(m.received_at);
            let d = &m.detail;
            context! {
                id => m.id,
                status => m.status,
                sender => m.sender,
                subject => d["subject"].as_str(),
                at => when.iso,
                at_text => when.text,
                ticket => m.ticket_reference.as_deref().map(grouped),
                related => related.as_deref().map(grouped),
                clue => d["clue"].as_str(),
                spoofed => d["spoofed"].as_bool().unwrap_or(false),
                error => d["error"].as_str(),
                placeable => review::PLACEABLE.contains(&m.status.as_str()),
                discardable => review::PLACEABLE.contains(&m.status.as_str())
                    || matches!(m.status.as_str(), "unreadable" | "bounce"),
            }
        })
        .collect();
    let status = if refusal.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render::page(
        viewer,
        status,
        "desk_mail.html",
        context! { mails => mails, all => all, refusal => refusal },
    )
}

/// `POST /desk/mail/{id}/place`: `action` join (with `ticket`), open or discard.
async fn place(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let agent = match agent_of(&viewer) {
        Ok(agent) => agent,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found");
    };
    let ticket = form
        .get("ticket")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty());
    let placement = match (form.get("action").map(String::as_str), ticket) {
        (Some("join"), Some(ticket)) => Placement::Join(ticket.to_string()),
        (Some("join"), None) => {
            return show(&app, &viewer, None, Some("mail-ticket-required")).await
        }
        (Some("open"), _) => Placement::Open,
        (Some("discard"), _) => Placement::Discard,
        _ => return render::error(&viewer, StatusCode::BAD_REQUEST, "problem-validation"),
    };
    match review::place(&app, agent.account.id, id, placement).await {
        Ok(_) => see_other("/desk/mail"),
        Err(PlaceError::NotFound) => {
            render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found")
        }
        Err(PlaceError::Placed) => show(&app, &viewer, None, Some("problem-mail-placed")).await,
        Err(PlaceError::NoTicket) => show(&app, &viewer, None, Some("mail-ticket-unknown")).await,
        Err(PlaceError::Email(error)) => crate::accounts::pages::internal(&viewer, &error),
    }
}
