//! `koban-bench search`: the search figures of BENCHMARKS.md, in three
//! steps that `scripts/bench-search` runs around `koban serve` processes:
//!
//! - `load`: tickets with conversations in zh-CN, zh-TW, ja, th and en
//!   straight into the configured database, then the index rebuilt the way
//!   `koban search reindex` rebuilds it (tickets/s), before any server runs;
//! - `query`: a fixed set of queries in each language through `GET
//!   /api/v1/search` with an agent's token, one after another: p50/p95 per
//!   language and overall, the server's resident memory while serving,
//!   the index's size on disk;
//! - `fresh`: tickets written through one node's API and searched for
//!   through another's until found: the time from write to found.

mod corpus;
mod fill;
mod probe;
mod queries;

use crate::DEFAULT_PASSWORD;
use clap::{Args, Subcommand};
use koban::config::Config;
use std::path::{Path, PathBuf};

/// Options of `koban-bench search`.
#[derive(Debug, Args)]
pub struct SearchBench {
    #[command(subcommand)]
    pub step: SearchStep,
}

/// The steps of `koban-bench search`.
#[derive(Debug, Subcommand)]
pub enum SearchStep {
    /// Loads tickets with conversations straight into the configured
    /// database, then rebuilds the index in the configured data folder as
    /// `koban search reindex` does, timed. Run it with no server running.
    Load(SearchLoad),
    /// Times the query set through a running server's `GET /api/v1/search`
    /// with an agent's token; its memory; the index's size in the
    /// configured data folder (the server's).
    Query(SearchQueries),
    /// Writes tickets through one server's API and polls another's search
    /// (or the same one's) until each is found.
    Fresh(SearchFresh),
}

/// Options of `koban-bench search load`.
#[derive(Debug, Args)]
pub struct SearchLoad {
    /// Tickets in the database (loaded until there are that many).
    #[arg(long, default_value_t = 200_000)]
    pub tickets: usize,
    /// Agents the tickets are assigned to (the first one searches).
    #[arg(long, default_value_t = 30)]
    pub agents: usize,
    /// The agents' password.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// The same seed writes the same tickets.
    #[arg(long, default_value_t = 15)]
    pub seed: u64,
}

/// Options of `koban-bench search query`.
#[derive(Debug, Args)]
pub struct SearchQueries {
    /// Base URL of the running server.
    #[arg(long)]
    pub url: String,
    /// Measured searches per language (each language's queries in turn).
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    /// The agents' password (as given to `load`).
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Process id of the server, for its resident memory while serving.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Options of `koban-bench search fresh`.
#[derive(Debug, Args)]
pub struct SearchFresh {
    /// Base URL of the server tickets are written through.
    #[arg(long)]
    pub write_url: String,
    /// Base URL of the server searched (another node, or the same).
    #[arg(long)]
    pub search_url: String,
    /// Tickets written, one after another.
    #[arg(long, default_value_t = 200)]
    pub tickets: usize,
    /// The agents' password (as given to `load`).
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Pause between two searches for the same ticket.
    #[arg(long, default_value_t = 5)]
    pub poll_ms: u64,
    /// A ticket not found after this long counts as missed.
    #[arg(long, default_value_t = 10)]
    pub timeout_seconds: u64,
    /// Makes this run's tickets unique (default: from the pid).
    #[arg(long)]
    pub tag: Option<String>,
}

/// `koban-bench search …`.
pub(super) async fn run(config: Config, options: SearchBench) -> Result<(), String> {
    match options.step {
        SearchStep::Load(o) => fill::run(config, o).await,
        SearchStep::Query(o) => probe::queries(config, o).await,
        SearchStep::Fresh(o) => probe::fresh(o).await,
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The folder of the index generation in use under `data_dir`.
fn index_dir(data_dir: &str) -> Option<PathBuf> {
    let root = koban::search::engine::root(data_dir);
    koban::search::engine::current(&root).map(|g| root.join(g))
}

/// Bytes of the files under `dir`, recursively.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_index_size_counts_every_file_below() {
        let dir = std::env::temp_dir().join(format!("koban-bench-size-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        std::fs::write(dir.join("a"), [0u8; 100]).expect("a");
        std::fs::write(dir.join("sub").join("b"), [0u8; 23]).expect("b");
        assert_eq!(super::dir_bytes(&dir), 123);
        assert_eq!(super::dir_bytes(&dir.join("missing")), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
