//! Checking a stored chain and naming its first break.

use super::{entry_hash, Hash};

/// One stored entry as the checker needs it: the sequence it claims, the
/// hashes it stores and its canonical bytes (recomputed from its columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub seq: i64,
    pub prev_hash: Hash,
    pub hash: Hash,
    pub canonical: Vec<u8>,
}

/// A known point of the chain: the entry `seq` with hash `hash`. The start
/// is the genesis (`seq` 0, `GENESIS`) or a checked checkpoint; the head is
/// the last entry the scope's head row says was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: Hash,
}

/// The first thing wrong with a chain, named by sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Break {
    /// Entry `seq` no longer matches its hash, or the next entry's link.
    Changed { seq: i64 },
    /// Entry `seq` is missing.
    Removed { seq: i64 },
    /// Entry `seq` is stored out of its place.
    Reordered { seq: i64 },
    /// An entry that belongs nowhere was found right after entry `after_seq`.
    Inserted { after_seq: i64 },
}

/// An intact chain: how many entries were checked and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub checked: u64,
    pub last: Anchor,
}

/// Checks `links` (in the order they were written) from `start`, and, when
/// given, that they end exactly at `head`. Without a head an entry removed
/// from the end, or appended by hand with a right hash, cannot be seen.
pub fn verify(start: Anchor, links: &[Link], head: Option<Anchor>) -> Result<Verified, Break> {
    let mut last = start;
    for (i, link) in links.iter().enumerate() {
        let expected = last.seq + 1;
        if let Some(head) = head {
            if link.seq > head.seq {
                return Err(Break::Inserted {
                    after_seq: last.seq,
                });
            }
        }
        if link.seq < expected {
            return Err(Break::Inserted {
                after_seq: last.seq,
            });
        }
        if link.seq > expected {
            return Err(out_of_place(expected, &links[i..]));
        }
        let content_ok = entry_hash(&link.prev_hash, &link.canonical) == link.hash;
        let link_ok = link.prev_hash == last.hash;
        if !(content_ok && link_ok) {
            // Two entries claiming this place: the one that does not fit
            // was slipped in.
            if links.get(i + 1).is_some_and(|next| next.seq == expected) {
                return Err(Break::Inserted {
                    after_seq: last.seq,
                });
            }
            if !content_ok {
                return Err(Break::Changed { seq: expected });
            }
            // The entry is whole but points elsewhere: the one before was
            // rewritten (with a recomputed hash). At the start that one is
            // a checkpoint, checked by signature, so this entry's link is
            // what changed.
            let seq = if last.seq > start.seq {
                last.seq
            } else {
                expected
            };
            return Err(Break::Changed { seq });
        }
        last = Anchor {
            seq: link.seq,
            hash: link.hash,
        };
    }
    if let Some(head) = head {
        if last.seq < head.seq {
            return Err(Break::Removed { seq: last.seq + 1 });
        }
        if last.hash != head.hash {
            return Err(Break::Changed { seq: last.seq });
        }
    }
    Ok(Verified {
        checked: links.len() as u64,
        last,
    })
}

/// Entry `expected` is not where it should be (`rest[0]` claims a later
/// place): it was moved, removed, or something was slipped in before it.
fn out_of_place(expected: i64, rest: &[Link]) -> Break {
    let found = rest[0].seq;
    let after_seq = expected - 1;
    if rest.iter().filter(|l| l.seq == found).count() > 1 {
        return Break::Inserted { after_seq };
    }
    if rest.iter().any(|l| l.seq == expected) {
        return Break::Reordered { seq: expected };
    }
    Break::Removed { seq: expected }
}
