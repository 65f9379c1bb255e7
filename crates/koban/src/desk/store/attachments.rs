//! The SQL of attachments: uploads waiting for their ticket or message,
//! the files a ticket carries, and identity-document requests.

use crate::store::StoreError;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

/// A file uploaded and not yet attached, or attached: what both share.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub kind: String,
    pub blob_key: String,
    pub thumbnail_key: Option<String>,
    pub file_name: String,
    pub file_type: String,
    pub size: i64,
    pub uploader_account_id: Option<i64>,
    pub created_at: i64,
}

const FILE_COLUMNS: &str =
    "id, kind, blob_key, thumbnail_key, file_name, file_type, size, uploader_account_id, created_at";

impl FileRow {
    fn from_row(row: &AnyRow) -> Result<FileRow, sqlx::Error> {
        Ok(FileRow {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            blob_key: row.try_get("blob_key")?,
            thumbnail_key: row.try_get("thumbnail_key")?,
            file_name: row.try_get("file_name")?,
            file_type: row.try_get("file_type")?,
            size: row.try_get("size")?,
            uploader_account_id: row.try_get("uploader_account_id")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// An attachment as stored on a ticket.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub file: FileRow,
    pub ticket_id: i64,
    pub message_id: Option<i64>,
    pub verifier_account_id: Option<i64>,
    pub delete_after: Option<i64>,
}

impl AttachmentRow {
    fn from_row(row: &AnyRow) -> Result<AttachmentRow, sqlx::Error> {
        Ok(AttachmentRow {
            file: FileRow::from_row(row)?,
            ticket_id: row.try_get("ticket_id")?,
            message_id: row.try_get("message_id")?,
            verifier_account_id: row.try_get("verifier_account_id")?,
            delete_after: row.try_get("delete_after")?,
        })
    }
}

const ATTACHMENT_COLUMNS: &str = "ticket_id, message_id, verifier_account_id, delete_after";

/// Records an upload under its token's keyed hash.
pub async fn insert_upload<'e, E>(
    executor: E,
    token_hash: &str,
    file: &FileRow,
    expires_at: i64,
) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO desk_uploads (token_hash, uploader_account_id, kind, blob_key, thumbnail_key,
            file_name, file_type, size, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(token_hash)
    .bind(file.uploader_account_id)
    .bind(&file.kind)
    .bind(&file.blob_key)
    .bind(&file.thumbnail_key)
    .bind(&file.file_name)
    .bind(&file.file_type)
    .bind(file.size)
    .bind(file.created_at)
    .bind(expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Takes the upload a token names, if it has not expired: deleted in the
/// same statement, so two requests naming one token never both get it.
pub async fn take_upload(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    now: i64,
) -> Result<Option<FileRow>, StoreError> {
    let row = sqlx::query(&format!(
        "DELETE FROM desk_uploads WHERE token_hash = $1 AND expires_at > $2 RETURNING {FILE_COLUMNS}"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(FileRow::from_row).transpose()?)
}

/// How many files a ticket carries.
pub async fn count_on_ticket(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM desk_attachments WHERE ticket_id = $1")
        .bind(ticket_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get("n")?)
}

/// Attaches a file to a ticket (and the message it came with); its id.
pub async fn insert_attachment(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    message_id: Option<i64>,
    file: &FileRow,
    verifier: Option<i64>,
    delete_after: Option<i64>,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_attachments (ticket_id, message_id, kind, blob_key, thumbnail_key,
            file_name, file_type, size, uploader_account_id, verifier_account_id, delete_after,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(ticket_id)
    .bind(message_id)
    .bind(&file.kind)
    .bind(&file.blob_key)
    .bind(&file.thumbnail_key)
    .bind(&file.file_name)
    .bind(&file.file_type)
    .bind(file.size)
    .bind(file.uploader_account_id)
    .bind(verifier)
    .bind(delete_after)
    .bind(file.created_at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// A ticket's files, oldest first.
pub async fn on_ticket<'e, E>(executor: E, ticket_id: i64) -> Result<Vec<AttachmentRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(&format!(
        "SELECT {FILE_COLUMNS}, {ATTACHMENT_COLUMNS} FROM desk_attachments
         WHERE ticket_id = $1 ORDER BY id"
    ))
    .bind(ticket_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(AttachmentRow::from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// The files that came with one message (never identity documents,
/// which are not the conversation's), oldest first.
/// (The ticket narrows it to the ticket's index.)
pub async fn on_message<'e, E>(
    executor: E,
    ticket_id: i64,
    message_id: i64,
) -> Result<Vec<FileRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(&format!(
        "SELECT {FILE_COLUMNS} FROM desk_attachments
         WHERE ticket_id = $1 AND message_id = $2 AND kind = 'attachment' ORDER BY id"
    ))
    .bind(ticket_id)
    .bind(message_id)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(FileRow::from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// One file of a ticket.
pub async fn one<'e, E>(
    executor: E,
    ticket_id: i64,
    id: i64,
) -> Result<Option<AttachmentRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {FILE_COLUMNS}, {ATTACHMENT_COLUMNS} FROM desk_attachments
         WHERE ticket_id = $1 AND id = $2"
    ))
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.as_ref().map(AttachmentRow::from_row).transpose()?)
}

/// Identity documents whose time is up.
pub async fn documents_due<'e, E>(
    executor: E,
    now: i64,
    limit: i64,
) -> Result<Vec<AttachmentRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(&format!(
        "SELECT {FILE_COLUMNS}, {ATTACHMENT_COLUMNS} FROM desk_attachments
         WHERE delete_after IS NOT NULL AND delete_after <= $1 ORDER BY delete_after LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(AttachmentRow::from_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Removes an attachment's record; whether it was there.
pub async fn delete_attachment(tx: &mut Transaction<'_, Any>, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM desk_attachments WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Uploads never attached whose token expired: (id, blob, thumbnail).
pub async fn expired_uploads<'e, E>(
    executor: E,
    now: i64,
    limit: i64,
) -> Result<Vec<(i64, String, Option<String>)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id, blob_key, thumbnail_key FROM desk_uploads WHERE expires_at <= $1
         ORDER BY expires_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("blob_key")?,
                r.try_get("thumbnail_key")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Removes an upload's record.
pub async fn delete_upload<'e, E>(executor: E, id: i64) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("DELETE FROM desk_uploads WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Whether any upload or attachment still names the blob: content is
/// shared, so it is deleted only when nothing does.
pub async fn blob_in_use<'e, E>(executor: E, key: &str) -> Result<bool, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT 1 AS one FROM desk_attachments WHERE blob_key = $1 OR thumbnail_key = $1
         UNION ALL
         SELECT 1 AS one FROM desk_uploads WHERE blob_key = $1 OR thumbnail_key = $1",
    )
    .bind(key)
    .fetch_optional(executor)
    .await?;
    Ok(row.is_some())
}

/// Records an agent's request for an identity document.
pub async fn insert_document_request(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    agent_id: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO desk_document_requests (ticket_id, agent_id, created_at) VALUES ($1, $2, $3)
         RETURNING id",
    )
    .bind(ticket_id)
    .bind(agent_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// The ticket's open document request (the newest): (id, agent).
pub async fn open_document_request(
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    let row = sqlx::query(
        "SELECT id, agent_id FROM desk_document_requests
         WHERE ticket_id = $1 AND fulfilled_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(ticket_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("id")?, r.try_get("agent_id")?)),
        None => None,
    })
}

/// Marks a document request answered.
pub async fn fulfil_document_request(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE desk_document_requests SET fulfilled_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
