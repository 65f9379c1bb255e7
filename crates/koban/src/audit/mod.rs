//! The tamper-evident audit log: append-only, hash-chained entries, one
//! chain per scope (`platform`, or `org:<organization id>`). Other domains
//! record with [`append_in`] inside their own change, so an action and its
//! entry commit together; [`verify`] names the first entry changed, removed,
//! moved or slipped in; [`cut`] prunes behind a checkpoint signed with the
//! server key. The encoding and the checking rule are pure, in
//! `koban_policy::audit`.

pub mod api;
pub mod appender;
pub mod store;

use crate::domain::Domain;
use crate::store::{Change, Migration, Store, StoreError};
use koban_policy::audit::{self as chain, Anchor, Break, Content, Hash, Link, GENESIS};
use store::{CheckpointRow, EntryRow};

/// The platform's own chain (the desk's account actions, administrators).
pub const PLATFORM: &str = "platform";

/// Purpose of the server-key subkey that signs checkpoints.
const CHECKPOINT_KEY: &str = "audit-checkpoint";

pub fn domain() -> Domain {
    Domain {
        migrations: &[Migration {
            version: 24,
            name: "audit",
            sql: include_str!("../../migrations/0024_audit.sql"),
        }],
        tags: &[("audit", "The tamper-evident audit log")],
        api: || {
            utoipa_axum::router::OpenApiRouter::new()
                .routes(utoipa_axum::routes!(api::verification))
                .routes(utoipa_axum::routes!(api::entries))
                .routes(utoipa_axum::routes!(api::export))
        },
        ..Domain::named("audit")
    }
}

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("not a scope: {0}")]
    BadScope(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Store(e.into())
    }
}

/// Whether `scope` names a chain: `platform` or `org:<positive id>`.
pub fn valid_scope(scope: &str) -> bool {
    scope == PLATFORM
        || scope
            .strip_prefix("org:")
            // One spelling per organization: no sign, no leading zero.
            .is_some_and(|id| {
                id.parse::<i64>()
                    .is_ok_and(|n| n > 0 && n.to_string() == id)
            })
}

/// What to record; `details` is JSON.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a serde_json::Value,
}

/// Appends entries to `scope` inside the caller's change: they commit or
/// roll back with the caller's action. Appends to one scope serialise on
/// its head row until the change ends.
pub async fn append_in(
    store: &Store,
    change: &mut Change,
    scope: &str,
    at_ms: i64,
    records: &[Record<'_>],
) -> Result<Vec<EntryRow>, AuditError> {
    if !valid_scope(scope) {
        return Err(AuditError::BadScope(scope.to_owned()));
    }
    let (mut seq, head_hex) = store::lock_head(
        &mut change.tx,
        store.backend(),
        scope,
        &hex::encode(GENESIS),
    )
    .await?;
    let mut prev = from_hex(&head_hex).unwrap_or(GENESIS);
    let mut rows = Vec::with_capacity(records.len());
    for r in records {
        seq += 1;
        let details = r.details.to_string();
        let canonical = chain::canonical(&Content {
            scope,
            seq,
            at_ms,
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: &details,
        });
        let hash = chain::entry_hash(&prev, &canonical);
        rows.push(EntryRow {
            scope: scope.to_owned(),
            seq,
            at: at_ms,
            actor: r.actor.to_owned(),
            action: r.action.to_owned(),
            target: r.target.to_owned(),
            details,
            prev_hash: hex::encode(prev),
            hash: hex::encode(hash),
        });
        prev = hash;
    }
    store::insert(&mut change.tx, &rows).await?;
    Ok(rows)
}

/// Appends one entry in a change of its own.
pub async fn append(
    store: &Store,
    scope: &str,
    record: Record<'_>,
) -> Result<EntryRow, AuditError> {
    let mut change = store.change().await?;
    let mut rows = append_in(
        store,
        &mut change,
        scope,
        crate::store::now_ms(),
        std::slice::from_ref(&record),
    )
    .await?;
    change.commit().await?;
    rows.pop()
        .ok_or_else(|| AuditError::Store(StoreError::Unavailable("no entry written".into())))
}

/// The result of checking a scope's chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub scope: String,
    /// Entries checked (those after the checkpoint, if any).
    pub checked: u64,
    /// The sequence the check started after: 0, or the checkpoint's.
    pub from_seq: i64,
    pub last_seq: i64,
    /// None when intact; else what is wrong and at which entry.
    #[schema(value_type = Option<Object>)]
    pub broken: Option<Break>,
    /// The checkpoint the check started from does not carry the server's
    /// signature (or its hash is unreadable).
    pub forged_checkpoint: bool,
}

/// A break in words, for the command line and logs.
pub fn describe(b: &Break) -> String {
    match b {
        Break::Changed { seq } => format!("entry {seq} was changed"),
        Break::Removed { seq } => format!("entry {seq} was removed"),
        Break::Reordered { seq } => format!("entry {seq} was moved out of its place"),
        Break::Inserted { after_seq } => {
            format!("an entry was slipped in after entry {after_seq}")
        }
    }
}

