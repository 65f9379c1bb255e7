//! The state every request and job reaches: what all domains share
//! (configuration, database, server key, limits, metrics, the job queue's
//! wake-up) and, kept apart by type, each domain's own state. This module
//! sits below the domains and knows none of them: `app.rs` composes them and
//! each domain reads its own part with [`App::part`].

use crate::config::Config;
use crate::crypto::ServerKey;
use crate::domain::Gauges;
use crate::http::auth::SessionSource;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::jobs::Job;
use crate::store::{Migration, Store};
use koban_policy::risk::Cidr;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Notify;

/// Everything a request handler or job can reach.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub key: ServerKey,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Poked when this process enqueues a job, so the worker starts at once.
    pub jobs_wakeup: Notify,
    /// Names this process in job leases.
    pub node_id: String,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
    parts: Parts,
    jobs: HashMap<&'static str, JobKind>,
    sessions: Box<dyn SessionSource>,
    migrations: Vec<Migration>,
    gauges: Vec<Gauges>,
}

/// Each domain's own state, one value per type.
#[derive(Default)]
pub struct Parts(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Parts {
    /// Adds a domain's state; a second value of the same type replaces the first.
    pub fn insert<T: Any + Send + Sync>(&mut self, part: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(part));
    }

    /// The state of type `T`, if a domain added one.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

/// What a job handler returns: done, or why not (the job is retried).
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One kind of job a domain handles.
#[derive(Clone, Copy)]
pub struct JobKind {
    /// The name stored in `jobs.kind`.
    pub kind: &'static str,
    /// Enqueued once per this many milliseconds by whichever node gets there
    /// first; `None` for jobs enqueued on demand.
    pub every_ms: Option<i64>,
    pub run: for<'a> fn(&'a Arc<App>, &'a Job) -> JobFuture<'a>,
    /// Optionally, what runs first when a round of the worker holds
    /// several jobs of this kind: it may do the work of many in one
    /// statement, and answers the ids of those it did; the others run
    /// one by one through `run`.
    pub round: Option<RoundRun>,
}

/// A [`JobKind::round`].
pub type RoundRun = for<'a> fn(&'a Arc<App>, &'a [&'a Job]) -> RoundFuture<'a>;

/// What a [`JobKind::round`] returns: the ids of the jobs it did.
pub type RoundFuture<'a> = Pin<Box<dyn Future<Output = Vec<i64>> + Send + 'a>>;

/// What the domains bring, gathered by `app.rs`.
pub struct Wiring {
    pub parts: Parts,
    pub jobs: Vec<JobKind>,
    pub sessions: Box<dyn SessionSource>,
    pub migrations: Vec<Migration>,
    pub gauges: Vec<Gauges>,
}

/// Parses a comma-separated list of addresses and networks; `key` names
/// the setting in the error.
pub fn cidr_list(key: &str, text: &str) -> Result<Vec<Cidr>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<Cidr>().map_err(|e| format!("{key}: `{s}`: {e}")))
        .collect()
}

impl App {
    /// Composes the shared state with what the domains bring. Fails on a
    /// bad `trusted_proxies`.
    pub fn new(
        config: Config,
        store: Store,
        key: ServerKey,
        wiring: Wiring,
    ) -> Result<App, String> {
        let trusted_proxies = cidr_list("trusted_proxies", &config.trusted_proxies)?;
        Ok(App {
            limiter: RateLimiter::new(
                config.rate_limit_ip_per_minute,
                config.rate_limit_account_per_minute,
            ),
            node_id: format!("{}-{}", std::process::id(), crate::crypto::random_token(6)),
            config,
            store,
            key,
            metrics: Metrics::default(),
            jobs_wakeup: Notify::new(),
            trusted_proxies,
            parts: wiring.parts,
            jobs: wiring.jobs.into_iter().map(|job| (job.kind, job)).collect(),
            sessions: wiring.sessions,
            migrations: wiring.migrations,
            gauges: wiring.gauges,
        })
    }

    /// A domain's state. Every domain adds its part when the application is
    /// composed, so a missing part is a wiring mistake caught by any test
    /// that starts the application, never something a client can cause.
    pub fn part<T: Any + Send + Sync>(&self) -> &T {
        match self.parts.get::<T>() {
            Some(part) => part,
            None => panic!(
                "no {} in the application state: its domain is not composed in app.rs",
                std::any::type_name::<T>()
            ),
        }
    }

    /// A part a domain may or may not have added: a hook a domain above
    /// fills for one below (an organization's policies for sign-in).
    pub fn try_part<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.parts.get::<T>()
    }

    /// The handler of a job kind.
    pub fn job(&self, kind: &str) -> Option<&JobKind> {
        self.jobs.get(kind)
    }

    /// The job kinds that run periodically, with their period.
    pub fn periodic_jobs(&self) -> impl Iterator<Item = (&'static str, i64)> + '_ {
        self.jobs
            .values()
            .filter_map(|job| job.every_ms.map(|every| (job.kind, every)))
    }

    /// Every migration of the composed domains.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// The domains' own figures for `/metrics`.
    pub fn gauges(&self) -> &[Gauges] {
        &self.gauges
    }

    /// Who session tokens belong to.
    pub fn sessions(&self) -> &dyn SessionSource {
        self.sessions.as_ref()
    }
}
