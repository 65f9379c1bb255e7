//! Each node's background task: opens (or rebuilds) its index, then tails
//! the change log, re-reading the rows each change names and replacing
//! their documents, committing at most every [`POLL`]. It also notices a
//! generation published by `koban search reindex` and switches to it.

use super::engine::{self, Engine};
use super::{articles, documents, rebuild, store, SearchState};
use crate::state::App;
use crate::store::now_ms;
use koban_policy::search::follow::Follow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The pause between polls of the change log: a write is searchable on
/// every node within about this plus a commit.
pub const POLL: Duration = Duration::from_millis(150);
/// The pause after a poll that took in at least [`BUSY`] changes. Under
/// load each commit makes a segment that tantivy soon merges again, and
/// each commit reloads the searcher; committing once a second instead of
/// seven times makes segments seven times larger, so fewer merges and
/// reloads take the CPU the writes need. A lone write is still searchable
/// within [`POLL`].
const BUSY_POLL: Duration = Duration::from_secs(1);
/// Changes in one poll that make it a busy one: about 150 tickets a second.
const BUSY: usize = 64;
/// The most changes read per poll: more than a second of the busiest load.
const BATCH: i64 = 5_000;

/// How long to wait before the next poll, after one that applied `changes`:
/// none after a full batch, since more are waiting (a rebuild's backlog, a
/// bulk load) and the index should catch up at full speed.
fn pause_after(changes: usize) -> Duration {
    if changes as i64 >= BATCH {
        Duration::ZERO
    } else if changes >= BUSY {
        BUSY_POLL
    } else {
        POLL
    }
}

/// The background task of [`super::domain`].
pub fn run(app: Arc<App>, stop: watch::Receiver<bool>) -> crate::domain::Drain<'static> {
    Box::pin(async move { follow(app, stop).await })
}

