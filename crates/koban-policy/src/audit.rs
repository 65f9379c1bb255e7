//! The audit log's chain: what an entry's hash covers, and how a stored
//! chain is checked. Each entry holds the hash of the one before it and a
//! hash of its own content; changing, removing, inserting or reordering
//! entries breaks the chain at a place [`verify`] names. The store keeps
//! the entries and the chain's head; this module decides.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash before the first entry of a chain.
pub const GENESIS: Hash = [0; 32];

/// What an entry says, as it is hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content<'a> {
    /// 1 for the chain's first entry, then one more each.
    pub seq: u64,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    /// JSON, as stored.
    pub details: &'a str,
}

/// The bytes an entry's content hash covers: every field with its length
/// before it, so no two different entries write the same bytes (`ab`+`c`
/// and `a`+`bc` differ).
pub fn canonical(c: &Content<'_>) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(64 + c.actor.len() + c.action.len() + c.target.len() + c.details.len());
    out.extend_from_slice(b"koban-audit-1");
    out.extend_from_slice(&c.seq.to_be_bytes());
    out.extend_from_slice(&c.at_ms.to_be_bytes());
    for field in [c.actor, c.action, c.target, c.details] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// An entry's hash: of the hash before it and of its content.
pub fn entry_hash(prev: &Hash, c: &Content<'_>) -> Hash {
    let content = Sha256::digest(canonical(c));
    let mut h = Sha256::new();
    h.update(prev);
    h.update(content);
    h.finalize().into()
}

/// An entry as stored: its content and the two hashes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<'a> {
    pub content: Content<'a>,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// Where checking starts: the chain's beginning, or a checkpoint (the
/// entries up to it may have been cut away by retention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The last entry the start covers (0 at the beginning).
    pub seq: u64,
    pub hash: Hash,
}

impl Start {
    pub const BEGINNING: Start = Start {
        seq: 0,
        hash: GENESIS,
    };
}

/// The first place a chain is broken, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Entry `seq` is not what was written: its content or its hashes
    /// were changed (or it was rewritten with fresh hashes, which the
    /// next entry's link, or the head, gives away).
    Changed { seq: u64 },
    /// Entry `seq` is missing where it belongs: removed, or moved later
    /// (the entry found there has a later number, or the head names one).
    Removed { seq: u64 },
    /// Entry `seq` stands where a later one should: moved or inserted.
    Reordered { seq: u64 },
}

impl Break {
    /// The sequence number of the first entry it names.
    pub fn seq(self) -> u64 {
        match self {
            Break::Changed { seq } | Break::Removed { seq } | Break::Reordered { seq } => seq,
        }
    }
}

/// Follows a chain as it is read, entry by entry, in stored order.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected: u64,
    prev: Hash,
    broken: Option<Break>,
    checked: u64,
}

impl Verifier {
    pub fn new(start: Start) -> Verifier {
        Verifier {
            expected: start.seq + 1,
            prev: start.hash,
            broken: None,
            checked: 0,
        }
    }

    /// Takes the next stored entry; the break, once one is found (later
    /// entries change nothing).
    pub fn next(&mut self, e: &Stored<'_>) -> Option<Break> {
        if self.broken.is_some() {
            return self.broken;
        }
        let seq = e.content.seq;
        let consistent = entry_hash(&e.prev_hash, &e.content) == e.hash;
        self.broken = if seq > self.expected {
            Some(Break::Removed { seq: self.expected })
        } else if seq < self.expected {
            Some(Break::Reordered { seq })
        } else if !consistent {
            Some(Break::Changed { seq })
        } else if e.prev_hash != self.prev {
            // The entry agrees with itself but not with the one before:
            // that one was rewritten, hashes and all.
            Some(Break::Changed { seq: seq - 1 })
        } else {
            None
        };
        if self.broken.is_none() {
            self.expected += 1;
            self.prev = e.hash;
            self.checked += 1;
        }
        self.broken
    }

