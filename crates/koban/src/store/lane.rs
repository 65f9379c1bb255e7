//! A few PostgreSQL connections kept apart from the pool for the statements
//! every sign-in runs and the session lookup of every authenticated
//! request, handed back without a round trip.
//!
//! sqlx's pool pings each connection as it comes back (a `Sync` and its
//! answer) and offers no way to turn that off: its guard for a request
//! dropped in the middle of a statement, which would leave half a message
//! on the wire. For a sign-in that made four round trips where two carry
//! statements, and on two cores every round trip wakes the database and an
//! async worker in the middle of somebody's Argon2 hash (docs/benchmarks-history.md).
//!
//! Kept beside sqlx's own pool, which it only fronts, for a measured figure:
//! with the lane a sign-in on PostgreSQL took 0.84–1.02 ms of database CPU
//! against 1.09–1.20 ms on the pool alone, and logins/s ÷ raw Argon2id
//! verifications/s was 0.912–0.919 against 0.879–0.900 (3 + 3 runs in turn,
//! 32 clients; `BENCH_A=<release build of 1daa20e> BENCH_B=<release build
//! of c1b5160> bash scripts/bench-compare`, run 7 in
//! docs/benchmarks-history.md).
//!
//! The lane keeps the guarantee another way: a connection goes back only
//! when its statement finished, with a result that leaves the connection
//! sound. A statement dropped half way, or ended by an I/O or protocol
//! error, takes its connection with it. When every lane connection is busy
//! the statement runs on the pool as before, so the lane never queues.

use sqlx::AnyConnection;
use sqlx::{AnyPool, Connection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A lane connection idle at least this long is pinged before reuse, as the
/// pool does with its own (see `PING_IF_IDLE_FOR` in the parent module).
const PING_IF_IDLE_FOR: Duration = super::PING_IF_IDLE_FOR;

/// A lane connection older than this is closed on return and replaced when
/// next needed, as the pool retires its own after 30 minutes: a PostgreSQL
/// backend's caches only grow with every relation and plan it has touched.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Connections set aside for hot statements.
pub struct Lane {
    url: String,
    size: u32,
    state: Mutex<State>,
    /// Statements sent to the pool because every lane connection was busy.
    overflows: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Connections waiting for a statement, most recently used last.
    idle: Vec<Idle>,
    /// Lane connections in existence: idle, busy, or being opened.
    open: u32,
    closed: bool,
}

struct Idle {
    conn: AnyConnection,
    since: Instant,
    born: Instant,
}

/// Says how full the lane is; never the URL, which may hold a password.
impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (open, idle) = self.usage();
        f.debug_struct("Lane")
            .field("size", &self.size)
            .field("open", &open)
            .field("idle", &idle)
            .finish()
    }
}

impl Lane {
    /// A lane of at most `size` connections to `url`; none is opened yet.
    pub fn new(url: &str, size: u32) -> Lane {
        Lane {
            url: url.to_string(),
            size,
            state: Mutex::new(State::default()),
            overflows: AtomicU64::new(0),
        }
    }

    /// (connections open, of which idle), for /metrics.
    pub fn usage(&self) -> (u32, u32) {
        let state = self.lock();
        (state.open, state.idle.len() as u32)
    }

