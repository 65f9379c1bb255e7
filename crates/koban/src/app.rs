//! Wiring: configuration → state → router → workers.

use crate::accounts::password_hash::PasswordHasher;
use crate::config::Config;
use crate::crypto::ServerKey;
use crate::delivery::Senders;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::http::{csrf, idempotency, metrics, problem, rate_limit};
use crate::store::Store;
use crate::{accounts, delivery, ops, security};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Everything a request handler or job can reach.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub key: ServerKey,
    pub hasher: PasswordHasher,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    pub senders: Senders,
    /// Poked when this process enqueues a job, so the worker starts at once.
    pub jobs_wakeup: Notify,
    /// Names this process in job leases.
    pub node_id: String,
    /// Risk thresholds, trusted proxies and the geo database.
    pub security: crate::security::Settings,
    /// Refusals the database decided, remembered for a few seconds.
    pub refusals: crate::security::refusals::RefusalCache,
    /// The login history's group-commit writer.
    pub attempt_log: crate::security::history::AttemptLog,
    /// Sends the sign-ins' reads, together while the hashers have a queue.
    pub sign_in_reads: crate::security::gather::Gatherer,
    /// The WebAuthn relying party passkeys are registered with.
    pub passkeys: crate::security::passkeys::RelyingParty,
}

/// Why Koban could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Key(#[from] crate::crypto::KeyError),
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

impl App {
    /// Connects to the database, applies migrations and loads the server key.
    pub async fn start(config: Config) -> Result<Arc<App>, StartError> {
        // Settings are checked before anything is created on disk, so a typo
        // in the configuration leaves no half-made database behind.
        let prepared = Prepared::from_config(&config)?;
        let key = ServerKey::load_or_create(std::path::Path::new(&config.data_dir))?;
        let store = Store::connect(&config.database_url, config.database_max_connections).await?;
        store.migrate().await?;
        Ok(prepared.into_app(config, store, key))
    }

    /// Builds the state from parts already opened (tests use this with their own database).
    pub fn assemble(config: Config, store: Store, key: ServerKey) -> Result<Arc<App>, StartError> {
        Ok(Prepared::from_config(&config)?.into_app(config, store, key))
    }
}

/// What is built from the configuration alone, before any I/O.
struct Prepared {
    hasher: PasswordHasher,
    senders: Senders,
    security: crate::security::Settings,
    passkeys: crate::security::passkeys::RelyingParty,
}

impl Prepared {
    fn from_config(config: &Config) -> Result<Prepared, StartError> {
        let hasher = PasswordHasher::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
        )
        .map_err(|e| StartError::Config(format!("argon2 parameters: {e}")))?;
        let senders = Senders::from_config(config).map_err(StartError::Config)?;
        let security =
            crate::security::Settings::from_config(config).map_err(StartError::Config)?;
        let passkeys = crate::security::passkeys::RelyingParty::from_config(config)
            .map_err(StartError::Config)?;
        Ok(Prepared {
            hasher,
            senders,
            security,
            passkeys,
        })
    }

    fn into_app(self, config: Config, store: Store, key: ServerKey) -> Arc<App> {
        crate::http::set_body_limit(config.max_body_bytes);
        Arc::new(App {
            limiter: RateLimiter::new(
                config.rate_limit_ip_per_minute,
                config.rate_limit_account_per_minute,
            ),
            node_id: format!("{}-{}", std::process::id(), crate::crypto::random_token(6)),
            refusals: crate::security::refusals::RefusalCache::new(
                config.risk_refusal_cache_seconds.saturating_mul(1000),
            ),
            attempt_log: crate::security::history::AttemptLog::new(store.clone()),
            sign_in_reads: crate::security::gather::Gatherer::new(
                store.clone(),
                self.hasher.clone(),
            ),
            config,
            store,
            key,
            hasher: self.hasher,
            metrics: Metrics::default(),
            senders: self.senders,
            jobs_wakeup: Notify::new(),
            security: self.security,
            passkeys: self.passkeys,
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Koban API", description = "Support desk and account-security center. Errors are RFC 9457 problem documents; lists use cursor pagination; creating POSTs accept Idempotency-Key."),
    tags((name = "accounts", description = "Sign-up, verification, sign-in, sessions, passwords"),
         (name = "delivery", description = "Outbound messages and their delivery status"),
         (name = "security", description = "Sign-in steps, devices, login history, two-factor authentication, step-up"))
)]
struct ApiDoc;

/// The API routes with their complete OpenAPI document: what the handlers
/// declare, then what every operation shares (`http::openapi`).
pub fn api() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    use utoipa::Modify;
    let (routes, mut document) = routes().split_for_parts();
    crate::http::openapi::Conventions.modify(&mut document);
    (routes, document)
}

