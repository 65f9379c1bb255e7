//! The loop that runs due jobs, and the table of job kinds.

use super::{claim, complete, retry_or_fail, Job};
use crate::app::App;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Job kind: deliver one row of `deliveries`.
pub const DELIVER: &str = "deliver";
/// Job kind: send the security reminders due this period.
pub const SECURITY_REMINDERS: &str = "security_reminders";
/// Job kind: delete login history past its retention.
pub const PRUNE_LOGIN_HISTORY: &str = "prune_login_history";

/// Job kind: delete what has expired within the hour: idempotent answers
/// past their day, send allowances past their window.
pub const PRUNE_EXPIRED: &str = "prune_expired";

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Periodic jobs with their period, each enqueued once a period whichever
/// node gets there first (the idempotency key carries the period's number).
const PERIODIC: [(&str, i64); 3] = [
    (SECURITY_REMINDERS, DAY_MS),
    (PRUNE_LOGIN_HISTORY, DAY_MS),
    (PRUNE_EXPIRED, HOUR_MS),
];

/// Enqueues this period's periodic jobs if no node has yet.
pub async fn schedule_periodic(app: &App) {
    let now = crate::store::now_ms();
    for (kind, period_ms) in PERIODIC {
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

async fn dispatch(app: &Arc<App>, job: &Job) -> Result<(), String> {
    match job.kind.as_str() {
        DELIVER => {
            let id = job
                .payload
                .get("delivery_id")
                .and_then(|v| v.as_i64())
                .ok_or("payload lacks delivery_id")?;
            crate::delivery::process(app, id, job.attempts >= job.max_attempts).await
        }
        crate::accounts::service::SEND_CODE_JOB => {
            crate::accounts::service::send_requested_code(app, &job.payload)
                .await
                .map_err(|e| e.to_string())
        }
        crate::security::recovery::SEND_UNLOCK_CODE_JOB => {
            crate::security::recovery::issue_unlock_code(app, &job.payload)
                .await
                .map_err(|e| e.to_string())
        }
        SECURITY_REMINDERS => crate::security::reminders::send_due(app)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        PRUNE_LOGIN_HISTORY => {
            let keep_ms = app.config.login_history_days.max(1) * DAY_MS;
            let now = crate::store::now_ms();
            let window_ms = app.security.risk.ip_failure_window_ms;
            async {
                crate::security::history::prune(&app.store, now - keep_ms).await?;
                crate::security::guards::prune_idle_addresses(&app.store, now, window_ms).await
            }
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
        PRUNE_EXPIRED => {
            let now = crate::store::now_ms();
            async {
                crate::http::idempotency::prune(
                    &app.store,
                    now - crate::http::idempotency::KEEP_MS,
                )
                .await?;
                crate::accounts::codes::prune_allowances(&app.store, now).await
            }
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown job kind {other}")),
    }
}

async fn run_job(app: &Arc<App>, job: &Job) {
    let outcome = dispatch(app, job).await;
    let recorded = match &outcome {
        Ok(()) => complete(&app.store, job, &app.node_id).await,
        Err(error) => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
            retry_or_fail(&app.store, job, &app.node_id, error).await
        }
    };
    if let Err(error) = recorded {
        tracing::warn!(job = job.id, %error, "cannot record job outcome; its lease will expire and it will run again");
    }
}

/// Runs one claim-and-work round; returns how many jobs ran.
pub async fn run_once(app: &Arc<App>) -> usize {
    let lease_ms = app.config.job_lease_seconds * 1000;
    let jobs = match claim(&app.store, &app.node_id, 16, lease_ms).await {
        Ok(jobs) => jobs,
        Err(error) => {
            tracing::warn!(%error, "cannot claim jobs");
            return 0;
        }
    };
    // The batch runs concurrently: every job in it shares one lease, so
    // running them one after another could let the last ones' lease run out
    // (and another node take them over) while slow sends ahead of them finish.
    futures_util::future::join_all(jobs.iter().map(|job| run_job(app, job))).await;
    jobs.len()
}

/// Works the queue until `shutdown` turns true. Woken at once when this
/// process enqueues; polls for work other nodes enqueued.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let poll = Duration::from_millis(app.config.job_poll_milliseconds.max(10));
    let mut last_schedule: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if last_schedule.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            schedule_periodic(&app).await;
            last_schedule = Some(std::time::Instant::now());
        }
        if run_once(&app).await > 0 {
            continue;
        }
        tokio::select! {
            _ = app.jobs_wakeup.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = shutdown.changed() => {}
        }
    }
}
