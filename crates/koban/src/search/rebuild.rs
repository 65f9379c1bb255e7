//! Builds a whole index from the database into a new generation, then
//! puts it in use. Used by a node whose index is missing, unreadable or
//! behind the pruned log, and by `koban search reindex`.

use super::engine::{self, Engine};
use super::{articles, documents, store};
use crate::state::App;
use crate::store::now_ms;
use std::sync::Arc;

/// Changes of the last this-many milliseconds are applied again after a
/// rebuild: one still committing while the rebuild read the tables is not lost.
const SETTLE_MS: i64 = 10_000;
const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: {0}")]
    Task(String),
}

/// Rebuilds into a new generation and publishes it; `progress(done, total)`
/// after each page of tickets. Returns the engine and the seq it holds.
pub async fn rebuild(
    app: &App,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<(Arc<Engine>, i64), RebuildError> {
    let root = engine::root(&app.config.data_dir);
    std::fs::create_dir_all(&root)?;
    let pool = app.store.read();
    let cursor = store::rebuild_cursor(pool, now_ms(), SETTLE_MS).await?;
    let total = store::ticket_count(pool).await?.max(0) as u64;
    let root_for_create = root.clone();
    let engine = Arc::new(
        tokio::task::spawn_blocking(move || Engine::create(&root_for_create))
            .await
            .map_err(|e| RebuildError::Task(e.to_string()))??,
    );
    let fields = engine.fields;
    let mut after = 0;
    let mut done = 0u64;
    loop {
        let tickets = store::tickets_after(pool, after, PAGE).await?;
        let (Some(first), Some(last)) = (tickets.first(), tickets.last()) else {
            break;
        };
        let messages = store::messages_of_range(pool, first.id, last.id).await?;
        let mut by_ticket: std::collections::HashMap<i64, Vec<&store::MessageDoc>> =
            std::collections::HashMap::new();
        for m in &messages {
            by_ticket.entry(m.ticket_id).or_default().push(m);
        }
        let docs: Vec<_> = tickets
            .iter()
            .flat_map(|t| {
                let conversation = by_ticket.get(&t.id).map(Vec::as_slice).unwrap_or(&[]);
                documents::conversation(&fields, t, conversation)
            })
            .collect();
        after = last.id;
        done += tickets.len() as u64;
        let e = engine.clone();
        tokio::task::spawn_blocking(move || e.add(docs))
            .await
            .map_err(|e| RebuildError::Task(e.to_string()))??;
        progress(done, total.max(done));
    }
    let mut after = 0;
    loop {
        let page = articles::all(app, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let docs = page
            .iter()
            .map(|a| documents::article(&fields, a))
            .collect();
        let e = engine.clone();
        tokio::task::spawn_blocking(move || e.add(docs))
            .await
            .map_err(|e| RebuildError::Task(e.to_string()))??;
    }
    let e = engine.clone();
    tokio::task::spawn_blocking(move || e.apply(&[], &[], Vec::new(), cursor))
        .await
        .map_err(|e| RebuildError::Task(e.to_string()))??;
    engine::publish(&root, &engine.generation)?;
    Ok((engine, cursor))
}
