//! The daily retention job. Everyone's retention of delivery records,
//! closed tickets, attachments and the audit log is enforced here; the
//! sign-in history and identity documents keep their own jobs where they
//! live (security, desk). The regional rules' shorter retentions, of every
//! kind but the audit log, are enforced here too, for the accounts of
//! their regions. docs/privacy.md has the table.

use super::store::{self, retention as rows};
use super::PrivacyError;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use koban_policy::privacy::regions::{self, Kind};
use koban_policy::privacy::{self as rules, DAY_MS};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const RETENTION: &str = "privacy_retention";

pub const RETENTION_JOB: JobKind = JobKind {
    kind: RETENTION,
    round: None,
    every_ms: Some(crate::jobs::DAY_MS),
    run: run_retention,
};

/// Rows handled per statement or transaction, so a long backlog does not
/// hold the writer.
const BATCH: i64 = 500;

fn run_retention<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let done = enforce(app).await.map_err(|e| e.to_string())?;
        tracing::info!(?done, "privacy retention");
        Ok(())
    })
}

/// Everyone's retention in days (0: for ever) of `kind`, from the key the
/// table in docs/privacy.md names.
pub fn global_days(app: &App, kind: Kind) -> i64 {
    let c = &app.config;
    match kind {
        Kind::SignInHistory => c.login_history_days,
        Kind::Tickets => c.privacy_ticket_days,
        Kind::Attachments => c.privacy_attachment_days,
        Kind::IdentityDocuments => c.desk_identity_document_days,
        Kind::DeliveryRecords => c.privacy_delivery_days,
        Kind::AuditLog => c.privacy_audit_days,
    }
}

/// The kinds whose everyone's retention this job enforces; the others'
/// jobs live where their rows do.
const EVERYONES_HERE: [Kind; 4] = [
    Kind::DeliveryRecords,
    Kind::Tickets,
    Kind::Attachments,
    Kind::AuditLog,
];

/// How many rows of each kind went, by kind's name.
pub type Done = BTreeMap<&'static str, u64>;

/// Deletes what is past its retention, everyone's then the regions'.
pub async fn enforce(app: &App) -> Result<Done, PrivacyError> {
    let now = now_ms();
    let mut done = Done::new();
    let mut add = |kind: Kind, n: u64| *done.entry(kind.name()).or_default() += n;
    let cutoff = |days: i64| rules::retention_cutoff(now, days);

    for kind in EVERYONES_HERE {
        if let Some(before) = cutoff(global_days(app, kind)) {
            add(kind, prune(app, kind, before, None, now).await?);
        }
    }

    let regional = super::regional_rules(app);
    let passes: Vec<(Kind, String, i64)> = Kind::ALL
        .into_iter()
        .filter(|k| k.regional())
        .flat_map(|kind| {
            regional
                .shortened(kind, global_days(app, kind))
                .into_iter()
                .map(move |(region, days)| (kind, region.to_string(), days))
        })
        .collect();
    if passes.is_empty() {
        return Ok(done);
    }
    let accounts = accounts_by_region(app).await?;
    for (kind, region, days) in passes {
        let Some(ids) = accounts.get(&region) else {
            continue;
        };
        let before = now.saturating_sub(days.saturating_mul(DAY_MS));
        for chunk in ids.chunks(BATCH as usize) {
            let n = prune(app, kind, before, Some(chunk), now).await?;
            add(kind, n);
        }
    }
    Ok(done)
}

/// Deletes the rows of `kind` older than `before`: everyone's, or only
/// those of `accounts` (a region's rule). The pairs never asked delete
/// nothing: the audit log for a region (not [`Kind::regional`]), and
/// everyone's sign-in history and identity documents (not
/// [`EVERYONES_HERE`]: their own jobs take them).
async fn prune(
    app: &App,
    kind: Kind,
    before: i64,
    accounts: Option<&[i64]>,
    now: i64,
) -> Result<u64, PrivacyError> {
    Ok(match (kind, accounts) {
        (Kind::DeliveryRecords, None) => store::prune_deliveries(app.store.write(), before).await?,
        (Kind::DeliveryRecords, Some(ids)) => {
            rows::prune_deliveries_of(app.store.write(), ids, before).await?
        }
        (Kind::SignInHistory, Some(ids)) => {
            rows::prune_sign_ins_of(app.store.write(), ids, before).await?
        }
        (Kind::Tickets, _) => prune_tickets(app, before, accounts).await?,
        (Kind::Attachments, _) => prune_attachments(app, "attachment", before, accounts).await?,
        (Kind::IdentityDocuments, Some(_)) => {
            prune_attachments(app, "identity_document", before, accounts).await?
        }
        (Kind::AuditLog, None) => {
            crate::audit::prune_before(&app.store, &app.key, before, now).await?
        }
        (Kind::SignInHistory | Kind::IdentityDocuments, None) | (Kind::AuditLog, Some(_)) => 0,
    })
}