    /// Statements the lane sent to the pool so far because it was full or
    /// could not open a connection: a lane too small for the load shows
    /// here, in /metrics.
    pub fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    /// Runs one statement on a lane connection (or, when all are busy, on a
    /// pool connection) and hands the lane connection back only when the
    /// statement ended and left it sound.
    pub async fn run<T>(
        &self,
        pool: &AnyPool,
        statement: impl AsyncFnOnce(&mut AnyConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let Some((mut conn, born)) = self.take().await else {
            self.overflows.fetch_add(1, Ordering::Relaxed);
            let mut conn = pool.acquire().await?;
            return statement(&mut conn).await;
        };
        // Dropped while the statement runs, `room` frees the connection's
        // place in the lane and `conn` is closed with it, not reused.
        let room = Room { lane: self };
        let result = statement(&mut conn).await;
        if leaves_connection_sound(&result) {
            room.settle();
            self.give_back(conn, born);
        }
        result
    }

    /// An idle lane connection, checked if it sat idle; a new one when the
    /// lane has room; None when every lane connection is busy or a new one
    /// could not be opened (the pool, with its own retries, takes over).
    async fn take(&self) -> Option<(AnyConnection, Instant)> {
        loop {
            let Idle {
                mut conn,
                since,
                born,
            } = {
                let mut state = self.lock();
                if state.closed {
                    return None;
                }
                match state.idle.pop() {
                    Some(idle) => idle,
                    None if state.open < self.size => {
                        state.open += 1;
                        break;
                    }
                    None => return None,
                }
            };
            if since.elapsed() < PING_IF_IDLE_FOR {
                return Some((conn, born));
            }
            let room = Room { lane: self };
            match conn.ping().await {
                Ok(()) => {
                    room.settle();
                    return Some((conn, born));
                }
                // Dropped by a restarted server or a firewall: `room` frees
                // its place; try the next one, or open a fresh connection.
                Err(error) => {
                    tracing::debug!(%error, "lane connection failed its ping; replacing it")
                }
            }
        }
        let room = Room { lane: self };
        match AnyConnection::connect(&self.url).await {
            Ok(conn) => {
                room.settle();
                Some((conn, Instant::now()))
            }
            // The server at its connection limit, say: the pool may still
            // hold connections of its own.
            Err(error) => {
                tracing::warn!(%error, "could not open a lane connection; using the pool");
                None
            }
        }
    }

    /// Takes back a lane connection whose statement ended soundly.
    fn give_back(&self, conn: AnyConnection, born: Instant) {
        let mut state = self.lock();
        if state.closed || born.elapsed() >= MAX_LIFETIME {
            state.open -= 1;
            return;
        }
        state.idle.push(Idle {
            conn,
            since: Instant::now(),
            born,
        });
    }

    /// One lane connection is gone (closed, failed, or never opened).
    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
    }

    /// Closes the idle connections; busy ones close when their statement ends.
    pub async fn close(&self) {
        let idle = {
            let mut state = self.lock();
            state.closed = true;
            let idle = std::mem::take(&mut state.idle);
            state.open -= idle.len() as u32;
            idle
        };
        for Idle { conn, .. } in idle {
            let _ = conn.close().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a list and a counter, consistent after every
        // statement that touches it: a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the connection a statement ended with can serve the next one.
/// A database error (a constraint, a missing row) leaves the protocol in
/// step: sqlx reads the rest of the answer before its next statement. An
/// I/O, protocol or TLS error may have left half a message behind.
fn leaves_connection_sound<T>(result: &Result<T, sqlx::Error>) -> bool {
    matches!(
        result,
        Ok(_) | Err(sqlx::Error::Database(_) | sqlx::Error::RowNotFound)
    )
}

/// A counted place in the lane whose connection is being opened or is
/// running a statement. Dropped unsettled (the connection failed, or the
/// request was dropped) it frees the place.
struct Room<'a> {
    lane: &'a Lane,
}

impl Room<'_> {
    /// The connection is accounted for elsewhere now.
    fn settle(self) {
        std::mem::forget(self);
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        self.lane.forget_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_leaves_out_the_url_and_its_password() {
        let lane = Lane::new("postgres://koban:s3cret@db.internal:5432/koban", 4);
        let shown = format!("{lane:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("db.internal"),
            "{shown}"
        );
        assert!(shown.contains("size: 4"), "{shown}");
    }

    #[tokio::test]
    async fn a_lane_that_cannot_connect_runs_the_statement_on_the_pool() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory pool");
        // Nothing listens on port 1: every attempt to open is refused.
        let lane = Lane::new("postgres://koban@127.0.0.1:1/nothing", 2);
        for _ in 0..3 {
            let answer = lane
                .run(&pool, async |conn| {
                    sqlx::query_scalar::<_, i64>("SELECT 7 * 6")
                        .fetch_one(conn)
                        .await
                })
                .await
                .expect("the pool answers");
            assert_eq!(answer, 42);
            // The room taken for each failed opening is free again.
            assert_eq!(lane.usage(), (0, 0));
        }
        assert_eq!(lane.overflows(), 3);
    }
}
