//! The contract each domain fulfils, so `app.rs` can compose one without
//! touching the others. A domain is a folder (`accounts/`, `security/`, …)
//! whose `mod.rs` exports `pub fn domain() -> Domain`:
//!
//! - its state, built from the configuration ([`Domain::check`] before
//!   anything is opened, [`Domain::build`] once the database is), which its
//!   code reads back with [`crate::state::App::part`];
//! - its API routes, each registered with `routes!` so the API document
//!   lists it, and its pages;
//! - its job kinds, periodic or on demand;
//! - its background tasks (a listener of another protocol, a poller), run
//!   beside the HTTP server until shutdown;
//! - its migrations, numbered in one sequence across all domains (a
//!   migration may use the tables of the domains below its own, never above);
//! - one error type that converts into a problem document
//!   (`impl From<Error> for Problem`), so handlers answer with `?`.
//!
//! Dependencies run one way: a domain uses the shared layers (`state`,
//! `store`, `http`, `web`, `jobs`, `crypto`, `config`) and the services of
//! the domains below it, never the wiring in `app.rs`.

use crate::config::Config;
use crate::http::auth::SessionSource;
use crate::state::{App, JobKind, Parts};
use crate::store::{Migration, Store};
use axum::Router;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

/// What a domain brings to the application.
pub struct Domain {
    pub name: &'static str,
    /// Checks the domain's configuration before anything is created on disk.
    pub check: fn(&Config) -> Result<(), String>,
    /// Adds the domain's state to `parts`.
    pub build: fn(&Config, &Store, &mut Parts) -> Result<(), String>,
    pub api: fn() -> OpenApiRouter<Arc<App>>,
    pub pages: fn() -> Router<Arc<App>>,
    pub jobs: &'static [JobKind],
    pub migrations: &'static [Migration],
    /// Adds the domain's own figures to `/metrics`.
    pub gauges: Option<Gauges>,
    /// The API document's tags for its operations: name and description.
    pub tags: &'static [(&'static str, &'static str)],
    /// The domain that owns sessions says whose a token is; exactly one does.
    pub sessions: Option<fn() -> Box<dyn SessionSource>>,
    /// The templates its pages render (`name`, source), compiled in.
    pub templates: &'static [crate::web::render::Template],
    /// Finishes what the domain writes behind the answers, at shutdown.
    pub drain: Option<for<'a> fn(&'a App) -> Drain<'a>>,
    /// Tasks run beside the HTTP server; each ends when `stop` turns true.
    pub background: &'static [Background],
    /// Binds the sockets its background tasks listen on, when `koban
    /// serve` starts: a port in use stops the start with its name, as the
    /// HTTP port does, instead of a server that silently takes no mail.
    pub bind: Option<for<'a> fn(&'a App) -> Bind<'a>>,
}

/// What [`Domain::bind`] returns: why the start must stop, if it must.
pub type Bind<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// A task of [`Domain::background`]: given the application and the stop
/// signal, runs until the signal turns true.
pub type Background = fn(Arc<App>, tokio::sync::watch::Receiver<bool>) -> Drain<'static>;

/// What [`Domain::drain`] returns.
pub type Drain<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Writes Prometheus text for a domain's figures.
pub type Gauges = fn(&App, &mut String);

impl Domain {
    /// A domain with a name and nothing else yet, for `..Domain::named(…)`.
    pub const fn named(name: &'static str) -> Domain {
        Domain {
            name,
            check: |_| Ok(()),
            build: |_, _, _| Ok(()),
            api: OpenApiRouter::new,
            pages: Router::new,
            jobs: &[],
            migrations: &[],
            gauges: None,
            tags: &[],
            sessions: None,
            templates: &[],
            drain: None,
            background: &[],
            bind: None,
        }
    }
}
