//! What desk admins configured, as a new ticket reads it: the routing
//! setup (teams with their calendars, which teams have members, SLA
//! policies) and the category forms, kept in memory for [`FRESH_FOR`].
//!
//! Reading them for every ticket was four of its statements, each two
//! thread hand-offs on SQLite (docs/benchmarks-history.md, desk run 3), for
//! rows that change a few times a year. A change made through this node
//! ([`changed`], called by every admin write after its commit) applies to
//! the next ticket here; one made through another node applies here within
//! [`FRESH_FOR`], as if the ticket had come a moment earlier. Nothing a
//! ticket must not see is cached: an agent's load, cap and availability
//! are read under the team's lock in the ticket's transaction, so a member
//! removed elsewhere is never assigned, and a team staffed elsewhere in the
//! last second only gets this node's tickets unassigned for that second.

use crate::desk::error::DeskError;
use crate::desk::routing::Setup;
use crate::desk::store::forms as rows;
use crate::state::App;
use koban_policy::desk::forms::{self, Category, FormSpec};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a node uses what it read before reading it again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The configuration a new ticket is opened against.
pub struct Snapshot {
    pub setup: Setup,
    /// Stored forms by category; the others are the built-in defaults.
    forms: BTreeMap<String, FormSpec>,
}

impl Snapshot {
    /// The form a ticket of `category` is checked against.
    pub fn form(&self, category: Category) -> FormSpec {
        self.forms
            .get(category.as_str())
            .cloned()
            .unwrap_or_else(|| forms::default_form(category))
    }
}

/// The node's copy and the count of changes made through this node.
#[derive(Default)]
pub struct Cache {
    /// The snapshot, when it was read, and the change count it was read at.
    held: RwLock<Option<(Arc<Snapshot>, Instant, u64)>>,
    changes: AtomicU64,
    /// One reader at a time when it runs out, not one per waiting ticket.
    reading: tokio::sync::Mutex<()>,
}

impl Cache {
    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let changes = self.changes.load(Ordering::Acquire);
        let held = self.held.read().unwrap_or_else(|p| p.into_inner());
        held.as_ref()
            .filter(|(_, at, seen)| *seen == changes && at.elapsed() < FRESH_FOR)
            .map(|(snapshot, _, _)| snapshot.clone())
    }
}

fn cache(app: &App) -> &Cache {
    &app.part::<crate::desk::State>().snapshot
}

/// The current configuration: the node's copy while it is fresh, else read
/// again from a reader (never the writer).
pub async fn current(app: &App) -> Result<Arc<Snapshot>, DeskError> {
    let cache = cache(app);
    if let Some(snapshot) = cache.fresh() {
        return Ok(snapshot);
    }
    let _reading = cache.reading.lock().await;
    if let Some(snapshot) = cache.fresh() {
        return Ok(snapshot);
    }
    // Counted before reading: a change committed during the read makes the
    // next ticket read again.
    let changes = cache.changes.load(Ordering::Acquire);
    let snapshot = {
        let mut reader = app.store.read().acquire().await?;
        let setup = Setup::read(&mut reader).await?;
        let forms = rows::all(&mut *reader)
            .await?
            .into_iter()
            .filter_map(|(category, json)| {
                // A stored form this version cannot read is left to the
                // default, as `form_for` does.
                serde_json::from_str::<FormSpec>(&json)
                    .ok()
                    .map(|spec| (category, spec))
            })
            .collect();
        Arc::new(Snapshot { setup, forms })
    };
    *cache.held.write().unwrap_or_else(|p| p.into_inner()) =
        Some((snapshot.clone(), Instant::now(), changes));
    Ok(snapshot)
}

/// Tells this node that an admin changed teams, members, calendars, SLA
/// policies or forms: the next ticket reads them again. Called after the
/// change commits.
pub fn changed(app: &App) {
    cache(app).changes.fetch_add(1, Ordering::AcqRel);
}