fn from_hex(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The signature of a checkpoint.
fn sign(app_key: &crate::crypto::ServerKey, scope: &str, seq: i64, hash: &Hash, at: i64) -> String {
    app_key.keyed_hash(
        CHECKPOINT_KEY,
        &chain::checkpoint_message(scope, seq, hash, at),
    )
}

/// Checks the chain of `scope` from its newest checkpoint (whose signature
/// is checked first) to its head.
pub async fn verify(
    store: &Store,
    key: &crate::crypto::ServerKey,
    scope: &str,
) -> Result<Verification, AuditError> {
    if !valid_scope(scope) {
        return Err(AuditError::BadScope(scope.to_owned()));
    }
    // One read transaction, so an append between the reads cannot look
    // like tampering.
    let mut tx = store.write().begin().await?;
    if store.backend() == crate::store::Backend::Postgres {
        // One snapshot for the head and the rows (SQLite's single writer
        // gives this already).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let checkpoint = store::last_checkpoint(&mut tx, scope).await?;
    let head = store::head(&mut tx, scope).await?;
    let mut forged = false;
    let start = match &checkpoint {
        None => Anchor {
            seq: 0,
            hash: GENESIS,
        },
        Some(cp) => {
            let hash = from_hex(&cp.hash);
            let good = hash.is_some_and(|h| {
                crate::crypto::constant_time_eq(
                    sign(key, scope, cp.seq, &h, cp.at).as_bytes(),
                    cp.signature.as_bytes(),
                )
            });
            forged = !good;
            Anchor {
                seq: cp.seq,
                hash: hash.unwrap_or(GENESIS),
            }
        }
    };
    let rows = store::chain(&mut tx, scope, start.seq).await?;
    tx.commit().await?;
    let links: Vec<Link> = rows.iter().map(|r| link(scope, r)).collect();
    let head = head.map(|(seq, hash)| Anchor {
        seq,
        hash: from_hex(&hash).unwrap_or([0xff; 32]),
    });
    let result = chain::verify(start, &links, head);
    Ok(Verification {
        scope: scope.to_owned(),
        checked: result.map_or(0, |v| v.checked),
        from_seq: start.seq,
        last_seq: result.map_or(start.seq, |v| v.last.seq),
        broken: result.err(),
        forged_checkpoint: forged,
    })
}

/// A stored row as the checker sees it: the canonical bytes are rebuilt
/// from the columns, so a changed column changes them. An unreadable hash
/// is taken as all ones, which matches nothing.
fn link(scope: &str, r: &EntryRow) -> Link {
    Link {
        seq: r.seq,
        prev_hash: from_hex(&r.prev_hash).unwrap_or([0xff; 32]),
        hash: from_hex(&r.hash).unwrap_or([0xff; 32]),
        canonical: chain::canonical(&Content {
            // The row's own scope column: moved between scopes, it breaks.
            scope: if r.scope == scope { scope } else { &r.scope },
            seq: r.seq,
            at_ms: r.at,
            actor: &r.actor,
            action: &r.action,
            target: &r.target,
            details: &r.details,
        }),
    }
}

/// Retention: signs a checkpoint at entry `seq` of `scope` and prunes the
/// entries up to it, in one change. Cuts only at an entry that exists.
/// Returns how many entries were pruned.
pub async fn cut(
    store: &Store,
    key: &crate::crypto::ServerKey,
    scope: &str,
    seq: i64,
    at_ms: i64,
) -> Result<Option<u64>, AuditError> {
    if !valid_scope(scope) {
        return Err(AuditError::BadScope(scope.to_owned()));
    }
    let mut change = store.change().await?;
    let Some(entry) = store::one(&mut change.tx, scope, seq).await? else {
        return Ok(None);
    };
    let Some(hash) = from_hex(&entry.hash) else {
        return Ok(None);
    };
    let checkpoint = CheckpointRow {
        seq,
        hash: entry.hash.clone(),
        at: at_ms,
        signature: sign(key, scope, seq, &hash, at_ms),
    };
    let pruned = store::cut(&mut change.tx, scope, &checkpoint).await?;
    change.commit().await?;
    Ok(Some(pruned))
}

/// Retention by age: in every scope, signs a checkpoint at the newest entry
/// older than `before` and prunes up to it, so what stays still verifies
/// from that checkpoint. Returns how many entries were pruned.
pub async fn prune_before(
    store: &Store,
    key: &crate::crypto::ServerKey,
    before: i64,
    now: i64,
) -> Result<u64, AuditError> {
    let mut pruned = 0;
    for (scope, seq) in store::last_before(store.write(), before).await? {
        pruned += cut(store, key, &scope, seq, now).await?.unwrap_or(0);
    }
    Ok(pruned)
}
