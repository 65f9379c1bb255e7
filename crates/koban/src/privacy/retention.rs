//! The daily retention of the kinds of data nobody else prunes: delivery
//! records. The others are pruned where they live (docs/privacy.md has
//! the table): sign-in history by the security domain, identity documents
//! by the desk's purge, raw inbound mail by the email channel, the audit
//! log behind a signed checkpoint.

use super::store;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use koban_policy::privacy as rules;
use std::sync::Arc;

pub const RETENTION: &str = "privacy_retention";

pub const RETENTION_JOB: JobKind = JobKind {
    kind: RETENTION,
    every_ms: Some(crate::jobs::DAY_MS),
    run: run_retention,
};

fn run_retention<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move { enforce(app).await.map(drop).map_err(|e| e.to_string()) })
}

/// Deletes what is past its kind's retention; how many rows went.
pub async fn enforce(app: &App) -> Result<u64, super::PrivacyError> {
    let Some(cutoff) = rules::retention_cutoff(now_ms(), app.config.privacy_delivery_days) else {
        return Ok(0);
    };
    Ok(store::prune_deliveries(app.store.write(), cutoff).await?)
}
