//! Full-text search over tickets, their conversations and help-center
//! articles, in Chinese (simplified and traditional), Japanese, Thai and
//! Latin-script languages. Each node keeps its own tantivy index under
//! `<data_dir>/search/` and follows the database through the change log
//! `search_changes`, which triggers on the desk's tables write; a write is
//! searchable on every node within about [`follower::POLL`] and a commit.
//! Tokenizing, the query language, who may find what and how the log is
//! followed are pure rules in `koban_policy::search`.

pub mod api;
pub mod articles;
pub mod documents;
pub mod engine;
mod error;
pub mod find;
mod follower;
pub mod pages;
pub mod rebuild;
pub mod schema;
pub mod store;
pub mod tokenizer;

pub use error::SearchError;

use crate::domain::Domain;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::{now_ms, Migration};
use engine::Engine;
use std::sync::{Arc, RwLock};

/// Changes are kept this long; a node away longer rebuilds its index.
pub const CHANGE_LOG_MS: i64 = 24 * 60 * 60_000;

/// The node's index, once opened or built.
#[derive(Default)]
pub struct SearchState {
    engine: RwLock<Option<Arc<Engine>>>,
}

impl SearchState {
    /// The index in use, if it is ready.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.read().ok().and_then(|e| e.clone())
    }
}

/// This domain's part of the application.
pub fn state(app: &App) -> &SearchState {
    app.part::<SearchState>()
}

const PRUNE_JOB: JobKind = JobKind {
    kind: "search_prune_changes",
    round: None,
    every_ms: Some(60 * 60_000),
    run: run_prune,
};

fn run_prune<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        store::prune(app.store.write(), now_ms() - CHANGE_LOG_MS)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

pub fn domain() -> Domain {
    Domain {
        migrations: &[
            Migration {
                version: 40,
                name: "search",
                sql: include_str!("../../migrations/0040_search.sql"),
            },
            Migration {
                version: 43,
                name: "search_articles",
                sql: include_str!("../../migrations/0043_search_articles.sql"),
            },
        ],
        build: |_, _, parts| {
            parts.insert(SearchState::default());
            Ok(())
        },
        tags: &[(
            "search",
            "Full-text search over tickets, conversations and articles",
        )],
        api: api::router,
        pages: pages::router,
        templates: &[("search.html", include_str!("../../templates/search.html"))],
        jobs: &[PRUNE_JOB],
        background: &[follower::run],
        ..Domain::named("search")
    }
}
