//! The loop that runs due jobs with the handlers the domains registered.

use super::{claim, complete_many, rescue_expired, retry_or_fail, Job};
use crate::state::App;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Enqueues this period's periodic jobs if no node has yet: each once a
/// period whichever node gets there first (the idempotency key carries the
/// period's number).
pub async fn schedule_periodic(app: &App) {
    let now = crate::store::now_ms();
    for (kind, period_ms) in app.periodic_jobs() {
        let key = format!("{kind}:{}:{}", period_ms, now.div_euclid(period_ms));
        if let Err(error) = super::enqueue(
            app.store.write(),
            kind,
            &serde_json::json!({}),
            Some(&key),
            now,
        )
        .await
        {
            tracing::warn!(%error, kind, "cannot schedule a periodic job");
        }
    }
}

/// Runs `job` with the handler its domain registered.
async fn dispatch(app: &Arc<App>, job: &Job) -> Result<(), String> {
    match app.job(&job.kind) {
        Some(handler) => (handler.run)(app, job).await,
        None => Err(format!("unknown job kind {}", job.kind)),
    }
}

/// Hands the jobs of each kind that works a round at once to its
/// [`crate::state::JobKind::round`]; the ids of the jobs done so.
async fn run_rounds(app: &Arc<App>, jobs: &[Job]) -> Vec<i64> {
    let mut done = Vec::new();
    let mut kinds: Vec<&str> = jobs.iter().map(|job| job.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let Some(round) = app.job(kind).and_then(|handler| handler.round) else {
            continue;
        };
        let of_kind: Vec<&Job> = jobs.iter().filter(|job| job.kind == kind).collect();
        if of_kind.len() > 1 {
            done.extend(round(app, &of_kind).await);
        }
    }
    done
}

/// Runs `job`; true when it succeeded (its completion is recorded with its
/// batch's), a failure is recorded at once.
async fn run_job(app: &Arc<App>, job: &Job) -> bool {
    let Err(error) = dispatch(app, job).await else {
        return true;
    };
    tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
    if let Err(error) = retry_or_fail(&app.store, job, &app.node_id, &error).await {
        tracing::warn!(job = job.id, %error, "cannot record job outcome; its lease will expire and it will run again");
    }
    false
}

/// Jobs claimed in a round when the queue is short.
const BATCH: i64 = 16;
/// Jobs claimed in a round at most, once rounds come back full. Under a
/// load of new tickets each round waits its turn at the database's writer
/// (claiming and completing are writes) behind the tickets' commits: at
/// 16 a round the acknowledgements fell behind by thousands at 32 clients.
const MAX_BATCH: i64 = 64;

/// How many jobs the next round claims, after one that claimed `claimed`
/// of `batch`: twice as many while rounds come back full, else [`BATCH`].
fn next_batch(batch: i64, claimed: usize) -> i64 {
    if claimed as i64 >= batch {
        (batch * 2).min(MAX_BATCH)
    } else {
        BATCH
    }
}

/// Runs one claim-and-work round of at most `batch` jobs; returns how many ran.
async fn run_once(app: &Arc<App>, batch: i64) -> usize {
    let lease_ms = app.config.job_lease_seconds * 1000;
    let jobs = match claim(&app.store, &app.node_id, batch, lease_ms).await {
        Ok(jobs) => jobs,
        Err(error) => {
            tracing::warn!(%error, "cannot claim jobs");
            return 0;
        }
    };
    let mut done = run_rounds(app, &jobs).await;
    let rest: Vec<&Job> = jobs.iter().filter(|job| !done.contains(&job.id)).collect();
    // The batch runs concurrently: every job in it shares one lease, so
    // running them one after another could let the last ones' lease run out
    // (and another node take them over) while slow sends ahead of them finish.
    let succeeded = futures_util::future::join_all(rest.iter().map(|job| run_job(app, job))).await;
    done.extend(
        rest.iter()
            .zip(succeeded)
            .filter_map(|(job, ok)| ok.then_some(job.id)),
    );
    if let Err(error) = complete_many(&app.store, &done, &app.node_id).await {
        tracing::warn!(jobs = ?done, %error, "cannot record jobs as done; their lease will expire and they will run again");
    }
    jobs.len()
}

/// How often each worker looks for jobs whose lease ran out. Apart from
/// the claim, which runs far more often, so that the claim reads only
/// pending jobs (migration 0047); a lease is a minute by default.
const RESCUE_EVERY: Duration = Duration::from_secs(1);

/// Makes the jobs of dead workers pending again.
async fn rescue(app: &App) {
    match rescue_expired(&app.store, crate::store::now_ms()).await {
        Ok(0) => {}
        Ok(jobs) => tracing::warn!(jobs, "jobs whose lease ran out are pending again"),
        Err(error) => tracing::warn!(%error, "cannot look for jobs whose lease ran out"),
    }
}

/// Works the queue until `shutdown` turns true. Woken at once when this
/// process enqueues; polls for work other nodes enqueued.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(app.config.job_poll_milliseconds.max(10));
    let mut last_schedule: Option<std::time::Instant> = None;
    let mut last_rescue: Option<std::time::Instant> = None;
    let mut batch = BATCH;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if last_schedule.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            schedule_periodic(&app).await;
            last_schedule = Some(std::time::Instant::now());
        }
        if last_rescue.is_none_or(|t| t.elapsed() >= RESCUE_EVERY) {
            rescue(&app).await;
            last_rescue = Some(std::time::Instant::now());
        }
        let claimed = run_once(&app, batch).await;
        batch = next_batch(batch, claimed);
        if claimed > 0 {
            continue;
        }
        tokio::select! {
            _ = app.jobs_wakeup.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{next_batch, BATCH, MAX_BATCH};

    #[test]
    fn full_rounds_grow_the_batch_to_its_cap_and_a_short_one_resets_it() {
        assert_eq!(next_batch(BATCH, 16), 32);
        assert_eq!(next_batch(32, 32), 64);
        assert_eq!(next_batch(MAX_BATCH, 64), MAX_BATCH);
        assert_eq!(next_batch(64, 63), BATCH);
        assert_eq!(next_batch(BATCH, 0), BATCH);
    }
}
