//! `POST /api/v1/desk/tickets/bulk`: one change to up to 100 tickets, each
//! ticket reported on its own, through the same service as the queue page.

use crate::accounts::sessions::Authenticated;
use crate::desk::console::api::TicketChanges;
use crate::desk::console::bulk::{self, BulkChange, MAX_BULK, MAX_BULK_TAGS};
use crate::http::json::ApiJson;
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// Tickets to change and the change, the same as for one ticket.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskBulkRequest {
    /// 1 to 100 tickets, each by reference number.
    #[schema(min_items = 1, max_items = 100)]
    pub tickets: Vec<DeskBulkTicket>,
    /// The fields to change on each ticket, as `PATCH /api/v1/desk/tickets/{reference}` takes them.
    #[serde(default)]
    pub changes: Option<TicketChanges>,
    /// Tags to add to each ticket (up to 20).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub add_tags: Vec<String>,
    /// Tags to remove from each ticket (up to 20).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub remove_tags: Vec<String>,
}

/// One ticket of a bulk change.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskBulkTicket {
    #[schema(example = "2612-0345-678")]
    pub reference: String,
    /// The ticket's `updated_at` as the caller last saw it: when it moved
    /// since, the ticket is left alone and reported as `conflict`.
    pub updated_at: Option<i64>,
}

/// What a bulk change did, one result per ticket in the order asked.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskBulkResults {
    pub results: Vec<DeskBulkResult>,
}

/// What a bulk change did to one ticket.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskBulkResult {
    #[schema(example = "2612-0345-678")]
    pub reference: String,
    /// `ok`, `not_found`, `conflict` (changed by someone else, or another
    /// agent has it: nothing changed), `ticket_closed`, `invalid` (not
    /// allowed from its state; see `errors`) or `forbidden`.
    #[schema(example = "ok")]
    pub result: &'static str,
    /// Why an `invalid` ticket was refused, by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DeskBulkFieldError>,
}

/// One refused field of one ticket.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskBulkFieldError {
    pub field: String,
    pub code: &'static str,
}

/// Changes up to 100 tickets at once (agents): each ticket as a single
/// change would, all or nothing per ticket, each reported.
#[utoipa::path(post, path = "/api/v1/desk/tickets/bulk", tag = "desk", security(("bearer" = []), ("session_cookie" = [])),
    request_body = DeskBulkRequest,
    responses((status = 200, body = DeskBulkResults), (status = 401), (status = 403), (status = 422)))]
pub async fn bulk(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiJson(input): ApiJson<DeskBulkRequest>,
) -> Result<Json<DeskBulkResults>, Problem> {
    if !current.account.has_role("agent") {
        return Err(Problem::forbidden());
    }
    // Sizes before anything is looked up, so a wrong request costs nothing.
    if input.tickets.is_empty() {
        return Err(Problem::field("tickets", "required"));
    }
    if input.tickets.len() > MAX_BULK {
        return Err(Problem::field("tickets", "too_many"));
    }
    if input.add_tags.len() > MAX_BULK_TAGS {
        return Err(Problem::field("add_tags", "too_many"));
    }
    if input.remove_tags.len() > MAX_BULK_TAGS {
        return Err(Problem::field("remove_tags", "too_many"));
    }
    let changes = match input.changes {
        Some(changes) => changes.into_changes()?,
        None => Default::default(),
    };
    let action = BulkChange {
        changes,
        add_tags: input.add_tags,
        remove_tags: input.remove_tags,
    }
    .checked(&app)
    .await?;
    let selection: Vec<(String, Option<i64>)> = input
        .tickets
        .into_iter()
        .map(|t| (t.reference, t.updated_at))
        .collect();
    let outcomes = bulk::bulk(&app, &current, &selection, &action).await?;
    let results = outcomes
        .into_iter()
        .map(|o| DeskBulkResult {
            reference: o.reference,
            result: o.result.code(),
            errors: o
                .errors
                .into_iter()
                .map(|e| DeskBulkFieldError {
                    field: e.field,
                    code: e.code,
                })
                .collect(),
        })
        .collect();
    Ok(Json(DeskBulkResults { results }))
}
