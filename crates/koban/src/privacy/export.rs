//! Data exports: a signed-in person asks for everything Koban holds about
//! them; a job gathers it section by section (the progress shown as it
//! goes), stores one JSON archive in the blob store, and the owner alone
//! downloads it until its link expires, when a job deletes the bytes.

use super::store;
use super::PrivacyError;
use crate::accounts::store as accounts_store;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::privacy::{self as rules, Download};
use std::sync::Arc;

/// The job that prepares one export.
pub const PREPARE: &str = "privacy_export";
/// The job that deletes archives past their link's lifetime.
pub const EXPIRE: &str = "privacy_export_expiry";

pub const PREPARE_JOB: JobKind = JobKind {
    kind: PREPARE,
    round: None,
    every_ms: None,
    run: run_prepare,
};

/// Hourly: an expired archive is gone within the hour.
pub const EXPIRE_JOB: JobKind = JobKind {
    kind: EXPIRE,
    round: None,
    every_ms: Some(crate::jobs::HOUR_MS),
    run: run_expire,
};

/// An export as its owner sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PrivacyExport {
    pub id: i64,
    /// `queued`, `preparing`, `ready`, `failed` or `expired`.
    pub status: String,
    /// Percent gathered; 100 once ready.
    pub progress: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub ready_at: Option<i64>,
    /// When the download link stops working.
    pub expires_at: Option<i64>,
    /// The archive's size in bytes, once ready.
    pub bytes: Option<i64>,
    /// Where to fetch the archive while it is ready.
    pub download: Option<String>,
}

impl PrivacyExport {
    fn of(row: store::ExportRow, now: i64) -> PrivacyExport {
        let open = rules::download(&row.status, row.expires_at, now) == Download::Open;
        PrivacyExport {
            download: open.then(|| format!("/api/v1/me/exports/{}/download", row.id)),
            id: row.id,
            // A ready export past its time reads expired before the job
            // has deleted its bytes.
            status: if rules::download(&row.status, row.expires_at, now) == Download::Expired {
                "expired".into()
            } else {
                row.status
            },
            progress: row.progress,
            created_at: row.created_at,
            ready_at: row.ready_at,
            expires_at: row.expires_at,
            bytes: row.bytes,
        }
    }
}

/// Asks for an export: a new one (true), or the one already in progress
/// (false), never a second job.
pub async fn request(app: &App, account_id: i64) -> Result<(PrivacyExport, bool), PrivacyError> {
    // The one in progress may finish between a refused insert and the
    // read that looks for it: then the insert is tried again.
    for _ in 0..3 {
        let now = now_ms();
        let mut change = app.store.change().await?;
        if let Some(id) = store::insert_export(&mut *change.tx, account_id, now).await? {
            crate::jobs::enqueue(
                &mut *change.tx,
                PREPARE,
                &serde_json::json!({ "export": id }),
                Some(&format!("privacy_export:{id}")),
                now,
            )
            .await?;
            change.commit().await?;
            app.jobs_wakeup.notify_one();
            let row = store::export_of(app.store.write(), account_id, id)
                .await?
                .ok_or(PrivacyError::NotFound)?;
            return Ok((PrivacyExport::of(row, now), true));
        }
        drop(change);
        if let Some(row) = store::in_progress(app.store.write(), account_id).await? {
            return Ok((PrivacyExport::of(row, now), false));
        }
    }
    Err(PrivacyError::Store(crate::store::StoreError::Unavailable(
        "export requests kept colliding".into(),
    )))
}

/// The account's exports, newest first.
pub async fn list(app: &App, account_id: i64) -> Result<Vec<PrivacyExport>, PrivacyError> {
    let now = now_ms();
    Ok(store::exports_of(app.store.read(), account_id, 20)
        .await?
        .into_iter()
        .map(|row| PrivacyExport::of(row, now))
        .collect())
}

/// One of the account's exports; another person's is not found.
pub async fn show(app: &App, account_id: i64, id: i64) -> Result<PrivacyExport, PrivacyError> {
    let row = store::export_of(app.store.read(), account_id, id)
        .await?
        .ok_or(PrivacyError::NotFound)?;
    Ok(PrivacyExport::of(row, now_ms()))
}

/// The archive of one of the account's exports: not found for another
/// person's, gone once expired, a conflict while still being prepared.
pub async fn archive(app: &App, account_id: i64, id: i64) -> Result<bytes::Bytes, PrivacyError> {
    let row = store::export_of(app.store.read(), account_id, id)
        .await?
        .ok_or(PrivacyError::NotFound)?;
    match rules::download(&row.status, row.expires_at, now_ms()) {
        Download::Open => {}
        Download::Expired => return Err(PrivacyError::Expired),
        Download::NotReady => return Err(PrivacyError::NotReady),
    }
    let blob = row.blob_id.as_deref().ok_or(PrivacyError::NotReady)?;
    let blob = crate::blobs::BlobId::parse(blob).map_err(|e| PrivacyError::Blob(e.to_string()))?;
    crate::desk::attachments::blobs(app)
        .get(&blob)
        .await
        .map_err(|e| PrivacyError::Blob(e.to_string()))?
        .ok_or(PrivacyError::Expired)
}

