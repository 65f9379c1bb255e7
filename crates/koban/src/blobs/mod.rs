//! Content-addressed blobs: the bytes of attachments, named by their SHA-256.
//!
//! One interface, [`BlobStore`], over two backends: a local directory under
//! the data folder (the default) and S3-compatible object stores through the
//! `object_store` crate. Writing the same content twice stores it once, so a
//! screenshot forwarded to three tickets costs its bytes once; the flip side
//! is that [`BlobStore::delete`] removes the content for everyone who refers
//! to it, so whoever records attachments (the desk, in its tables) deletes a
//! blob only when no record names it any more.
//!
//! Which backend is chosen by one URL ([`BlobStore::from_url`]):
//!
//! | URL | store |
//! |---|---|
//! | `""` (empty) | `<data_dir>/blobs` |
//! | `file:///srv/koban/blobs` | that directory (absolute) |
//! | `s3://bucket` or `s3://bucket/some/prefix` | Amazon S3, credentials and region from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …) |
//! | `s3://KEY_ID:SECRET@bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1` | an S3-compatible store (MinIO, Ceph, Garage, moto) at `endpoint`, path-style, with the credentials given (percent-encode `/` and `+` in the secret) |
//!
//! Query parameters of `s3://`: `endpoint` (an `http://` one allows plain
//! HTTP), `region` (default `us-east-1`), `virtual_hosted` (`true` for
//! `bucket.endpoint` addressing; the default is path-style when an endpoint
//! is given), `session_token`. Any other parameter is refused, so a typo
//! fails at start-up and not on the first upload.
//!
//! Objects are laid out alike in both: `ab/cd/abcd…` (the first two bytes of
//! the hash as two directory levels), so a local directory can be copied
//! into a bucket as it is.
#![warn(missing_docs)]

pub mod images;
mod local;
mod s3;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use local::LocalStore;
pub use s3::S3Store;

/// A blob's name: the lower-case hex SHA-256 of its content. Holding one
/// means the string was checked, so it is safe in a path or an object key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobId(String);

impl BlobId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(hex::encode(Sha256::digest(bytes)))
    }

    /// Checks that `s` is 64 lower-case hex digits.
    pub fn parse(s: &str) -> Result<BlobId, BlobError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(BlobId(s.to_string()))
        } else {
            Err(BlobError::InvalidId)
        }
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the blob lives relative to the store's root: `ab/cd/abcd…`.
    pub fn relative_path(&self) -> String {
        format!("{}/{}/{}", &self.0[..2], &self.0[2..4], self.0)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BlobId {
    type Err = BlobError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BlobId::parse(s)
    }
}

impl TryFrom<String> for BlobId {
    type Error = BlobError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        BlobId::parse(&s)
    }
}

impl From<BlobId> for String {
    fn from(id: BlobId) -> String {
        id.0
    }
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The id is not 64 lower-case hex digits.
    #[error("a blob id is 64 lower-case hexadecimal digits")]
    InvalidId,
    /// The stored bytes no longer hash to their id.
    #[error("blob {0} is corrupt: its content no longer matches its hash")]
    Corrupt(BlobId),
    /// The local directory failed.
    #[error("blob store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed (network, credentials, bucket).
    #[error("object store: {0}")]
    Backend(String),
}

/// Where blobs are kept: one of the backends, chosen by [`BlobStore::from_url`].
#[derive(Debug, Clone)]
pub enum BlobStore {
    /// A directory on this machine.
    Local(LocalStore),
    /// An S3-compatible bucket.
    S3(S3Store),
}

impl BlobStore {
    /// The store a `blob_store` setting names (see the module's table);
    /// `data_dir` is where the empty setting puts it. Makes no request and
    /// creates nothing: the local directory is made on the first write.
    /// Errors never repeat the URL's credentials.
    pub fn from_url(url: &str, data_dir: &Path) -> Result<BlobStore, String> {
        let url = url.trim();
        if url.is_empty() {
            return Ok(BlobStore::Local(LocalStore::new(data_dir.join("blobs"))));
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            format!("blob_store: not a URL ({e}); use \"\", file:///absolute/path or s3://bucket/prefix")
        })?;
        match parsed.scheme() {
            "file" => {
                if parsed.query().is_some() || parsed.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(
                        "blob_store: a file URL is file:///absolute/path, without host or query"
                            .into(),
                    );
                }
                let path = parsed
                    .to_file_path()
                    .map_err(|()| "blob_store: the file URL's path is not absolute".to_string())?;
                Ok(BlobStore::Local(LocalStore::new(path)))
            }
            "s3" => S3Store::from_url(&parsed).map(BlobStore::S3),
            other => Err(format!(
                "blob_store: unknown scheme {other:?}; use \"\", file:///absolute/path or s3://bucket/prefix"
            )),
        }
    }

    /// Stores `bytes` and returns their id; storing content already there
    /// writes nothing.
    pub async fn put(&self, bytes: Bytes) -> Result<BlobId, BlobError> {
        let (id, bytes) = hash(bytes).await?;
        match self {
            BlobStore::Local(s) => s.put(&id, bytes).await?,
            BlobStore::S3(s) => s.put(&id, bytes).await?,
        }
        Ok(id)
    }

    /// The content of `id`, or `None` when there is no such blob. Content
    /// that no longer matches its hash is an error, never returned.
    pub async fn get(&self, id: &BlobId) -> Result<Option<Bytes>, BlobError> {
        let found = match self {
            BlobStore::Local(s) => s.get(id).await?,
            BlobStore::S3(s) => s.get(id).await?,
        };
        let Some(bytes) = found else { return Ok(None) };
        let (actual, bytes) = hash(bytes).await?;
        if &actual != id {
            return Err(BlobError::Corrupt(id.clone()));
        }
        Ok(Some(bytes))
    }

    /// Whether `id` is stored.
    pub async fn exists(&self, id: &BlobId) -> Result<bool, BlobError> {
        match self {
            BlobStore::Local(s) => s.exists(id).await,
            BlobStore::S3(s) => s.exists(id).await,
        }
    }

    /// Removes `id`; removing what is not there succeeds. The content goes
    /// for every reference to it: see the module documentation.
    pub async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        match self {
            BlobStore::Local(s) => s.delete(id).await,
            BlobStore::S3(s) => s.delete(id).await,
        }
    }
}

impl fmt::Display for BlobStore {
    /// Where the blobs are, for logs; never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobStore::Local(s) => write!(f, "local directory {}", s.root().display()),
            BlobStore::S3(s) => fmt::Display::fmt(s, f),
        }
    }
}

/// Hashes off the async threads: 10 MiB takes tens of milliseconds.
async fn hash(bytes: Bytes) -> Result<(BlobId, Bytes), BlobError> {
    tokio::task::spawn_blocking(move || (BlobId::of(&bytes), bytes))
        .await
        .map_err(|e| BlobError::Backend(format!("hashing task failed: {e}")))
}
