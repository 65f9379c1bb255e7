//! Delivery records over HTTP: the development outbox for administrators,
//! the delivery log support reads, and the SMS provider's status callback.

use crate::http::auth::{Staff, ADMIN, AGENT};
use crate::http::json::ApiQuery;
use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::state::App;
use crate::store::now_ms;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::sync::Arc;

/// One delivery attempt as support sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub account_id: Option<i64>,
    pub purpose: String,
    /// `email` or `sms`.
    pub channel: String,
    pub destination: String,
    pub subject: String,
    /// `queued`, `sending`, `sent`, `failed` or `delivered`.
    pub status: String,
    /// `outbox`, `smtp` or `sms-http`; `held` for a notice held back and
    /// never sent (its `error` says why: the address bounced).
    pub provider: String,
    pub error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
    /// Only in the development outbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Reads outbox messages, newest first (for the API and the page).
pub async fn outbox_page(app: &App, query: &PageQuery) -> Result<Page<DeliveryView>, Problem> {
    let (before, limit) = query.bounds()?;
    let items = super::store::outbox(&app.store, &app.key, before, limit + 1)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(page(items, limit, |d| d.id))
}

/// The development outbox: messages that would have been sent. Administrators only.
#[utoipa::path(get, path = "/api/v1/admin/outbox", tag = "delivery", security(("bearer" = []), ("session_cookie" = [])), params(PageQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 401), (status = 403)))]
pub async fn outbox(
    State(app): State<Arc<App>>,
    _admin: Staff<ADMIN>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<DeliveryView>>, Problem> {
    outbox_page(&app, &query).await.map(Json)
}

/// Filter for the delivery log.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct DeliveryFilter {
    /// Only deliveries for this account.
    pub account_id: Option<i64>,
    /// Only deliveries to this phone (E.164) or email.
    pub destination: Option<String>,
    /// Opaque cursor from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Every delivery attempt with its status: what support reads when a code "never came".
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "delivery", security(("bearer" = []), ("session_cookie" = [])), params(DeliveryFilter),
    responses((status = 200, body = Page<DeliveryView>), (status = 401), (status = 403)))]
pub async fn log(
    State(app): State<Arc<App>>,
    _agent: Staff<AGENT>,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> Result<Json<Page<DeliveryView>>, Problem> {
    let (before, limit) = PageQuery {
        cursor: filter.cursor.clone(),
        limit: filter.limit,
    }
    .bounds()?;
    let destination = match filter.destination.as_deref() {
        Some(d) => Some(
            koban_policy::contact::parse_identifier(d, None)
                .map_err(|p| Problem::field("destination", p.code()))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let items = super::store::log(
        &app.store,
        before,
        filter.account_id.unwrap_or(-1),
        destination.unwrap_or_default(),
        limit + 1,
    )
    .await
    .map_err(|e| Problem::internal(&e))?;
    Ok(Json(page(items, limit, |d| d.id)))
}

/// A delivery report from the SMS provider.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct SmsStatus {
    /// The provider's message id (or our reference).
    pub id: String,
    pub status: ReportedStatus,
    pub error: Option<String>,
}

choices! {
    /// What the provider says became of a message.
    pub enum ReportedStatus {
        Delivered = "delivered",
        Failed = "failed",
    }
}

/// The SMS provider's delivery-status callback, signed like our requests.
#[utoipa::path(post, path = "/api/v1/deliveries/sms-status", tag = "delivery", request_body = SmsStatus,
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub async fn sms_status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let signature = headers
        .get(super::sms::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !super::senders(&app).sms.verify_callback(&body, signature) {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-signature",
            "problem-bad-signature",
        ));
    }
    let report: SmsStatus = crate::http::json::parse(&body)?;
    let (status, delivered_at) = match report.status {
        ReportedStatus::Delivered => ("delivered", Some(now_ms())),
        ReportedStatus::Failed => ("failed", None),
    };
    let mut error: Option<String> = report.error.map(|e| e.chars().take(500).collect());
    if status == "failed" && error.as_deref().is_none_or(str::is_empty) {
        // Support reads the reason; never leave a failure without one.
        error = Some("the SMS provider reported the message as not delivered".into());
    }
    // The provider names the message by its own id, or by our reference
    // (`koban-delivery-N`) when it reports before we recorded its id.
    let by_reference = report
        .id
        .strip_prefix("koban-delivery-")
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(-1);
    let found = super::store::find_sms(&app.store, &report.id, by_reference)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let Some(id) = found else {
        return Err(Problem::not_found());
    };
    // Only a message on its way changes; a repeated or late report about one
    // already delivered or failed is acknowledged and changes nothing, so a
    // provider retrying its callback does no harm.
    super::store::record_report(&app.store, id, status, delivered_at, error, now_ms())
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}