/// Every account's id by its region (those whose region is unknown are
/// left out: only everyone's retention holds for them).
async fn accounts_by_region(app: &App) -> Result<BTreeMap<String, Vec<i64>>, PrivacyError> {
    let mut by_region: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut after = 0;
    loop {
        let batch = rows::region_rows(app.store.read(), after, BATCH).await?;
        let Some(last) = batch.last() else {
            return Ok(by_region);
        };
        after = last.0;
        for (id, phone, country) in batch {
            if let Some(region) = regions::account_region(phone.as_deref(), country.as_deref()) {
                by_region.entry(region).or_default().push(id);
            }
        }
    }
}

/// The region an account is known by (docs/privacy.md).
pub async fn region_of(app: &App, account_id: i64) -> Result<Option<String>, PrivacyError> {
    Ok(rows::region_row_of(app.store.read(), account_id)
        .await?
        .and_then(|(_, phone, country)| {
            regions::account_region(phone.as_deref(), country.as_deref())
        }))
}

/// Deletes the tickets closed before `before` (of `accounts`' requests
/// when given), each with its messages, events and attachments in one
/// change; their blobs are released once nothing names them.
async fn prune_tickets(
    app: &App,
    before: i64,
    accounts: Option<&[i64]>,
) -> Result<u64, PrivacyError> {
    let mut deleted = 0;
    loop {
        let due = rows::closed_tickets(app.store.write(), before, accounts, BATCH).await?;
        if due.is_empty() {
            return Ok(deleted);
        }
        for id in &due {
            let mut tx = app.store.write().begin().await?;
            let blobs = rows::delete_ticket(&mut tx, *id).await?;
            tx.commit().await?;
            if let Some(blobs) = blobs {
                deleted += 1;
                release(app, &blobs).await?;
            }
        }
        if (due.len() as i64) < BATCH {
            return Ok(deleted);
        }
    }
}

/// Deletes the attachments of `kind` uploaded before `before` (on
/// `accounts`' tickets when given), each deletion recorded on its ticket as
/// the desk's purge records an identity document's.
async fn prune_attachments(
    app: &App,
    kind: &str,
    before: i64,
    accounts: Option<&[i64]>,
) -> Result<u64, PrivacyError> {
    let mut deleted = 0;
    loop {
        let due = rows::attachments_due(app.store.write(), kind, before, accounts, BATCH).await?;
        let now = now_ms();
        for row in &due {
            let mut tx = app.store.write().begin().await?;
            // Another node may have taken it first: then it records nothing.
            if crate::desk::store::attachments::delete_attachment(&mut tx, row.id).await? {
                let event = if kind == "identity_document" {
                    "identity_document_deleted"
                } else {
                    "attachment_deleted"
                };
                crate::desk::store::insert_event(
                    &mut tx,
                    row.ticket_id,
                    None,
                    event,
                    &serde_json::json!({
                        "attachment": row.id,
                        "file_name": row.file_name,
                        "uploaded_at": row.created_at,
                        "reason": "retention",
                    }),
                    now,
                )
                .await?;
                deleted += 1;
            }
            tx.commit().await?;
            let mut blobs = vec![row.blob_key.clone()];
            blobs.extend(row.thumbnail_key.clone());
            release(app, &blobs).await?;
        }
        if (due.len() as i64) < BATCH {
            return Ok(deleted);
        }
    }
}

/// Deletes each blob no record names any more.
pub async fn release(app: &App, blobs: &[String]) -> Result<(), PrivacyError> {
    for key in blobs {
        crate::desk::attachments::release_blob(app, key)
            .await
            .map_err(|e| PrivacyError::Blob(e.to_string()))?;
    }
    Ok(())
}
