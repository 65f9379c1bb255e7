//! Attachments, the Zendesk way: a file is uploaded first (checked by its
//! content, images re-encoded without their metadata and thumbnailed,
//! stored content-addressed in the blob store) and answered with a token;
//! the ticket or message that carries it names the token, which is used
//! once and expires after an hour.
//!
//! Archives are refused, never stored unopened: `koban_policy::desk::attachment`
//! says why. Identity documents (kind `identity_document`, asked for by an
//! agent on the lost-everything path) are sealed with the server key before
//! they reach the blob store, never thumbnailed, shown only to the agent who
//! asked and to supervisors, and deleted after `desk_identity_document_days`.

pub mod api;
pub mod purge;

use crate::blobs::images::{self, ImageLimits};
use crate::blobs::{BlobId, BlobStore};
use crate::desk::error::DeskError;
use crate::desk::store::attachments::{self as rows, AttachmentRow, FileRow};
use crate::state::App;
use bytes::Bytes;
use koban_policy::desk::attachment::{self, FileType, Limits, Refusal};
use sqlx::{Any, Transaction};

/// The desk's blob store, kept in the application's parts.
pub struct Blobs(pub BlobStore);

/// Where the desk keeps attachments' bytes.
pub fn blobs(app: &App) -> &BlobStore {
    &app.part::<Blobs>().0
}

/// The blob store the configuration names.
pub fn blob_store(config: &crate::config::Config) -> Result<BlobStore, String> {
    BlobStore::from_url(&config.blob_store, std::path::Path::new(&config.data_dir))
}

/// How long an upload's token may wait for its ticket or message.
pub const UPLOAD_TTL_MS: i64 = 60 * 60_000;
/// Most files on one ticket, over all its messages. The desk has no
/// configuration section of its own; this and [`limits`] are constants
/// until it does. Fifty screenshots is more than any conversation needs.
pub const MAX_FILES_PER_TICKET: i64 = 50;
/// The per-file and per-message limits: 10 MiB, 10 files.
pub fn limits() -> Limits {
    Limits::default()
}
/// The largest upload body the server reads (one file, not multipart).
pub const UPLOAD_BODY_BYTES: usize = 10 * 1024 * 1024;
/// What identity documents are sealed for.
const DOCUMENT_PURPOSE: &str = "desk-identity-document";
/// What upload tokens are hashed for.
const TOKEN_PURPOSE: &str = "desk-upload-token";

/// What an upload is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeskUploadKind {
    /// A screenshot, log or PDF for the conversation.
    Attachment,
    /// An identity document an agent asked for on the lost-everything path.
    IdentityDocument,
}

impl DeskUploadKind {
    fn as_str(self) -> &'static str {
        match self {
            DeskUploadKind::Attachment => "attachment",
            DeskUploadKind::IdentityDocument => "identity_document",
        }
    }
}

/// An upload waiting to be named by a ticket or message.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeskUploaded {
    /// Name it in `attachments` when opening a ticket or adding a message.
    pub token: String,
    /// The name it is stored and offered under (sanitised; an image's
    /// extension follows its re-encoded format).
    pub file_name: String,
    /// What its content is: png, jpeg, gif, webp, pdf or text.
    pub file_type: String,
    /// Stored size in bytes (after re-encoding).
    pub size: i64,
    pub kind: DeskUploadKind,
    /// Milliseconds since the Unix epoch after which the token is void.
    pub expires_at: i64,
}

/// The refusal of a file as the API words it: 413 for size, else 422 on `file`.
fn refused(refusal: Refusal) -> DeskError {
    match refusal {
        Refusal::TooLarge { max, .. } => DeskError::TooLarge(max),
        other => DeskError::field("file", other.code()),
    }
}

/// Checks, processes and stores one uploaded file; answers its token.
pub async fn upload(
    app: &App,
    uploader: Option<i64>,
    kind: DeskUploadKind,
    declared_name: &str,
    bytes: Bytes,
) -> Result<DeskUploaded, DeskError> {
    let now = crate::store::now_ms();
    let accepted = attachment::inspect(declared_name, &bytes, &limits()).map_err(refused)?;
    let (content, name, file_type, thumbnail) = if accepted.file_type.is_image() {
        let processed = images::process(bytes, accepted.file_type, ImageLimits::default())
            .await
            .map_err(|e| DeskError::field("file", e.code()))?;
        let shown = processed.image.file_type;
        (
            processed.image.bytes,
            attachment::rename_for(&accepted.name, shown),
            shown,
            Some(processed.thumbnail.bytes),
        )
    } else {
        (bytes, accepted.name, accepted.file_type, None)
    };
    let size = content.len() as i64;
    let (content, thumbnail) = match kind {
        // Sealed before it leaves the process; no thumbnail in the clear.
        DeskUploadKind::IdentityDocument => {
            (Bytes::from(app.key.seal(DOCUMENT_PURPOSE, &content)), None)
        }
        DeskUploadKind::Attachment => (content, thumbnail),
    };
    let store = blobs(app);
    let blob_key = store.put(content).await.map_err(internal)?;
    let thumbnail_key = match thumbnail {
        Some(t) => Some(store.put(t).await.map_err(internal)?.to_string()),
        None => None,
    };
    let token = crate::crypto::random_token(24);
    let file = FileRow {
        id: 0,
        kind: kind.as_str().to_string(),
        blob_key: blob_key.to_string(),
        thumbnail_key,
        file_name: name,
        file_type: file_type.code().to_string(),
        size,
        uploader_account_id: uploader,
        created_at: now,
    };
    let expires_at = now + UPLOAD_TTL_MS;
    rows::insert_upload(app.store.write(), &hash(app, &token), &file, expires_at).await?;
    Ok(DeskUploaded {
        token,
        file_name: file.file_name,
        file_type: file.file_type,
        size,
        kind,
        expires_at,
    })
}