/// The API routes with the handlers' own part of the document. Routes are
/// only ever added here through `routes!`, which registers the path in the
/// document too.
fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::api::register))
        .routes(routes!(accounts::api::send_code))
        .routes(routes!(accounts::api::confirm))
        .routes(routes!(
            accounts::api::sign_in,
            accounts::api::sign_out_everywhere
        ))
        .routes(routes!(accounts::api::sign_out))
        .routes(routes!(accounts::api::me))
        .routes(routes!(accounts::api::change_password))
        .routes(routes!(accounts::api::reset_password))
        .routes(routes!(delivery::api::outbox))
        .routes(routes!(delivery::api::log))
        .routes(routes!(delivery::api::sms_status))
        .routes(routes!(security::api::second_factor))
        .routes(routes!(security::api::device_limit))
        .routes(routes!(security::api::list_devices))
        .routes(routes!(
            security::api::rename_device,
            security::api::remove_device
        ))
        .routes(routes!(security::api::sign_out_others))
        .routes(routes!(security::api::login_history))
        .routes(routes!(security::api::security_events))
        .routes(routes!(security::api::totp_begin))
        .routes(routes!(security::api::totp_confirm))
        .routes(routes!(security::api::totp_disable))
        .routes(routes!(security::api::recovery_codes))
        .routes(routes!(security::api::step_up))
        .routes(routes!(security::api::step_up_code))
        .routes(routes!(
            security::api::list_passkeys,
            security::api::add_passkey
        ))
        .routes(routes!(security::api::passkey_registration_options))
        .routes(routes!(
            security::api::rename_passkey,
            security::api::remove_passkey
        ))
        .routes(routes!(security::api::passkey_sign_in_options))
        .routes(routes!(security::api::passkey_second_factor))
        .routes(routes!(security::api::passkey_step_up_options))
        .routes(routes!(security::api::passkey_step_up))
        .routes(routes!(security::api::unlock_code))
        .routes(routes!(security::api::unlock_confirm))
        .routes(routes!(security::api::unlock_passkey_options))
        .routes(routes!(security::api::support_action))
        .routes(routes!(security::api::reminders))
        .routes(routes!(security::api::contact_change))
        .routes(routes!(security::api::contact_change_confirm))
}

#[derive(Clone)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        axum::http::HeaderValue::from_str(&crate::crypto::random_token(12))
            .ok()
            .map(RequestId::new)
    }
}

/// The whole HTTP surface with its middleware.
pub fn router(app: Arc<App>) -> Router {
    let (api, document) = api();
    let document = Arc::new(document);
    let request_id = HeaderName::from_static("x-request-id");
    let limit = app.config.max_body_bytes;
    Router::new()
        .merge(api)
        .route("/api/openapi.json", get(move || async move { Json(document.as_ref().clone()) }))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(crate::web::pages::router())
        .fallback(|| async { problem::Problem::not_found().into_response() })
        .layer(middleware::from_fn_with_state(app.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(app.clone(), idempotency::layer))
        .layer(middleware::from_fn_with_state(app.clone(), rate_limit::per_ip))
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(app.config.request_timeout_seconds),
        ))
        .layer(middleware::from_fn_with_state(app.clone(), metrics::track))
        .layer(middleware::from_fn(problem::render))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                })
                // One line per request at the default level, carrying the span's request id.
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RandomRequestId))
        .with_state(app)
}

/// Runs the server and the job worker until SIGTERM or Ctrl-C, then drains.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.listen.clone();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: addr.clone(),
            source,
        })?;
    let app = App::start(config).await?;
    run(app, listener, shutdown_signal()).await;
    Ok(())
}

/// Serves on `listener` until `shutdown` completes.
pub async fn run(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(crate::jobs::worker::run(app.clone(), stop_rx));
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(listen = %local, database = app.store.backend().name(), "Koban is serving");
    let served = axum::serve(
        listener,
        router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    if let Err(error) = served {
        tracing::error!(%error, "server stopped");
    }
    let _ = stop_tx.send(true);
    let _ = worker.await;
    // Refusals answered from memory may still be on their way to the history.
    if let Err(error) = app.attempt_log.flush().await {
        tracing::error!(%error, "login history not fully written");
    }
    app.store.close().await;
    tracing::info!("stopped");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
