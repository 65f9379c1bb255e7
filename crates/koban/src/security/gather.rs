//! When the sign-ins' reads are sent: together, while the hashing threads
//! have work queued; at once, while they do not.
//!
//! Every sign-in reads its facts (`facts.rs`) before its hash. When every
//! hashing thread is busy and more hashes wait behind them, a sign-in whose
//! facts were read at once would only wait in that queue. Read a little
//! later, with the sign-ins that arrived meanwhile, its read shares one
//! statement with theirs: one round trip, one wake-up of the database and
//! of an async worker for many sign-ins, on two cores where each wake-up
//! interrupts a hash (docs/benchmarks-history.md, run 8). A read is sent at once when
//! the hashing queue is shorter than the number of threads, so a server
//! with hashing capacity to spare answers exactly as soon as before, and
//! never later than [`MAX_WAIT`] under any load. Reading later also reads
//! fresher guards: the state the hash is judged by is the newer one.

use super::facts::{self, Facts, Probe};
use crate::accounts::password_hash::PasswordHasher;
use crate::store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// Sign-ins read in one statement at most.
const MAX_BATCH: usize = 32;
/// The longest a read waits for company, whatever the hashers' queue: a
/// sign-in the database refuses (a locked account) is answered this soon.
const MAX_WAIT: Duration = Duration::from_millis(50);

/// Sends the sign-ins' reads, gathered.
#[derive(Clone)]
pub struct Gatherer {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hasher: PasswordHasher,
    state: Mutex<State>,
    /// Poked when the waiting sign-ins fill a statement.
    full: Notify,
}

#[derive(Default)]
struct State {
    waiting: Vec<Waiting>,
    /// True while a reader task sends the waiting reads.
    reading: bool,
    /// Statements sent, and the sign-ins they read, for /metrics.
    statements: u64,
    probes: u64,
}

struct Waiting {
    probe: Probe,
    since: Instant,
    reply: oneshot::Sender<Result<Facts, StoreError>>,
}

impl Gatherer {
    /// A gatherer reading from `store`, timed by `hasher`'s queue.
    pub fn new(store: Store, hasher: PasswordHasher) -> Gatherer {
        Gatherer {
            inner: Arc::new(Inner {
                store,
                hasher,
                state: Mutex::new(State::default()),
                full: Notify::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Under the lock there are only pushes, takes and counts.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// (statements sent, sign-ins they read) so far.
    pub fn counts(&self) -> (u64, u64) {
        let state = self.state();
        (state.statements, state.probes)
    }

    /// The facts of one sign-in, read alone or with others.
    pub async fn read(&self, probe: Probe) -> Result<Facts, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start_reader = {
            let mut state = self.state();
            state.waiting.push(Waiting {
                probe,
                since: Instant::now(),
                reply,
            });
            if state.waiting.len() >= MAX_BATCH {
                self.inner.full.notify_one();
            }
            !std::mem::replace(&mut state.reading, true)
        };
        if start_reader {
            tokio::spawn(self.clone().send_waiting());
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the sign-in reader stopped".into()))?
    }

    /// Sends the waiting reads, each when it is due, until none waits.
    async fn send_waiting(self) {
        // A panic below must not leave `reading` set with no reader.
        let mut running = Running {
            gatherer: &self,
            ended: false,
        };
        loop {
            let due = {
                let mut state = self.state();
                let Some(oldest) = state.waiting.first().map(|w| w.since) else {
                    state.reading = false;
                    running.ended = true;
                    return;
                };
                if self.inner.hasher.backlog_is_short()
                    || state.waiting.len() >= MAX_BATCH
                    || oldest.elapsed() >= MAX_WAIT
                {
                    let take = state.waiting.len().min(MAX_BATCH);
                    state.statements += 1;
                    state.probes += take as u64;
                    Ok(state.waiting.drain(..take).collect::<Vec<_>>())
                } else {
                    Err(oldest + MAX_WAIT)
                }
            };
            match due {
                Ok(batch) => self.send(batch).await,
                Err(deadline) => {
                    tokio::select! {
                        _ = self.inner.hasher.backlog_shortened() => {}
                        _ = self.inner.full.notified() => {}
                        _ = tokio::time::sleep_until(deadline.into()) => {}
                    }
                }
            }
        }
    }

    /// One statement for `batch`; every sign-in in it gets its answer.
    async fn send(&self, batch: Vec<Waiting>) {
        let (probes, replies): (Vec<Probe>, Vec<_>) =
            batch.into_iter().map(|w| (w.probe, w.reply)).unzip();
        match facts::read_many(&self.inner.store, &probes).await {
            Ok(facts) => {
                for (reply, facts) in replies.into_iter().zip(facts) {
                    // A sign-in given up on (its client gone) drops its end.
                    let _ = reply.send(Ok(facts));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
                }
            }
        }
    }
}

/// Clears `reading` if the reader task ends without doing so itself (it
/// panicked), so the next sign-in starts another instead of waiting forever.
struct Running<'a> {
    gatherer: &'a Gatherer,
    ended: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.gatherer.state().reading = false;
        }
    }
}
