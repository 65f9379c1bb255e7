//! One node's index on disk: `<data_dir>/search/<generation>/`, the
//! generation in use named by `<data_dir>/search/current`. A rebuild
//! writes a new generation and then replaces `current` in one rename, so a
//! crash while indexing leaves the old generation in use. Each commit
//! records, in tantivy's commit payload, the schema version and the
//! change-log seq the index holds everything up to, so a restart resumes
//! the log where the index stands.

use super::schema::{Fields, VERSION};
use super::tokenizer;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// The indexing memory budget of one node's writer.
const WRITER_BYTES: usize = 30_000_000;

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    version: u32,
    seq: i64,
}

/// An open index generation with its writer.
pub struct Engine {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub writer: Mutex<IndexWriter>,
    /// The generation's name, as `current` names it.
    pub generation: String,
}

/// The folder of every generation.
pub fn root(data_dir: &str) -> PathBuf {
    Path::new(data_dir).join("search")
}

/// The generation `current` names, if any.
pub fn current(root: &Path) -> Option<String> {
    let name = std::fs::read_to_string(root.join("current")).ok()?;
    let name = name.trim();
    // Only a name this code wrote: never a path out of the folder.
    (name.starts_with("g-") && name[2..].chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| name.to_string())
}

/// Makes `generation` the one in use, atomically.
pub fn publish(root: &Path, generation: &str) -> std::io::Result<()> {
    let temp = root.join("current.tmp");
    std::fs::write(&temp, generation)?;
    std::fs::File::open(&temp)?.sync_all()?;
    std::fs::rename(&temp, root.join("current"))?;
    if let Ok(dir) = std::fs::File::open(root) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes a generation no longer in use (the one a rebuild replaced).
/// A rebuild that crashed leaves its unpublished folder behind; it is
/// never opened, and `koban search reindex` can be run again.
pub fn remove(root: &Path, generation: &str) {
    if generation.starts_with("g-") && !generation.contains(['/', '\\', '.']) {
        let _ = std::fs::remove_dir_all(root.join(generation));
    }
}

fn prepare(index: &Index) {
    index.tokenizers().register(
        tokenizer::NAME,
        tantivy::tokenizer::TextAnalyzer::from(tokenizer::Koban),
    );
}

impl Engine {
    /// Opens the generation in use; `None` when there is none, it cannot
    /// be read, or it was written by another schema version: the caller
    /// rebuilds.
    pub fn open(root: &Path) -> Option<(Engine, i64)> {
        let generation = current(root)?;
        let opened = (|| -> tantivy::Result<(Engine, i64)> {
            let dir = MmapDirectory::open(root.join(&generation))
                .map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?;
            let index = Index::open(dir)?;
            let payload: Option<Payload> = index
                .load_metas()?
                .payload
                .and_then(|p| serde_json::from_str(&p).ok());
            let Some(Payload {
                version: VERSION,
                seq,
            }) = payload
            else {
                return Err(tantivy::TantivyError::InvalidArgument("old version".into()));
            };
            let (schema, fields) = Fields::schema();
            if index.schema() != schema {
                return Err(tantivy::TantivyError::InvalidArgument(
                    "other schema".into(),
                ));
            }
            Ok((Engine::around(index, fields, generation.clone())?, seq))
        })();
        match opened {
            Ok(found) => Some(found),
            Err(error) => {
                tracing::warn!(%error, generation, "search index unusable; rebuilding it");
                None
            }
        }
    }

    /// A new, empty generation (not yet in use).
    pub fn create(root: &Path) -> tantivy::Result<Engine> {
        let generation = format!(
            "g-{}{}",
            crate::store::now_ms(),
            crate::crypto::random_token(4).replace(['-', '_'], "x")
        );
        let path = root.join(&generation);
        std::fs::create_dir_all(&path)?;
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_dir(&path, schema)?;
        Engine::around(index, fields, generation)
    }

    fn around(index: Index, fields: Fields, generation: String) -> tantivy::Result<Engine> {
        prepare(&index);
        let writer = index.writer_with_num_threads(1, WRITER_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Engine {
            index,
            reader,
            fields,
            writer: Mutex::new(writer),
            generation,
        })
    }

    /// Deletes the documents of these keys and tickets, adds `docs`, and
    /// commits recording `seq`; then searches see the change.
    pub fn apply(
        &self,
        keys: &[String],
        tickets: &[i64],
        docs: Vec<TantivyDocument>,
        seq: i64,
    ) -> tantivy::Result<()> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| tantivy::TantivyError::InvalidArgument("writer poisoned".into()))?;
        for key in keys {
            writer.delete_term(Term::from_field_text(self.fields.key, key));
        }
        for id in tickets {
            writer.delete_term(Term::from_field_i64(self.fields.ticket, *id));
        }
        for doc in docs {
            writer.add_document(doc)?;
        }
        let payload = serde_json::json!({ "version": VERSION, "seq": seq }).to_string();
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload);
        commit.commit()?;
        drop(writer);
        self.reader.reload()
    }

    /// Adds documents without committing (a rebuild's pages).
    pub fn add(&self, docs: Vec<TantivyDocument>) -> tantivy::Result<()> {
        let writer = self
            .writer
            .lock()
            .map_err(|_| tantivy::TantivyError::InvalidArgument("writer poisoned".into()))?;
        for doc in docs {
            writer.add_document(doc)?;
        }
        Ok(())
    }
}
