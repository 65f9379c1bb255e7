//! Operations endpoints: liveness, readiness, metrics, the API document.

use crate::app::App;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and its schema is current.
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let database = sqlx::query("SELECT 1").execute(app.store.read()).await;
    let pending = app.store.pending_migrations().await;
    let body = |ready: bool, detail: String| serde_json::json!({ "status": if ready { "ready" } else { "not ready" }, "database": app.store.backend().name(), "detail": detail });
    match (database, pending) {
        (Ok(_), Ok(0)) => (StatusCode::OK, Json(body(true, "ok".into()))).into_response(),
        (Ok(_), Ok(n)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body(false, format!("{n} migrations pending"))),
        )
            .into_response(),
        (Err(e), _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body(false, format!("database: {e}"))),
        )
            .into_response(),
        (_, Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(body(false, e.to_string())),
        )
            .into_response(),
    }
}

/// Prometheus metrics.
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics.render(&app).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