fn hash(app: &App, token: &str) -> String {
    app.key.keyed_hash(TOKEN_PURPOSE, token.as_bytes())
}

fn internal(e: impl std::fmt::Display) -> DeskError {
    DeskError::Internal(e.to_string())
}

/// Attaches the uploads `tokens` name to a ticket (and the message they
/// came with), in the caller's transaction: a token unknown, expired, used,
/// or uploaded by another account refuses them all and attaches nothing.
pub async fn attach(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    ticket_id: i64,
    message_id: Option<i64>,
    author: Option<i64>,
    tokens: &[String],
    now: i64,
) -> Result<(), DeskError> {
    if tokens.is_empty() {
        return Ok(());
    }
    let too_many = |r: Refusal| DeskError::field("attachments", r.code());
    attachment::check_count(0, tokens.len(), &limits()).map_err(too_many)?;
    let existing = rows::count_on_ticket(tx, ticket_id).await?;
    if existing + tokens.len() as i64 > MAX_FILES_PER_TICKET {
        return Err(DeskError::field("attachments", "attachment_too_many"));
    }
    for (i, token) in tokens.iter().enumerate() {
        let invalid = || DeskError::field(&format!("attachments[{i}]"), "not_an_attachment");
        if token.len() > 64 {
            return Err(invalid());
        }
        let file = rows::take_upload(tx, &hash(app, token), now)
            .await?
            .ok_or_else(invalid)?;
        // A signed-in upload belongs to its account; a signed-out one to
        // whoever holds the token.
        if file.uploader_account_id.is_some() && file.uploader_account_id != author {
            return Err(invalid());
        }
        let (verifier, delete_after) = if file.kind == "identity_document" {
            let (request, agent) = rows::open_document_request(tx, ticket_id)
                .await?
                .ok_or_else(invalid)?;
            rows::fulfil_document_request(tx, request, now).await?;
            let days = app.config.desk_identity_document_days.max(1);
            (Some(agent), Some(now + days * 86_400_000))
        } else {
            (None, None)
        };
        let id = rows::insert_attachment(tx, ticket_id, message_id, &file, verifier, delete_after)
            .await?;
        let kind = if verifier.is_some() {
            "identity_document_received"
        } else {
            "attached"
        };
        crate::desk::store::insert_event(
            tx,
            ticket_id,
            author,
            kind,
            &serde_json::json!({ "attachment": id, "file_name": file.file_name, "size": file.size }),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Whether `viewer` may see `row`: every attachment is for whoever sees
/// the ticket; an identity document only for the agent who asked for it
/// and for supervisors.
/// `viewer` is None for a signed-out requester holding a lookup grant, who
/// sees the ticket's files but never an identity document.
pub fn may_see(row: &AttachmentRow, viewer: Option<&crate::accounts::sessions::Current>) -> bool {
    row.file.kind != "identity_document"
        || viewer.is_some_and(|viewer| {
            row.verifier_account_id == Some(viewer.account.id)
                || viewer.account.has_role("supervisor")
        })
}

/// A stored file's bytes (an identity document's unsealed).
pub async fn content(app: &App, row: &AttachmentRow, thumbnail: bool) -> Result<Bytes, DeskError> {
    let key = match (thumbnail, &row.file.thumbnail_key) {
        (false, _) => &row.file.blob_key,
        (true, Some(key)) => key,
        (true, None) => return Err(DeskError::NotFound),
    };
    let id = BlobId::parse(key).map_err(internal)?;
    let bytes = blobs(app)
        .get(&id)
        .await
        .map_err(internal)?
        .ok_or(DeskError::NotFound)?;
    if row.file.kind == "identity_document" {
        let plain = app
            .key
            .open(DOCUMENT_PURPOSE, &bytes)
            .ok_or_else(|| DeskError::Internal("identity document does not open".into()))?;
        return Ok(Bytes::from(plain));
    }
    Ok(bytes)
}

/// The Content-Type a stored type is served with: never one a browser
/// would run (text is plain text, whatever it holds).
pub fn served_type(code: &str) -> &'static str {
    match FileType::ALL.into_iter().find(|t| t.code() == code) {
        Some(FileType::Text) => "text/plain; charset=utf-8",
        Some(t) => t.mime(),
        None => "application/octet-stream",
    }
}

/// Deletes a blob when no record names it any more.
pub async fn release_blob(app: &App, key: &str) -> Result<(), DeskError> {
    if rows::blob_in_use(app.store.read(), key).await? {
        return Ok(());
    }
    let id = BlobId::parse(key).map_err(internal)?;
    blobs(app).delete(&id).await.map_err(internal)
}
