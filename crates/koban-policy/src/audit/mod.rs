//! The audit log's chain: how an entry is encoded and hashed, and how a
//! stored chain is checked. Pure: the caller reads the rows (in the order
//! they were written) and the scope's head or checkpoint, and acts on the
//! answer. Each entry's hash covers the previous entry's hash and its own
//! canonical content, so changing, removing, inserting or moving any entry
//! breaks the chain at that entry; `verify` names the first break.

mod chain;

pub use chain::{verify, Anchor, Break, Link, Verified};

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash the first entry of a scope links to (no entry before it).
pub const GENESIS: Hash = [0; 32];

/// Bumped if the encoding ever changes, so old and new entries cannot be
/// confused for one another.
const ENCODING: &[u8] = b"koban-audit/1\n";

/// What one entry says. `details` is the caller's JSON text, hashed as
/// stored (byte for byte), so no JSON re-serialisation can change a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content<'a> {
    pub scope: &'a str,
    pub seq: i64,
    pub at_ms: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: &'a str,
}

/// The canonical bytes of an entry: every field length-prefixed, so no two
/// different entries share an encoding (`"ab","c"` vs `"a","bc"`).
pub fn canonical(c: &Content<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        ENCODING.len()
            + 16
            + 5 * 4
            + c.scope.len()
            + c.actor.len()
            + c.action.len()
            + c.target.len()
            + c.details.len(),
    );
    out.extend_from_slice(ENCODING);
    field(&mut out, c.scope.as_bytes());
    out.extend_from_slice(&c.seq.to_be_bytes());
    out.extend_from_slice(&c.at_ms.to_be_bytes());
    field(&mut out, c.actor.as_bytes());
    field(&mut out, c.action.as_bytes());
    field(&mut out, c.target.as_bytes());
    field(&mut out, c.details.as_bytes());
    out
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Fields longer than 4 GiB cannot be stored anyway; saturating keeps
    // this total rather than panicking.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The hash an entry stores: SHA-256 over the previous entry's hash and
/// the entry's canonical bytes.
pub fn entry_hash(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical);
    h.finalize().into()
}

/// The bytes a checkpoint's signature covers: the scope, the last entry's
/// sequence and hash at the cut, and when it was made.
pub fn checkpoint_message(scope: &str, seq: i64, hash: &Hash, at_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + scope.len());
    out.extend_from_slice(b"koban-audit-checkpoint/1\n");
    field(&mut out, scope.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(&at_ms.to_be_bytes());
    out
}

/// Whether a CSV cell would be read as a formula by a spreadsheet, and so
/// must be exported with a leading `'`.
pub fn csv_cell_needs_quote_prefix(cell: &str) -> bool {
    matches!(
        cell.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A cell made safe for a spreadsheet: formula starters prefixed with `'`.
pub fn csv_safe_cell(cell: &str) -> String {
    if csv_cell_needs_quote_prefix(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests;
