//! Operations endpoints: liveness, readiness, metrics, the API document.

use crate::state::App;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and its schema is current. One read per
/// probe; the cause of a failure goes to the log, not to whoever probes.
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let (ready, detail) = match app.store.pending_in_ledger(app.migrations()).await {
        Ok(0) => (true, "ok".to_string()),
        Ok(n) => (false, format!("{n} migrations pending")),
        Err(error) => {
            tracing::warn!(%error, "readiness probe: the database does not answer");
            (false, "database unavailable".to_string())
        }
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": app.store.backend().name(),
        "detail": detail,
    });
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(&app).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
