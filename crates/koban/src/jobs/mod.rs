//! The durable job queue: rows in `jobs`, claimed with a lease. A job whose
//! process dies is taken over when its lease runs out; on PostgreSQL, claims
//! use `FOR UPDATE SKIP LOCKED` so every node adds workers. Handlers must be
//! idempotent (they may run again after a crash): each records its side
//! effect's key before acting.

pub mod worker;

/// An hour and a day, in milliseconds: the periods of periodic jobs.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

mod store;

use crate::store::{now_ms, Store, StoreError};

pub use store::{
    claim, complete, complete_many, enqueue, enqueue_about_into, enqueue_into, prune_finished,
    queue_depth, rescue_expired, Job,
};

/// How long a finished job (done, or failed for good) is kept: long enough
/// to look into a failure, and longer than any period, so that a periodic
/// job's key still stops a second run in its period.
pub const KEEP_FINISHED_MS: i64 = 14 * DAY_MS;

/// Job kind: delete the jobs finished more than [`KEEP_FINISHED_MS`] ago,
/// daily. Without it every delivery and every SLA look would stay a row.
pub const PRUNE_FINISHED: &str = "prune_finished_jobs";

/// Jobs deleted in one statement of the pruning, so that it never holds
/// the writer for long.
const PRUNE_CHUNK: i64 = 5_000;

/// The daily pruning, registered by `app.rs` with the domains' jobs.
pub const PRUNE_JOB: crate::state::JobKind = crate::state::JobKind {
    kind: PRUNE_FINISHED,
    round: None,
    every_ms: Some(DAY_MS),
    run: |app, _| {
        Box::pin(async move {
            let before = now_ms() - KEEP_FINISHED_MS;
            while prune_finished(&app.store, before, PRUNE_CHUNK)
                .await
                .map_err(|e| e.to_string())?
                == PRUNE_CHUNK as u64
            {}
            Ok(())
        })
    },
};

/// Schedules another try with back-off, or gives up after `max_attempts`.
pub async fn retry_or_fail(
    store: &Store,
    job: &Job,
    worker: &str,
    error: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    let give_up = job.attempts >= job.max_attempts;
    let error: String = error.chars().take(1000).collect();
    store::reschedule(
        store,
        job,
        worker,
        if give_up { "failed" } else { "pending" },
        now + koban_policy::throttle::job_backoff_ms(job.attempts),
        error,
        give_up.then_some(now),
    )
    .await
}
