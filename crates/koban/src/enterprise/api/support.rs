//! The organization's support tickets.

use crate::enterprise::store::support::OrgTicket;
use crate::enterprise::support as service;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiPath, ApiQuery};
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct TicketsQuery {
    /// Only tickets not solved or closed.
    #[serde(default)]
    pub open: bool,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Every ticket opened on the organization's support line, newest first
/// (`support.read_all`): administrators follow what their people asked.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/tickets", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"), TicketsQuery),
    responses((status = 200, body = Page<OrgTicket>), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn tickets(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiQuery(query): ApiQuery<TicketsQuery>,
) -> Result<Json<Page<OrgTicket>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    }
    .bounds()?;
    let rows = service::tickets(&app, who.account_id(), org, query.open, before, limit).await?;
    Ok(Json(page(rows, limit, |t| t.id)))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    /// `audit` (the audit log, `audit.read`) or `devices` (members'
    /// devices, `devices.read`).
    #[schema(pattern = "^(audit|devices)$")]
    pub kind: String,
    /// `audit`: entries from this time (ms since the epoch); the last 7
    /// days when absent. At most 500 entries, newest first.
    #[serde(default)]
    pub since: Option<i64>,
    /// `devices`: one member's devices only.
    #[serde(default)]
    pub account: Option<i64>,
    /// The message the file comes with (up to 2,000 characters); a
    /// sentence naming the file when absent.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Attaches an audit-log excerpt or the members' device list, as a CSV
/// file, to one of the organization's tickets in one step
/// (`support.read_all` or the ticket's requester, and the permission of
/// what is attached).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/tickets/{reference}/evidence", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id"),
        ("reference" = String, Path, description = "The ticket's reference number")),
    request_body = EvidenceBody,
    responses((status = 201, body = crate::desk::tickets::service::MessageAdded), (status = 401), (status = 403),
        (status = 404, description = "no such ticket of this organization"),
        (status = 409, description = "the ticket was merged or is closed"), (status = 422), (status = 429)))]
pub async fn evidence(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    headers: axum::http::HeaderMap,
    ApiPath((org, reference)): ApiPath<(i64, String)>,
    crate::http::json::ApiJson(input): crate::http::json::ApiJson<EvidenceBody>,
) -> Result<
    (
        axum::http::StatusCode,
        Json<crate::desk::tickets::service::MessageAdded>,
    ),
    Problem,
> {
    use crate::enterprise::evidence::{self, Evidence};
    let kind = match input.kind.as_str() {
        "audit" => Evidence::Audit {
            since: input
                .since
                .unwrap_or_else(|| crate::store::now_ms() - 7 * 86_400_000),
        },
        "devices" => Evidence::Devices {
            account: input.account,
        },
        _ => return Err(Problem::field("kind", "invalid_value")),
    };
    if input
        .note
        .as_deref()
        .is_some_and(|n| n.chars().count() > 2000)
    {
        return Err(Problem::field("note", "too_long"));
    }
    let lang = crate::http::problem::request_lang(&headers);
    let added = evidence::attach(
        &app,
        who.account_id(),
        org,
        &reference,
        kind,
        input.note.as_deref(),
        lang,
    )
    .await?;
    Ok((axum::http::StatusCode::CREATED, Json(added)))
}

/// Whether the caller is mailed when support replies on the organization's tickets.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    pub subscribed: bool,
}

/// The caller's subscription to support's replies on every ticket of the
/// organization (`support.read_all`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/support-subscription", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = Subscription), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn subscription(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<Subscription>, Problem> {
    let subscribed = service::subscription(&app, who.account_id(), org).await?;
    Ok(Json(Subscription { subscribed }))
}

/// Subscribes the caller to an email whenever support replies on one of
/// the organization's tickets, or ends it (`support.read_all`; the mail
/// goes to the caller's verified email while they hold the permission).
#[utoipa::path(put, path = "/api/v1/orgs/{org}/support-subscription", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = Subscription,
    responses((status = 200, body = Subscription), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn subscribe(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    crate::http::json::ApiJson(input): crate::http::json::ApiJson<Subscription>,
) -> Result<Json<Subscription>, Problem> {
    let subscribed = service::subscribe(&app, who.account_id(), org, input.subscribed).await?;
    Ok(Json(Subscription { subscribed }))
}
