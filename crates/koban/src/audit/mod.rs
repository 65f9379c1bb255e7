//! The tamper-evident audit log (issue 14 §6): append-only chains of
//! entries, one per scope (`platform` for what support does to accounts;
//! one per organization as the enterprise domain arrives), each entry
//! holding the hash of the one before it. An entry is appended in the
//! transaction of the action it records, so an action and its entry are
//! written together or not at all. The chain rules are
//! `koban_policy::audit`; `koban audit verify` walks a chain.
//!
//! Below every domain that records actions: it uses only the shared layers.

mod store;

use crate::domain::Domain;
use crate::store::{now_ms, Migration, Store, StoreError};
use koban_policy::audit::{entry_hash, Break, Content, Start, Stored, Verifier};
use sqlx::{Any, Transaction};

/// The chain of what support and operators do on the platform.
pub const PLATFORM: &str = "platform";

/// Entries read per page while verifying.
const VERIFY_PAGE: i64 = 10_000;

/// The audit log's one error type.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Store(StoreError::Sqlx(e))
    }
}

/// An action to record.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub scope: &'a str,
    /// `account:<id>`, or `system`.
    pub actor: &'a str,
    pub action: &'a str,
    /// `account:<id>`, `ticket:<reference>` …
    pub target: &'a str,
    /// JSON.
    pub details: &'a serde_json::Value,
}

/// Appends `record` to its chain inside `tx`; its sequence number.
pub async fn append(
    tx: &mut Transaction<'_, Any>,
    store: &Store,
    record: &Record<'_>,
) -> Result<u64, AuditError> {
    let head = store::lock_head(tx, store.backend(), record.scope).await?;
    let details = record.details.to_string();
    let content = Content {
        seq: head.seq + 1,
        at_ms: now_ms(),
        actor: record.actor,
        action: record.action,
        target: record.target,
        details: &details,
    };
    let hash = entry_hash(&head.hash, &content);
    store::insert(
        tx,
        &store::NewEntry {
            scope: record.scope,
            content: &content,
            prev_hash: &head.hash,
            hash: &hash,
        },
    )
    .await?;
    Ok(content.seq)
}

/// What verifying a chain found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry checked (how many), ending at the head.
    Intact { entries: u64 },
    /// The first place the chain is broken.
    Broken(Break),
}

/// Walks chain `scope` from its beginning, in the order it was written.
pub async fn verify(store: &Store, scope: &str) -> Result<Verdict, AuditError> {
    // The head first: entries appended while the walk runs lie past it
    // and are left for the next walk.
    let head = store::head(store.read(), scope).await?;
    let mut verifier = Verifier::new(Start::BEGINNING);
    let mut after = 0;
    'pages: loop {
        let rows = store::page(store.read(), scope, after, VERIFY_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            if verifier.checked_through() >= head.seq {
                // What follows was appended after the head was read.
                break 'pages;
            }
            let seq = u64::try_from(row.seq).unwrap_or(u64::MAX);
            let entry = Stored {
                content: Content {
                    seq,
                    at_ms: row.at,
                    actor: &row.actor,
                    action: &row.action,
                    target: &row.target,
                    details: &row.details,
                },
                prev_hash: store::to_hash(&row.prev_hash),
                hash: store::to_hash(&row.hash),
            };
            if let Some(broken) = verifier.next(&entry) {
                return Ok(Verdict::Broken(broken));
            }
        }
    }
    Ok(match verifier.finish(head) {
        Ok(entries) => Verdict::Intact { entries },
        Err(broken) => Verdict::Broken(broken),
    })
}

/// The audit log as the application composes it.
pub fn domain() -> Domain {
    Domain {
        migrations: &[Migration {
            version: 26,
            name: "audit_chain",
            sql: include_str!("../../migrations/0026_audit_chain.sql"),
        }],
        ..Domain::named("audit")
    }
}
