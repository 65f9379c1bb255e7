//! The files an outgoing mail carries. The delivery row keeps only their
//! references (a blob key, a name, a type, a size); the bytes stay in the
//! blob store and are read when the mail is sent, so a queued reply with a
//! 10 MiB log costs the database a few hundred bytes, and a retry reads
//! them again rather than keeping them in memory.

use bytes::Bytes;

/// One file of a mail, by reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailFile {
    /// The blob holding its bytes, in the application's blob store.
    pub blob_key: String,
    /// The name the reader's client offers it under.
    pub file_name: String,
    /// Its MIME type, as it is served (`image/png`, `text/plain; charset=utf-8`).
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
}

/// The files of a mail as stored (JSON), or none.
pub(super) fn to_column(files: &[MailFile]) -> Option<String> {
    (!files.is_empty())
        .then(|| serde_json::to_string(files).ok())
        .flatten()
}

/// The files a stored mail names.
pub(super) fn from_column(column: Option<&str>) -> Vec<MailFile> {
    column
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default()
}

/// Reads each file's bytes from the blob store. A file whose blob is gone
/// (it can only have been deleted by hand: the desk never deletes a
/// conversation's files) is left out and logged, so the reply still
/// reaches the requester; a store that cannot be read fails the send, to
/// be retried.
pub(super) async fn load(
    app: &crate::state::App,
    delivery: i64,
    files: Vec<MailFile>,
) -> Result<Vec<(MailFile, Bytes)>, String> {
    let store = crate::desk::attachments::blobs(app);
    let mut loaded = Vec::with_capacity(files.len());
    for file in files {
        let id = crate::blobs::BlobId::parse(&file.blob_key).map_err(|e| e.to_string())?;
        match store
            .get(&id)
            .await
            .map_err(|e| format!("blob store: {e}"))?
        {
            Some(bytes) => loaded.push((file, bytes)),
            None => tracing::warn!(
                delivery,
                file = %file.file_name,
                "a mail's file is missing from the blob store; sent without it"
            ),
        }
    }
    Ok(loaded)
}
