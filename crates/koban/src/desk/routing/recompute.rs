//! Open tickets follow a changed SLA policy or business calendar at once,
//! not only at their next change: the change queues a durable job, in its
//! own transaction, that walks the open tickets in batches by id and
//! recomputes each one's clocks in a transaction of its own (short writes,
//! so SQLite's one writer is never held for the whole desk).

use crate::desk::error::DeskError;
use crate::desk::routing::sla;
use crate::desk::store::sla as sstore;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use sqlx::{Any, Transaction};
use std::sync::Arc;

/// The job that recomputes one batch of open tickets' clocks.
pub const RECOMPUTE_JOB: &str = "desk.sla_recompute";

/// The job kind the desk registers.
pub const JOB: JobKind = JobKind {
    kind: RECOMPUTE_JOB,
    round: None,
    every_ms: None,
    run: run_job,
};

/// Tickets per batch: each batch is one job, so a restart resumes at the
/// last batch, not at the first ticket.
const BATCH: i64 = 250;

/// Queues a walk over every open ticket, in the transaction of the change
/// that calls for it: committed together or not at all.
pub async fn enqueue(tx: &mut Transaction<'_, Any>) -> Result<(), DeskError> {
    // Each walk has its own name so that two changes a moment apart each
    // get a full walk (the second sees both changes).
    let walk = crate::crypto::random_token(12);
    queue(&mut **tx, &walk, 0).await
}

/// Queues the batch of `walk` after ticket `after`; its key makes a retried
/// batch queue its successor once.
async fn queue<'e, E>(executor: E, walk: &str, after: i64) -> Result<(), DeskError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let key = format!("{RECOMPUTE_JOB}:{walk}:{after}");
    let payload = serde_json::json!({ "walk": walk, "after": after });
    crate::jobs::enqueue(executor, RECOMPUTE_JOB, &payload, Some(&key), now_ms()).await?;
    Ok(())
}

/// Recomputes one batch; queues the next when the batch was full.
pub async fn run_batch(app: &App, walk: &str, after: i64) -> Result<usize, DeskError> {
    let ids = sstore::open_ticket_ids_after(app.store.read(), after, BATCH).await?;
    for id in &ids {
        let mut tx = app.store.write().begin().await?;
        sla::refresh(&mut tx, *id, now_ms()).await?;
        tx.commit().await?;
    }
    if let (true, Some(last)) = (ids.len() as i64 == BATCH, ids.last()) {
        queue(app.store.write(), walk, *last).await?;
        app.jobs_wakeup.notify_one();
    }
    Ok(ids.len())
}

fn run_job<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let walk = job
            .payload
            .get("walk")
            .and_then(|v| v.as_str())
            .ok_or("payload lacks walk")?;
        let after = job
            .payload
            .get("after")
            .and_then(|v| v.as_i64())
            .ok_or("payload lacks after")?;
        run_batch(app, walk, after)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
}
