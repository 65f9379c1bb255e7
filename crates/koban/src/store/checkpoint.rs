//! SQLite's WAL checkpoints, off the writer. By default the connection
//! whose commit takes the WAL past 1,000 pages copies the WAL back into the
//! database file and syncs it before its commit returns: under new tickets
//! that was about one commit in ten waiting 6–18 ms, some 8 % of the one
//! writer's time, while every other write queued behind it
//! (docs/benchmarks-history.md, desk run 9). Here a task checkpoints
//! from a reader connection instead, PASSIVE so that it never waits for or
//! blocks the writer, and the writer's own checkpoint stays only as a
//! backstop for a WAL that grows past [`WRITER_BACKSTOP_PAGES`] anyway.

use sqlx::AnyPool;
use std::time::Duration;

/// How often the task checkpoints. Less often makes larger but fewer
/// checkpoints: a page written many times is copied once.
const EVERY: Duration = Duration::from_millis(500);

/// The writer's own auto-checkpoint (SQLite's default is 1,000 pages), for
/// a WAL the task did not keep small: one the checkpoints could not reset
/// because readers were still on it, or a task that is not running.
pub const WRITER_BACKSTOP_PAGES: u32 = 20_000;

/// The running task; stops it when the last clone of its store is dropped.
#[derive(Debug)]
pub struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts checkpointing through `readers` until the pool is closed.
pub fn start(readers: AnyPool) -> Checkpointer {
    Checkpointer(tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if readers.is_closed() {
                return;
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&readers)
                .await
            {
                // The writer's backstop checkpoints meanwhile.
                tracing::debug!(%error, "WAL checkpoint failed; trying again");
            }
        }
    }))
}
