//! Wiring: configuration → state → router → workers. The only module that
//! knows every domain: it composes them through their [`Domain`] contract.

use crate::config::Config;
use crate::crypto::ServerKey;
use crate::domain::Domain;
use crate::http::{csrf, idempotency, metrics, problem, rate_limit};
use crate::ops;
use crate::state::{Parts, Wiring};
use crate::store::{Migration, Store, FOUNDATION};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use crate::state::App;

/// Every domain, lowest first: each may use the ones before it.
pub fn domains() -> Vec<Domain> {
    vec![
        crate::delivery::domain(),
        crate::accounts::domain(),
        crate::security::domain(),
        crate::audit::domain(),
        crate::desk::domain(),
        crate::channels::email::domain(),
        crate::enterprise::domain(),
        crate::announcements::domain(),
        crate::helpcenter::domain(),
        crate::privacy::domain(),
        crate::search::domain(),
    ]
}

/// Every migration: the foundation, the shared layers' and each domain's.
pub fn migrations() -> Vec<Migration> {
    let mut all: Vec<Migration> = FOUNDATION.to_vec();
    all.push(idempotency::MIGRATION);
    all.extend(domains().iter().flat_map(|d| d.migrations.iter().copied()));
    all.sort_by_key(|m| m.version);
    all
}

/// Brings the schema of `store` up to date; returns how many migrations ran.
pub async fn migrate(store: &Store) -> Result<usize, crate::store::StoreError> {
    store.migrate(&migrations()).await
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

/// Connects to the database, applies migrations and loads the server key.
pub async fn start(config: Config) -> Result<Arc<App>, StartError> {
    // Settings are checked before anything is created on disk, so a typo
    // in the configuration leaves no half-made database behind.
    check(&config)?;
    let key = ServerKey::load_or_create(std::path::Path::new(&config.data_dir))?;
    let store = Store::connect(&config.database_url, config.database_max_connections).await?;
    migrate(&store).await?;
    assemble(config, store, key)
}

/// Builds the state from parts already opened (tests use this with their own database).
pub fn assemble(config: Config, store: Store, key: ServerKey) -> Result<Arc<App>, StartError> {
    check(&config)?;
    crate::http::set_body_limit(config.max_body_bytes);
    let domains = domains();
    let sessions = match domains
        .iter()
        .filter_map(|d| d.sessions)
        .collect::<Vec<_>>()[..]
    {
        [source] => source(),
        _ => {
            return Err(StartError::Config(
                "exactly one domain must own sessions".into(),
            ))
        }
    };
    let mut wiring = Wiring {
        parts: Parts::default(),
        jobs: vec![idempotency::PRUNE_JOB, crate::jobs::PRUNE_JOB],
        sessions,
        migrations: migrations(),
        gauges: vec![],
    };
    crate::web::render::register(
        domains
            .iter()
            .flat_map(|d| d.templates.iter().copied())
            .collect(),
    );
    for domain in domains {
        (domain.build)(&config, &store, &mut wiring.parts)
            .map_err(|e| StartError::Config(e.to_string()))?;
        wiring.jobs.extend_from_slice(domain.jobs);
        wiring.gauges.extend(domain.gauges);
    }
    let app = App::new(config, store, key, wiring).map_err(StartError::Config)?;
    Ok(Arc::new(app))
}

/// Every domain's check of the configuration, before any I/O.
fn check(config: &Config) -> Result<(), StartError> {
    crate::state::cidr_list("trusted_proxies", &config.trusted_proxies)
        .map_err(StartError::Config)?;
    for domain in domains() {
        (domain.check)(config).map_err(StartError::Config)?;
    }
    Ok(())
}

#[derive(OpenApi)]
#[openapi(info(
    title = "Koban API",
    description = "Support desk and account-security center. Errors are RFC 9457 problem documents; lists use cursor pagination; creating POSTs accept Idempotency-Key."
))]
struct ApiDoc;

/// The API routes with their complete OpenAPI document: what the handlers
/// declare, then what every operation shares (`http::openapi`).
pub fn api() -> (Router<Arc<App>>, utoipa::openapi::OpenApi) {
    use utoipa::Modify;
    let (routes, mut document) = routes().split_for_parts();
    crate::http::openapi::Conventions.modify(&mut document);
    (routes, document)
}

/// The API routes with the handlers' own part of the document: each
/// domain's, registered through `routes!` so the document lists them.
fn routes() -> OpenApiRouter<Arc<App>> {
    let mut document = ApiDoc::openapi();
    let mut tags: Vec<utoipa::openapi::tag::Tag> = domains()
        .iter()
        .flat_map(|d| d.tags.iter())
        .map(|(name, description)| {
            utoipa::openapi::tag::TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    document.tags = Some(tags);
    domains()
        .into_iter()
        .fold(OpenApiRouter::with_openapi(document), |routes, domain| {
            routes.merge((domain.api)())
        })
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
        .merge(pages())
        .fallback(|| async { problem::Problem::not_found().into_response() })
        .layer(middleware::from_fn_with_state(app.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(app.clone(), idempotency::layer))
        .layer(middleware::from_fn_with_state(app.clone(), rate_limit::per_ip))
        .layer(DefaultBodyLimit::max(limit))
        // Raised for the desk's uploads, which read their body themselves
        // within their own limit; every extractor keeps `limit` above.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limit.max(crate::desk::attachments::UPLOAD_BODY_BYTES + 1),
        ))
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

/// The shell's pages and every domain's.
fn pages() -> Router<Arc<App>> {
    domains()
        .into_iter()
        .fold(crate::web::pages::router(), |pages, domain| {
            pages.merge((domain.pages)())
        })
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
    let app = start(config).await?;
    for bind in domains().iter().filter_map(|d| d.bind) {
        bind(&app).await.map_err(StartError::Config)?;
    }
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
    let worker = tokio::spawn(crate::jobs::worker::run(app.clone(), stop_rx.clone()));
    let background: Vec<_> = domains()
        .iter()
        .flat_map(|d| d.background.iter())
        .map(|task| tokio::spawn(task(app.clone(), stop_rx.clone())))
        .collect();
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
    for task in background {
        let _ = task.await;
    }
    for drain in domains().iter().filter_map(|d| d.drain) {
        drain(&app).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_versions_are_unique() {
        let all = migrations();
        let mut versions: Vec<i64> = all.iter().map(|m| m.version).collect();
        versions.dedup();
        assert_eq!(versions.len(), all.len(), "two migrations share a number");
    }

    #[test]
    fn every_domain_template_renders_in_every_language() {
        let templates: Vec<_> = domains()
            .iter()
            .flat_map(|d| d.templates.iter().copied())
            .collect();
        let mut names: Vec<&str> = templates.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            templates.len(),
            "two domains bring the same template"
        );
        crate::web::render::register(templates.clone());
        for lang in crate::web::i18n::Lang::ALL {
            for (name, source) in &templates {
                // A partial (macros the pages import) is no page of its own.
                if !source.contains("{% extends") {
                    continue;
                }
                let html = crate::web::render::render_empty(name, lang)
                    .unwrap_or_else(|e| panic!("{name} in {lang:?}: {e:#}"));
                assert!(
                    html.contains(&format!("<html lang=\"{}\"", lang.tag())),
                    "{name}"
                );
            }
        }
    }
}
