//! Login history (every sign-in attempt with its risk verdict) and the
//! security timeline (what changed on the account).

use crate::http::pagination::{page, Page, PageQuery};
use crate::http::problem::Problem;
use crate::store::{now_ms, Store, StoreError};

use super::store::history::write_batch;
pub use super::store::history::{attempt_json, event, insert_sql, prune};

/// One sign-in attempt to record.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub account_id: Option<i64>,
    pub ip: String,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub device_id: Option<i64>,
    pub user_agent: Option<String>,
    /// `success`, `wrong_password`, `unknown_account`, `locked`, `ip_blocked`,
    /// `ip_throttled`, `unverified`, `disabled`, `second_factor_required`,
    /// `second_factor_failed`, `passkey_failed`, `second_factor_locked`, `device_limit`.
    pub outcome: &'static str,
    pub risk_score: i64,
    pub reasons: Vec<String>,
    /// `allow`, `step_up`, `temporary_lock`, `support_lock`, `deny`.
    pub decision: &'static str,
}

/// The login history's writer: a group commit. Every request still waits
/// until its own attempt is stored (so what a response reports is already in
/// the history), but attempts arriving while a write is under way are stored
/// together in the next one. Under a credential-stuffing flood this turns
/// thousands of INSERTs a second into a few dozen.
#[derive(Clone)]
pub struct AttemptLog {
    inner: std::sync::Arc<LogInner>,
}

struct LogInner {
    store: Store,
    state: std::sync::Mutex<LogState>,
}

struct LogState {
    /// The batch new attempts join.
    open: Batch,
    /// True while a writer task is draining batches.
    writing: bool,
    /// Learns when the batch being written now is stored.
    in_flight: Option<tokio::sync::watch::Receiver<Option<Result<(), String>>>>,
}

struct Batch {
    attempts: Vec<(i64, Attempt)>,
    /// Receives the batch's result once it is written.
    done: tokio::sync::watch::Sender<Option<Result<(), String>>>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            attempts: Vec::new(),
            done: tokio::sync::watch::channel(None).0,
        }
    }
}

impl AttemptLog {
    /// A writer over `store`.
    pub fn new(store: Store) -> AttemptLog {
        AttemptLog {
            inner: std::sync::Arc::new(LogInner {
                store,
                state: std::sync::Mutex::new(LogState {
                    open: Batch::new(),
                    writing: false,
                    in_flight: None,
                }),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        // Every change under the lock is a push or a swap: never half done.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an attempt made now to the open batch, starting a writer when
    /// none runs; returns what tells when that batch is stored.
    fn push(&self, attempt: Attempt) -> tokio::sync::watch::Receiver<Option<Result<(), String>>> {
        let mut state = self.state();
        state.open.attempts.push((now_ms(), attempt));
        let done = state.open.done.subscribe();
        if !state.writing {
            state.writing = true;
            tokio::spawn(self.clone().drain());
        }
        done
    }

    /// Stores an attempt made now; returns once it is written.
    pub async fn record(&self, attempt: Attempt) -> Result<(), StoreError> {
        wait(self.push(attempt)).await
    }

    /// Stores an attempt made now without waiting for the write: for
    /// refusals answered from memory, where waiting on the database would
    /// make the flood's cheapest answer wait on its most expensive step. A
    /// failed write is logged. [`AttemptLog::flush`] waits for it.
    pub fn record_later(&self, attempt: Attempt) {
        drop(self.push(attempt));
    }

    /// Waits until every attempt recorded so far is stored (batches are
    /// written in order, so the newest one's end is everyone's).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let newest = {
            let state = self.state();
            if !state.open.attempts.is_empty() {
                Some(state.open.done.subscribe())
            } else {
                state.in_flight.clone()
            }
        };
        match newest {
            Some(done) => wait(done).await,
            None => Ok(()),
        }
    }

    /// Writes open batches until none is left.
    async fn drain(self) {
        loop {
            let batch = {
                let mut state = self.state();
                if state.open.attempts.is_empty() {
                    state.writing = false;
                    state.in_flight = None;
                    return;
                }
                let batch = std::mem::replace(&mut state.open, Batch::new());
                state.in_flight = Some(batch.done.subscribe());
                batch
            };
            let result = write_batch(&self.inner.store, &batch.attempts)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, attempts = batch.attempts.len(), "cannot store sign-in attempts");
                    e.to_string()
                });
            batch.done.send_replace(Some(result));
        }
    }
}

/// Waits for a batch's result.
async fn wait(
    mut done: tokio::sync::watch::Receiver<Option<Result<(), String>>>,
) -> Result<(), StoreError> {
    let result = done
        .wait_for(Option::is_some)
        .await
        .map(|r| r.clone())
        .map_err(|_| StoreError::Unavailable("the login history writer stopped".into()))?;
    match result {
        Some(Err(message)) => Err(StoreError::Unavailable(message)),
        _ => Ok(()),
    }
}

/// A sign-in attempt as its owner sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub id: i64,
    pub at: i64,
    pub ip: String,
    pub country: Option<String>,
    pub device_id: Option<i64>,
    pub user_agent: Option<String>,
    pub outcome: String,
    pub risk_score: i64,
    pub reasons: Vec<String>,
    pub decision: String,
}

/// An entry of the security timeline.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub at: i64,
    /// `password_changed`, `two_factor_enabled`, `two_factor_disabled`,
    /// `device_added`, `device_removed`, `device_renamed`, `locked`,
    /// `unlocked`, `contact_changed`, `recovery_codes_regenerated`,
    /// `passkey_added`, `passkey_renamed`, `passkey_removed`, …
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
}

/// An account's attempts, newest first, including refusals still on their
/// way to the database.
pub async fn attempts(
    app: &crate::state::App,
    account_id: i64,
    query: &PageQuery,
) -> Result<Page<AttemptView>, Problem> {
    let (before, limit) = query.bounds()?;
    crate::security::state(app)
        .attempt_log
        .flush()
        .await
        .map_err(|e| Problem::internal(&e))?;
    let items = super::store::history::attempts(&app.store, account_id, before, limit + 1)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(page(items, limit, |a| a.id))
}

/// An account's timeline, newest first.
pub async fn events(
    store: &Store,
    account_id: i64,
    query: &PageQuery,
) -> Result<Page<EventView>, Problem> {
    let (before, limit) = query.bounds()?;
    let items = super::store::history::events(store, account_id, before, limit + 1)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(page(items, limit, |e| e.id))
}

/// The latest successful sign-in: when, from where.
#[derive(Debug, Clone, Default)]
pub struct LastSuccess {
    pub at: i64,
    pub ip: String,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Facts about earlier successful sign-ins that the risk engine reads.
#[derive(Debug, Clone, Default)]
pub struct Past {
    pub known_ips: Vec<std::net::IpAddr>,
    pub known_countries: Vec<String>,
    pub last: Option<LastSuccess>,
}