    /// Ends the walk against the chain's recorded head (the last entry's
    /// sequence and hash, kept apart from the entries).
    pub fn finish(self, head: Start) -> Result<u64, Break> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let last = self.expected - 1;
        if head.seq > last {
            return Err(Break::Removed { seq: last + 1 });
        }
        if head.seq < last {
            // Entries past the head: written around the log's own appends.
            return Err(Break::Reordered { seq: head.seq + 1 });
        }
        if head.hash != self.prev {
            return Err(Break::Changed { seq: last });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A chain of `n` entries as the store would hold them.
    fn chain(n: u64) -> Vec<(String, String, Hash, Hash, u64)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let actor = format!("agent-{}", seq % 3);
                let details = format!("{{\"n\":{seq}}}");
                let h = entry_hash(&prev, &content(seq, &actor, &details));
                let row = (actor, details, prev, h, seq);
                prev = h;
                row
            })
            .collect()
    }

    fn content<'a>(seq: u64, actor: &'a str, details: &'a str) -> Content<'a> {
        Content {
            seq,
            at_ms: 1_700_000_000_000 + seq as i64,
            actor,
            action: "member.role_changed",
            target: "account:7",
            details,
        }
    }

    fn check(rows: &[(String, String, Hash, Hash, u64)], head: Start) -> Result<u64, Break> {
        let mut v = Verifier::new(Start::BEGINNING);
        for (actor, details, prev, hash, seq) in rows {
            v.next(&Stored {
                content: content(*seq, actor, details),
                prev_hash: *prev,
                hash: *hash,
            });
        }
        v.finish(head)
    }

    fn head_of(rows: &[(String, String, Hash, Hash, u64)]) -> Start {
        rows.last().map_or(Start::BEGINNING, |r| Start {
            seq: r.4,
            hash: r.3,
        })
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let a = Content {
            seq: 1,
            at_ms: 0,
            actor: "ab",
            action: "c",
            target: "",
            details: "{}",
        };
        let b = Content {
            actor: "a",
            action: "bc",
            ..a.clone()
        };
        assert_ne!(canonical(&a), canonical(&b));
        assert_ne!(entry_hash(&GENESIS, &a), entry_hash(&GENESIS, &b));
    }

    #[test]
    fn an_empty_chain_checks_against_an_empty_head() {
        assert_eq!(check(&[], Start::BEGINNING), Ok(0));
        let rows = chain(3);
        assert_eq!(check(&[], head_of(&rows)), Err(Break::Removed { seq: 1 }));
    }

    proptest! {
        #[test]
        fn an_untouched_chain_checks(n in 0u64..40) {
            let rows = chain(n);
            prop_assert_eq!(check(&rows, head_of(&rows)), Ok(n));
        }

        #[test]
        fn a_changed_entry_is_named(n in 1u64..40, pick in any::<prop::sample::Index>(), rehash in any::<bool>()) {
            let mut rows = chain(n);
            let head = head_of(&rows);
            let i = pick.index(rows.len());
            rows[i].1.push(' ');
            if rehash {
                // Rewritten with hashes that agree with the new content.
                let seq = rows[i].4;
                let h = entry_hash(&rows[i].2, &content(seq, &rows[i].0, &rows[i].1));
                rows[i].3 = h;
            }
            prop_assert_eq!(check(&rows, head), Err(Break::Changed { seq: rows[i].4 }));
        }

        #[test]
        fn a_removed_entry_is_named(n in 1u64..40, pick in any::<prop::sample::Index>()) {
            let mut rows = chain(n);
            let head = head_of(&rows);
            let i = pick.index(rows.len());
            let gone = rows.remove(i).4;
            prop_assert_eq!(check(&rows, head), Err(Break::Removed { seq: gone }));
        }

        #[test]
        fn two_swapped_entries_are_named(n in 2u64..40, pick in any::<prop::sample::Index>()) {
            let mut rows = chain(n);
            let head = head_of(&rows);
            let i = pick.index(rows.len() - 1);
            rows.swap(i, i + 1);
            // The later entry now stands first: the one expected is missing.
            prop_assert_eq!(check(&rows, head), Err(Break::Removed { seq: rows[i + 1].4 }));
        }

        #[test]
        fn an_inserted_copy_is_named(n in 1u64..40, pick in any::<prop::sample::Index>()) {
            let mut rows = chain(n);
            let head = head_of(&rows);
            let i = pick.index(rows.len());
            let copy = rows[i].clone();
            rows.insert(i + 1, copy);
            prop_assert_eq!(check(&rows, head), Err(Break::Reordered { seq: rows[i].4 }));
        }

        #[test]
        fn a_checkpoint_starts_the_check_where_retention_cut(n in 2u64..40, cut in any::<prop::sample::Index>()) {
            let rows = chain(n);
            let k = cut.index(rows.len() - 1);
            let start = Start { seq: rows[k].4, hash: rows[k].3 };
            let mut v = Verifier::new(start);
            for (actor, details, prev, hash, seq) in &rows[k + 1..] {
                v.next(&Stored { content: content(*seq, actor, details), prev_hash: *prev, hash: *hash });
            }
            prop_assert_eq!(v.finish(head_of(&rows)), Ok(n - 1 - k as u64));
            // A forged checkpoint (another hash) breaks at the first entry after it.
            let forged = Start { seq: start.seq, hash: [9; 32] };
            let mut v = Verifier::new(forged);
            for (actor, details, prev, hash, seq) in &rows[k + 1..] {
                v.next(&Stored { content: content(*seq, actor, details), prev_hash: *prev, hash: *hash });
            }
            prop_assert_eq!(v.finish(head_of(&rows)), Err(Break::Changed { seq: start.seq }));
        }
    }
}
