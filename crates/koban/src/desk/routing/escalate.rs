//! The requester's one escalation: with a reason, once per ticket; the
//! priority rises one step and both are recorded. The API and the
//! requester's ticket page call the same [`escalate`].

use crate::accounts::pages::explain_problem;
use crate::accounts::sessions::{Authenticated, Current, Viewing};
use crate::desk::error::DeskError;
use crate::desk::store::{self, TicketRow};
use crate::desk::tickets::service::{self, Standing};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use crate::store::now_ms;
use crate::web::{see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// Escalates the ticket for its requester: refused for staff (they change
/// the priority instead), on a closed ticket, and the second time.
pub async fn escalate(
    app: &App,
    current: &Current,
    ticket: &TicketRow,
    standing: Standing,
    reason: &str,
) -> Result<(), DeskError> {
    if standing != Standing::Requester {
        return Err(DeskError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DeskError::field("reason", "required"));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(DeskError::field("reason", "too_long"));
    }
    if let Err(problem) = koban_policy::text::check_visible(reason, true) {
        return Err(DeskError::field("reason", problem.code()));
    }
    if ticket.status == "closed" {
        return Err(DeskError::Closed);
    }
    let now = now_ms();
    let actor = Some(current.account.id);
    let mut tx = app.store.write().begin().await?;
    if !store::sla::escalate_once(&mut tx, ticket.id, reason, now).await? {
        tx.rollback().await?;
        return Err(DeskError::AlreadyEscalated);
    }
    let detail = serde_json::json!({ "reason": reason });
    store::insert_event(&mut tx, ticket.id, actor, "escalated", &detail, now).await?;
    crate::desk::routing::sla::raise_priority(&mut tx, ticket, actor, "requester_escalation", now)
        .await?;
    crate::desk::routing::sla::refresh(&mut tx, ticket.id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Why the requester escalates.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskEscalation {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Escalates a ticket, once, for its requester: the priority rises one
/// step. A second escalation answers 409; staff get 403.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/escalate", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "Reference number, with or without separators")),
    request_body = DeskEscalation,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn escalate_ticket(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<DeskEscalation>,
) -> Result<StatusCode, Problem> {
    let (ticket, standing) = service::visible(&app, &current, &reference).await?;
    escalate(&app, &current, &ticket, standing, &input.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /support/tickets/{reference}/escalate`: the page's Escalate form.
pub async fn escalate_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    headers: axum::http::HeaderMap,
    Path(reference): Path<String>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        let back = crate::desk::tickets::pages::back_to_request(&viewer.here);
        return see_other(&url_with("/signin", &[("next", back)]));
    };
    let reason = form.get("reason").cloned().unwrap_or_default();
    let result = async {
        let (ticket, standing) = service::visible(&app, &current, &reference).await?;
        escalate(&app, &current, &ticket, standing, &reason).await?;
        Ok::<_, DeskError>(crate::desk::tickets::api::formatted(&ticket.reference))
    }
    .await;
    match result {
        Ok(formatted) => see_other(&format!("/support/tickets/{formatted}")),
        Err(error) => {
            match explain_problem(&viewer, Problem::from(error), &["reason"]) {
                Ok(feedback) => {
                    match crate::desk::tickets::pages::request_context(
                        &app, &viewer, &headers, &reference,
                    )
                    .await
                    {
                        // The reason stays in the form, to be corrected.
                        Ok(page) => crate::accounts::pages::refused(
                            &viewer,
                            "support_ticket.html",
                            feedback,
                            context! { kept => context! { reason => reason }, ..page },
                        ),
                        Err(response) => response,
                    }
                }
                // A server failure's own page, not "not found".
                Err(response) => response,
            }
        }
    }
}
