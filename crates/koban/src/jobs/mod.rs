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
    claim, complete, complete_many, enqueue, enqueue_about_into, enqueue_into, queue_depth, Job,
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
