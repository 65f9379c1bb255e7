//! The database: one schema, two backends. SQLite is the embedded default,
//! PostgreSQL the scale-out path; repository code runs unchanged on both
//! through sqlx's `Any` driver, and what truly differs lives in [`dialect`].

mod batch;
mod checkpoint;
pub mod dialect;
mod lane;
mod migrate;

pub use batch::{Batch, Earlier, Value};
pub use dialect::Backend;
pub use migrate::{Migration, FOUNDATION};

use lane::Lane;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::sync::Arc;
use std::time::Duration;

/// Anything that went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("unsupported database URL `{0}`: use sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database schema is newer ({found}) than this binary knows ({known}); upgrade Koban")]
    SchemaTooNew { found: i64, known: i64 },
    /// SQLite's file stayed locked by another process past the busy timeout.
    #[error("the database file stayed locked by another Koban process (a server starting or another command) for {seconds} s while {doing}; try again when it is done")]
    Locked { doing: &'static str, seconds: u64 },
    /// A write made on this request's behalf by another task failed there.
    #[error("database error: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Names what was being done when SQLite's lock could not be had, so the
    /// person at the terminal knows what to wait for.
    pub fn doing(self, doing: &'static str) -> StoreError {
        match self {
            StoreError::Sqlx(e) if e.to_string().contains("database is locked") => {
                StoreError::Locked {
                    doing,
                    seconds: SQLITE_BUSY_TIMEOUT_MS / 1000,
                }
            }
            other => other,
        }
    }
}

/// How long SQLite waits for another process's lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 5000;

/// Connection pools. On SQLite every write goes through a single writer
/// connection (so writers queue instead of failing with SQLITE_BUSY) beside
/// a pool of readers; on PostgreSQL both are the same pool, and a quarter of
/// the connections are a [`Lane`] for the statements of every sign-in and
/// session lookup.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    lane: Option<Arc<Lane>>,
    /// SQLite's WAL checkpoints, taken off the writer; held for its
    /// `Drop`, which stops them with the last clone of the store.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
    faults: Arc<std::sync::Mutex<Option<&'static str>>>,
}

/// One change of several rows: every write of it commits together or not
/// at all. Writes go through `tx`; [`Change::step`] between them marks the
/// places where a test can make the change fail half way
/// ([`Store::fail_at`]).
pub struct Change {
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    faults: Arc<std::sync::Mutex<Option<&'static str>>>,
}

impl Change {
    /// A point between two writes, named `change:place`. Fails the change
    /// when a test armed this name; otherwise does nothing.
    pub fn step(&self, name: &'static str) -> Result<(), StoreError> {
        let mut armed = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        if *armed == Some(name) {
            *armed = None;
            return Err(StoreError::Unavailable(format!(
                "failure injected at {name}"
            )));
        }
        Ok(())
    }

