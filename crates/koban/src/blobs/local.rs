//! Blobs in a local directory: `<root>/ab/cd/<hash>`, each written to a
//! temporary file in `<root>/tmp` and renamed into place, so a reader never
//! sees half a blob and a crash leaves at most a stray temporary file.

use super::{BlobError, BlobId};
use bytes::Bytes;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// A directory of blobs.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// The store rooted at `root` (created on the first write).
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    /// Its directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `id` lives. Only a checked [`BlobId`] gets here, so the path
    /// stays under the root.
    fn path(&self, id: &BlobId) -> PathBuf {
        self.root.join(id.relative_path())
    }

    pub(super) async fn put(&self, id: &BlobId, bytes: Bytes) -> Result<(), BlobError> {
        let root = self.root.clone();
        let path = self.path(id);
        blocking(move || write_atomically(&root, &path, &bytes)).await
    }

    pub(super) async fn get(&self, id: &BlobId) -> Result<Option<Bytes>, BlobError> {
        match tokio::fs::read(self.path(id)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn exists(&self, id: &BlobId) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path(id)).await?)
    }

    pub(super) async fn delete(&self, id: &BlobId) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn write_atomically(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    // Same content, same name: what is there already is this.
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir)?;
    let tmp_dir = root.join("tmp");
    std::fs::create_dir_all(&tmp_dir)?;
    let tmp = tmp_dir.join(format!("{}.tmp", crate::crypto::random_token(12)));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        // On disk before the name points at it, so a crash cannot leave a
        // named blob with missing content.
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a crash once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(written?)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Backend(format!("blob task failed: {e}")))?
}
