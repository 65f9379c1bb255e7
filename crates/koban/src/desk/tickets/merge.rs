//! Merging a ticket into another (the duplicate is closed and points to the
//! survivor; its conversation stays readable; its requester is told) and
//! splitting messages off into a new ticket. Agents only; each records
//! events on both tickets.

use crate::accounts::sessions::{Authenticated, Current};
use crate::desk::error::DeskError;
use crate::desk::store::{self, merge as rows, NewMessage, NewTicket, TicketRow};
use crate::desk::tickets::service::{self, Standing};
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::sync::Arc;

/// Where a ticket goes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskMergeRequest {
    /// The surviving ticket's reference number.
    #[schema(max_length = 40)]
    pub into: String,
    /// Required when the two tickets have different requesters.
    #[serde(default)]
    pub confirm_different_requester: bool,
}

/// What a merge or split did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskMerged {
    /// The ticket the conversation continues in (the survivor, or the new
    /// ticket of a split).
    #[schema(example = "2612-0345-678")]
    pub reference: String,
}

/// The ticket for an agent: whoever may not see it is told it does not
/// exist, its requester 403.
async fn for_agent(app: &App, current: &Current, reference: &str) -> Result<TicketRow, DeskError> {
    match service::visible(app, current, reference).await? {
        (ticket, Standing::Agent) => Ok(ticket),
        (_, Standing::Requester) => Err(DeskError::Forbidden),
    }
}

/// Merges the ticket into another: it is closed, points to the survivor,
/// and its requester is told where the conversation continues.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/merge", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "The ticket merged away")),
    request_body = DeskMergeRequest,
    responses((status = 200, body = DeskMerged), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn merge(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<DeskMergeRequest>,
) -> Result<Json<DeskMerged>, Problem> {
    let source = for_agent(&app, &current, &reference).await?;
    let target_reference = service::parse_reference(&input.into)
        .map_err(|_| DeskError::field("into", "reference_check_digit"))?;
    let target = store::ticket_by_reference(app.store.read(), &target_reference)
        .await
        .map_err(DeskError::from)?
        .ok_or_else(|| DeskError::field("into", "ticket_unknown"))?;
    if target.id == source.id {
        return Err(DeskError::field("into", "merge_into_self").into());
    }
    if source.status == "closed" {
        return Err(DeskError::Closed.into());
    }
    if target.status == "closed"
        || rows::merged_into(app.store.read(), target.id)
            .await
            .map_err(DeskError::from)?
            .is_some()
    {
        return Err(DeskError::Conflict("merge-target-closed").into());
    }
    let same_requester = source.requester_account_id == target.requester_account_id
        && source.requester_contact_id == target.requester_contact_id;
    if !same_requester && !input.confirm_different_requester {
        return Err(DeskError::Conflict("merge-different-requester").into());
    }
    merge_tickets(&app, &current, &source, &target).await?;
    Ok(Json(DeskMerged {
        reference: crate::desk::tickets::api::formatted(&target.reference),
    }))
}

async fn merge_tickets(
    app: &App,
    current: &Current,
    source: &TicketRow,
    target: &TicketRow,
) -> Result<(), DeskError> {
    let now = now_ms();
    let actor = Some(current.account.id);
    let from = crate::desk::tickets::api::formatted(&source.reference);
    let into = crate::desk::tickets::api::formatted(&target.reference);
    let mut tx = app.store.write().begin().await?;
    if !rows::set_merged(&mut tx, source.id, target.id, now).await? {
        return Err(DeskError::Taken);
    }
    store::insert_event(
        &mut tx,
        source.id,
        actor,
        "merged",
        &serde_json::json!({ "into": into }),
        now,
    )
    .await?;
    store::insert_event(
        &mut tx,
        target.id,
        actor,
        "merged_from",
        &serde_json::json!({ "from": from }),
        now,
    )
    .await?;
    // A note for the agents of the survivor, in its language.
    let lang = Lang::parse(&target.language).unwrap_or(Lang::En);
    let note = t(lang, "desk-merged-note", &[("reference", from.clone())]);
    store::insert_message(
        &mut tx,
        NewMessage {
            ticket_id: target.id,
            author_account_id: None,
            author_kind: "system",
            public: false,
            body: &note,
            original_sealed: None,
            now,
        },
    )
    .await?;
    store::touch(&mut tx, target.id, now).await?;
    crate::desk::tickets::notify::merged(app, &mut tx, source, &into).await?;
    tx.commit().await?;
    Ok(())
}

/// Messages split off.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskSplitRequest {
    /// Ids of this ticket's messages (from the ticket's `messages`) to move
    /// to the new ticket; at least one must stay behind.
    #[schema(min_items = 1, max_items = 100)]
    pub message_ids: Vec<i64>,
}

