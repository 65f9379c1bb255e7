//! The periodic clean-up of attachments: identity documents past their
//! retention (each deletion recorded on its ticket) and uploads whose token
//! expired unused. A blob goes only when no record names it any more.

use crate::desk::store::attachments as rows;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use std::sync::Arc;

/// The job kind's name.
pub const PURGE: &str = "desk_attachments_purge";

/// Run every hour: a document is gone within an hour of its day.
pub const JOB: JobKind = JobKind {
    kind: PURGE,
    round: None,
    every_ms: Some(60 * 60_000),
    run: run_purge,
};

/// Rows handled per run; the next run takes the rest.
const BATCH: i64 = 500;

fn run_purge<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move { purge(app).await.map(|_| ()).map_err(|e| e.to_string()) })
}

/// Deletes what is due; how many identity documents went.
pub async fn purge(app: &App) -> Result<usize, crate::desk::DeskError> {
    let now = now_ms();
    let due = rows::documents_due(app.store.read(), now, BATCH).await?;
    let mut deleted = 0;
    for row in due {
        let mut tx = app.store.write().begin().await?;
        // Another node may have taken it first: then it records nothing.
        if rows::delete_attachment(&mut tx, row.file.id).await? {
            crate::desk::store::insert_event(
                &mut tx,
                row.ticket_id,
                None,
                "identity_document_deleted",
                &serde_json::json!({
                    "attachment": row.file.id,
                    "file_name": row.file.file_name,
                    "uploaded_at": row.file.created_at,
                    "reason": "retention",
                }),
                now,
            )
            .await?;
            deleted += 1;
        }
        tx.commit().await?;
        crate::desk::attachments::release_blob(app, &row.file.blob_key).await?;
    }
    for (id, blob, thumbnail) in rows::expired_uploads(app.store.read(), now, BATCH).await? {
        rows::delete_upload(app.store.write(), id).await?;
        crate::desk::attachments::release_blob(app, &blob).await?;
        if let Some(thumbnail) = thumbnail {
            crate::desk::attachments::release_blob(app, &thumbnail).await?;
        }
    }
    Ok(deleted)
}