    /// Commits every write of the change. Dropped without it, the change rolls back.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Connects to `url`, creating an SQLite file if it does not exist.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend =
            Backend::from_url(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        match backend {
            Backend::Sqlite => {
                let url = dialect::sqlite_url_with_create(url);
                let writer = sqlite_pool(&url, 1, true).await?;
                let reader = sqlite_pool(&url, max_connections.max(1), false).await?;
                let checkpointer = Some(Arc::new(checkpoint::start(reader.clone())));
                Ok(Store {
                    backend,
                    writer,
                    reader,
                    lane: None,
                    _checkpointer: checkpointer,
                    faults: Default::default(),
                })
            }
            Backend::Postgres => {
                let lane_size = max_connections / 4;
                let pool = pool_options()
                    .max_connections((max_connections - lane_size).max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                Ok(Store {
                    backend,
                    writer: pool.clone(),
                    reader: pool,
                    lane: (lane_size > 0).then(|| Arc::new(Lane::new(url, lane_size))),
                    _checkpointer: None,
                    faults: Default::default(),
                })
            }
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for statements that write (and reads that must see the latest write in a transaction).
    pub fn write(&self) -> &AnyPool {
        &self.writer
    }

    /// The pool for reads.
    pub fn read(&self) -> &AnyPool {
        &self.reader
    }

    /// Starts a change of several rows on the writer: the one way Koban
    /// writes more than one row for one action, so a failure between the
    /// writes leaves nothing half done.
    pub async fn change(&self) -> Result<Change, StoreError> {
        Ok(Change {
            tx: self.writer.begin().await?,
            faults: self.faults.clone(),
        })
    }

    /// Makes the next change that reaches [`Change::step`] `name` fail
    /// there, once: how the tests show that a change commits whole or not at
    /// all. Nothing arms it outside tests.
    pub fn fail_at(&self, name: &'static str) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = Some(name);
    }

    /// Runs one statement of the kind every sign-in runs, which writes or
    /// must see the latest write. On PostgreSQL it runs on the lane, whose
    /// connections go back without the pool's round trip (see [`lane`]); on
    /// SQLite on the writer.
    pub async fn run_on_lane<T>(
        &self,
        statement: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        self.on_lane_else(&self.writer, statement).await
    }

    /// Runs one read made on every authenticated request. On PostgreSQL it
    /// runs on the lane like a sign-in's statements; on SQLite on a reader,
    /// beside the writer rather than queued behind it.
    pub async fn read_on_lane<T>(
        &self,
        statement: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        self.on_lane_else(&self.reader, statement).await
    }

    /// `statement` on the lane, or on `pool` where there is no lane (the
    /// lane itself overflows to `pool` too).
    async fn on_lane_else<T>(
        &self,
        pool: &AnyPool,
        statement: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        Ok(match &self.lane {
            Some(lane) => lane.run(pool, statement).await?,
            None => statement(&mut *pool.acquire().await?).await?,
        })
    }

    /// (connections open, of which idle) across the pools and the lane, for
    /// /metrics.
    pub fn pool_usage(&self) -> (u32, u32) {
        let (lane_open, lane_idle) = self.lane.as_ref().map_or((0, 0), |lane| lane.usage());
        if self.backend == Backend::Sqlite {
            (
                self.writer.size() + self.reader.size(),
                (self.writer.num_idle() + self.reader.num_idle()) as u32,
            )
        } else {
            (
                self.writer.size() + lane_open,
                self.writer.num_idle() as u32 + lane_idle,
            )
        }
    }

    /// Statements the lane (sign-ins, session lookups) sent to the pool
    /// because it was full (always 0 on SQLite, which has no lane), for
    /// /metrics.
    pub fn lane_overflows(&self) -> u64 {
        self.lane.as_ref().map_or(0, |lane| lane.overflows())
    }

    /// Closes every connection; used at shutdown.
    pub async fn close(&self) {
        if let Some(lane) = &self.lane {
            lane.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// A connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Pool settings both backends share. By default sqlx pings every
/// connection on every acquire: a second round trip for each statement,
/// which doubled the database's share of a sign-in (docs/benchmarks-history.md, run 5).
/// Like HikariCP, which skips its check for a connection used within the
/// last 500 ms, only a connection that sat idle is tested: one in steady use
/// has just proven itself, while one left idle may have been dropped by a
/// restarted server or a firewall.
fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

async fn sqlite_pool(url: &str, max: u32, writer: bool) -> Result<AnyPool, StoreError> {
    let pool = pool_options()
        .max_connections(max)
        .min_connections(if writer { 1 } else { 0 })
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; NORMAL is durable in WAL
                // except for the last transactions on power loss, the usual trade.
                conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str())
                    .await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                if writer {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    let pages = checkpoint::WRITER_BACKSTOP_PAGES;
                    conn.execute(format!("PRAGMA wal_autocheckpoint = {pages}").as_str())
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

tokio::task_local! {
    /// How far this task's clock is moved from the real one (`koban demo`
    /// replays a month of a desk's life through the service functions).
    static CLOCK_SHIFT_MS: i64;
}

/// Milliseconds since the Unix epoch: how every time is stored. Inside
/// [`as_of`], the instant that scope stands at.
pub fn now_ms() -> i64 {
    let shift = CLOCK_SHIFT_MS.try_with(|s| *s).unwrap_or(0);
    jiff::Timestamp::now().as_millisecond() + shift
}

/// Runs `work` as if it were `instant` (ms since the epoch): every
/// [`now_ms`] it reads on this task is moved by the same amount, so what
/// it stores is consistent with itself (events, SLA clocks, jobs' due
/// times). Only `koban demo` uses it, to write a past that looks lived.
pub async fn as_of<F: std::future::Future>(instant: i64, work: F) -> F::Output {
    let shift = instant - jiff::Timestamp::now().as_millisecond();
    CLOCK_SHIFT_MS.scope(shift, work).await
}

/// Shorthand used by repository code to read a column that must be there.
pub fn col<T>(row: &AnyRow, name: &str) -> Result<T, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    row.try_get(name)
}