/// Moves messages (and their files) into a new ticket with the same
/// requester, category and language; both tickets record the split.
#[utoipa::path(post, path = "/api/v1/desk/tickets/{reference}/split", tag = "desk",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("reference" = String, Path, description = "The ticket split")),
    request_body = DeskSplitRequest,
    responses((status = 201, body = DeskMerged), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn split(
    State(app): State<Arc<App>>,
    Authenticated(current): Authenticated,
    ApiPath(reference): ApiPath<String>,
    ApiJson(input): ApiJson<DeskSplitRequest>,
) -> Result<(StatusCode, Json<DeskMerged>), Problem> {
    let source = for_agent(&app, &current, &reference).await?;
    if source.status == "closed" {
        return Err(DeskError::Closed.into());
    }
    let mut ids = input.message_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > 100 {
        return Err(DeskError::field("message_ids", "invalid_value").into());
    }
    let reference = split_off(&app, &current, &source, &ids).await?;
    Ok((StatusCode::CREATED, Json(DeskMerged { reference })))
}

async fn split_off(
    app: &App,
    current: &Current,
    source: &TicketRow,
    ids: &[i64],
) -> Result<String, DeskError> {
    let now = now_ms();
    let actor = Some(current.account.id);
    let mut tx = app.store.write().begin().await?;
    let present = rows::message_ids(&mut tx, source.id).await?;
    if ids.iter().any(|id| !present.contains(id)) {
        return Err(DeskError::field("message_ids", "unknown_message"));
    }
    if ids.len() >= present.len() {
        return Err(DeskError::field("message_ids", "split_all_messages"));
    }
    let (id, number) = service::insert_with_fresh_reference(
        &mut tx,
        NewTicket {
            reference: "",
            subject: &source.subject,
            status: "open",
            priority: &source.priority,
            category: &source.category,
            urgent: source.urgent,
            channel: &source.channel,
            requester_account_id: source.requester_account_id,
            requester_contact_id: source.requester_contact_id,
            language: &source.language,
            region: source.region.as_deref(),
            time_zone: source.time_zone.as_deref(),
            fields: &source.fields,
            completeness: source.completeness,
            triage: &source.triage,
            follow_up_of: None,
            team: None,
            tier: &source.tier,
            organization_id: source.organization_id,
            now,
        },
    )
    .await?;
    rows::move_messages(&mut tx, source.id, id, ids).await?;
    let new_reference = koban_policy::desk::reference::format(number);
    let from = crate::desk::tickets::api::formatted(&source.reference);
    store::insert_event(
        &mut tx,
        id,
        actor,
        "created",
        &serde_json::json!({ "split_from": from, "messages": ids }),
        now,
    )
    .await?;
    store::insert_event(
        &mut tx,
        source.id,
        actor,
        "split",
        &serde_json::json!({ "into": new_reference, "messages": ids }),
        now,
    )
    .await?;
    store::touch(&mut tx, source.id, now).await?;
    tx.commit().await?;
    Ok(new_reference)
}

/// When the ticket was merged: the survivor's reference number.
pub async fn survivor_reference(app: &App, ticket: &TicketRow) -> Result<Option<String>, Problem> {
    let internal = |e: crate::store::StoreError| Problem::internal(&e);
    let Some(into) = rows::merged_into(app.store.read(), ticket.id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    Ok(rows::reference_of(app.store.read(), into)
        .await
        .map_err(internal)?
        .map(|r| crate::desk::tickets::api::formatted(&r)))
}