fn run_prepare<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let Some(id) = job.payload["export"].as_i64() else {
            return Ok(());
        };
        let outcome = prepare(app, id).await;
        if outcome.is_err() && job.attempts >= job.max_attempts {
            // The last try failed: the person may ask again.
            let _ = store::fail_export(app.store.write(), id).await;
        }
        outcome.map_err(|e| e.to_string())
    })
}

/// Gathers, stores and publishes one export. Idempotent: an export no
/// longer in progress is left alone, and storing the same bytes twice
/// stores them once.
pub async fn prepare(app: &App, id: i64) -> Result<(), PrivacyError> {
    let row = sqlx_export(app, id).await?;
    let Some(row) = row else { return Ok(()) };
    if !matches!(row.status.as_str(), "queued" | "preparing") {
        return Ok(());
    }
    let account_id = row.account_id;
    let total = rules::SECTIONS.len();
    let mut archive = serde_json::Map::new();
    archive.insert("format".into(), "koban-export/1".into());
    archive.insert("export_id".into(), id.into());
    archive.insert("generated_at".into(), now_ms().into());
    // A region whose tickets must not leave: the sections stay, empty, and
    // the archive says why, in the person's language.
    let region = super::retention::region_of(app, account_id).await?;
    let tickets_allowed = super::regional_rules(app).may_export_tickets(region.as_deref());
    if !tickets_allowed {
        let lang = accounts_store::find_by_id(app.store.read(), account_id)
            .await?
            .and_then(|a| a.locale.as_deref().and_then(Lang::parse))
            .unwrap_or(Lang::En);
        let region = region.unwrap_or_default();
        archive.insert(
            "withheld".into(),
            serde_json::json!({
                "sections": rules::TICKET_SECTIONS,
                "region": region,
                "reason": t(lang, "privacy-export-tickets-withheld", &[("region", region.clone())]),
            }),
        );
    }
    for (done, section) in rules::SECTIONS.iter().enumerate() {
        store::set_progress(
            app.store.write(),
            id,
            i64::from(rules::progress(done, total)),
        )
        .await?;
        let rows = if !tickets_allowed && rules::TICKET_SECTIONS.contains(section) {
            vec![]
        } else if *section == "messages" {
            messages(app, account_id).await?
        } else if let Some(query) = store::section_query(section) {
            store::section_rows(app.store.read(), &query, account_id).await?
        } else {
            vec![]
        };
        let value = if *section == "account" {
            rows.into_iter().next().unwrap_or(serde_json::Value::Null)
        } else {
            serde_json::Value::Array(rows)
        };
        archive.insert((*section).to_string(), value);
    }
    let bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(archive))
        .map_err(|e| PrivacyError::Blob(e.to_string()))?;
    let size = bytes.len() as i64;
    let blob = crate::desk::attachments::blobs(app)
        .put(bytes::Bytes::from(bytes))
        .await
        .map_err(|e| PrivacyError::Blob(e.to_string()))?;
    let ready_at = now_ms();
    store::finish_export(
        app.store.write(),
        id,
        blob.as_str(),
        size,
        ready_at,
        rules::link_expires_at(ready_at, app.config.privacy_export_link_days),
    )
    .await?;
    Ok(())
}

/// The export by id alone, for the job (which has no owner to check).
async fn sqlx_export(app: &App, id: i64) -> Result<Option<store::ExportRow>, PrivacyError> {
    let owner = store::owner_of_export(app.store.write(), id).await?;
    match owner {
        Some(account) => Ok(store::export_of(app.store.write(), account, id).await?),
        None => Ok(None),
    }
}

/// The public messages of the account's tickets (never internal notes).
async fn messages(app: &App, account_id: i64) -> Result<Vec<serde_json::Value>, PrivacyError> {
    Ok(store::ticket_messages(app.store.read(), account_id)
        .await?
        .into_iter()
        .filter(|m| rules::message_exported(m.public))
        .map(|m| {
            serde_json::json!({
                "ticket": m.reference,
                "author": m.author_kind,
                "body": m.body,
                "created_at": m.created_at,
            })
        })
        .collect())
}

fn run_expire<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move { expire(app).await.map(drop).map_err(|e| e.to_string()) })
}

/// Deletes the archives whose link ran out; how many.
pub async fn expire(app: &App) -> Result<usize, PrivacyError> {
    let due = store::expired_exports(app.store.write(), now_ms()).await?;
    for (id, blob) in &due {
        if let Some(blob) = blob {
            // Each archive names its export and its time, so no other
            // record shares its content-addressed blob.
            if let Ok(blob) = crate::blobs::BlobId::parse(blob) {
                crate::desk::attachments::blobs(app)
                    .delete(&blob)
                    .await
                    .map_err(|e| PrivacyError::Blob(e.to_string()))?;
            }
        }
        store::mark_expired(app.store.write(), *id).await?;
    }
    Ok(due.len())
}