async fn follow(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let state = super::state(&app);
    let root = engine::root(&app.config.data_dir);
    let mut current: Option<(Arc<Engine>, Follow)> = None;
    let mut checked_generation = std::time::Instant::now();
    while !*stop.borrow() {
        let mut applied = 0;
        let step = match current.take() {
            None => start(&app, &root)
                .await
                .map(|(e, seq)| (e, Follow::new(seq))),
            Some((engine, mut follow)) => {
                // A generation published by `koban search reindex` replaces ours.
                if checked_generation.elapsed() > Duration::from_secs(1) {
                    checked_generation = std::time::Instant::now();
                    if engine::current(&root).as_deref() != Some(engine.generation.as_str()) {
                        state.set(None);
                        let old = engine.generation.clone();
                        drop(engine);
                        engine::remove(&root, &old);
                        continue;
                    }
                }
                match poll(&app, &engine, &mut follow).await {
                    Ok(changes) => {
                        applied = changes;
                        Ok((engine, follow))
                    }
                    Err(error) => {
                        tracing::warn!(%error, "search: following the change log failed; retrying");
                        Ok((engine, follow))
                    }
                }
            }
        };
        match step {
            Ok((engine, follow)) => {
                state.set(Some(engine.clone()));
                current = Some((engine, follow));
            }
            Err(error) => {
                tracing::warn!(%error, "search: the index could not be opened or rebuilt; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause_after(applied)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Opens the index in use, or rebuilds it when it is missing, unreadable,
/// of another version, or behind what pruning removed.
async fn start(
    app: &App,
    root: &std::path::Path,
) -> Result<(Arc<Engine>, i64), rebuild::RebuildError> {
    let root_owned = root.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || Engine::open(&root_owned))
        .await
        .map_err(|e| rebuild::RebuildError::Task(e.to_string()))?;
    let pruned = store::pruned_through(app.store.read()).await?;
    if let Some((engine, seq)) = opened {
        if seq >= pruned {
            return Ok((Arc::new(engine), seq));
        }
        tracing::info!(
            seq,
            pruned,
            "search index is behind the pruned change log; rebuilding it"
        );
    }
    let started = std::time::Instant::now();
    let old = engine::current(root);
    let (engine, seq) = rebuild::rebuild(app, &|_, _| {}).await?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "search index rebuilt"
    );
    if let Some(old) = old.filter(|o| *o != engine.generation) {
        engine::remove(root, &old);
    }
    Ok((engine, seq))
}

/// Reads the changes after the cursor (and the gaps still awaited) and
/// applies them in one commit; how many there were.
async fn poll(
    app: &App,
    engine: &Arc<Engine>,
    follow: &mut Follow,
) -> Result<usize, rebuild::RebuildError> {
    let pool = app.store.read();
    let changes = store::changes(pool, follow.high(), &follow.gaps(), BATCH).await?;
    if changes.is_empty() {
        follow.saw(&[], now_ms());
        return Ok(0);
    }
    let mut tickets = BTreeSet::new();
    let mut messages = BTreeSet::new();
    let mut contacts = BTreeSet::new();
    let mut articles_changed = BTreeSet::new();
    for c in &changes {
        match c.kind.as_str() {
            "ticket" => tickets.insert(c.entity_id),
            "message" => messages.insert(c.entity_id),
            "contact" => contacts.insert(c.entity_id),
            "article" => articles_changed.insert(c.entity_id),
            _ => false,
        };
    }
    if !contacts.is_empty() {
        let ids: Vec<i64> = contacts.into_iter().collect();
        tickets.extend(store::tickets_of_contacts(pool, &ids).await?);
    }
    // A message's change re-indexes its ticket (the opening message is part
    // of the ticket's document); its own key goes too, for a message that
    // was deleted or moved to another ticket.
    let message_ids: Vec<i64> = messages.into_iter().collect();
    tickets.extend(
        store::messages(pool, &message_ids)
            .await?
            .iter()
            .map(|m| m.ticket_id),
    );
    let mut keys: Vec<String> = message_ids
        .iter()
        .map(|id| documents::message_key(*id))
        .collect();
    let ticket_ids: Vec<i64> = tickets.into_iter().collect();
    let ticket_rows = store::tickets(pool, &ticket_ids).await?;
    let message_rows = store::messages_of(pool, &ticket_ids).await?;
    let mut by_ticket: HashMap<i64, Vec<&store::MessageDoc>> = HashMap::new();
    for m in &message_rows {
        by_ticket.entry(m.ticket_id).or_default().push(m);
    }
    let f = engine.fields;
    let mut docs: Vec<_> = ticket_rows
        .iter()
        .flat_map(|t| {
            let conversation = by_ticket.get(&t.id).map(Vec::as_slice).unwrap_or(&[]);
            documents::conversation(&f, t, conversation)
        })
        .collect();
    if !articles_changed.is_empty() {
        let ids: Vec<i64> = articles_changed.into_iter().collect();
        let found = articles::load(app, &ids).await?;
        // Every language version goes; the current ones come back.
        for id in &ids {
            for lang in crate::web::i18n::Lang::ALL {
                keys.push(documents::article_key(*id, lang.tag()));
            }
        }
        docs.extend(found.iter().map(|a| documents::article(&f, a)));
    }
    keys.sort();
    keys.dedup();
    let seqs: Vec<i64> = changes.iter().map(|c| c.seq).collect();
    let mut next = follow.clone();
    next.saw(&seqs, now_ms());
    let seq = next.durable();
    let e = engine.clone();
    tokio::task::spawn_blocking(move || e.apply(&keys, &ticket_ids, docs, seq))
        .await
        .map_err(|e| rebuild::RebuildError::Task(e.to_string()))??;
    *follow = next;
    Ok(changes.len())
}

impl SearchState {
    fn set(&self, engine: Option<Arc<Engine>>) {
        if let Ok(mut slot) = self.engine.write() {
            *slot = engine;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pause_after, BATCH, BUSY, BUSY_POLL, POLL};
    use std::time::Duration;

    #[test]
    fn the_pause_grows_under_load_and_vanishes_behind_a_backlog() {
        assert_eq!(pause_after(0), POLL);
        assert_eq!(pause_after(BUSY - 1), POLL);
        assert_eq!(pause_after(BUSY), BUSY_POLL);
        assert_eq!(pause_after(BATCH as usize), Duration::ZERO);
    }
}
