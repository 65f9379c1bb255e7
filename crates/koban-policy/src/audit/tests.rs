use super::*;
use proptest::prelude::*;

const START: Anchor = Anchor {
    seq: 0,
    hash: GENESIS,
};

fn build(n: usize, first_seq: i64, prev: Hash) -> Vec<Link> {
    let mut prev = prev;
    (0..n)
        .map(|i| {
            let seq = first_seq + i as i64;
            let details = format!("{{\"n\":{i}}}");
            let canonical = canonical(&Content {
                scope: "platform",
                seq,
                at_ms: 1_700_000_000_000 + i as i64,
                actor: "agent:7",
                action: "account.unlock",
                target: "account:9",
                details: &details,
            });
            let hash = entry_hash(&prev, &canonical);
            let link = Link {
                seq,
                prev_hash: prev,
                hash,
                canonical,
            };
            prev = hash;
            link
        })
        .collect()
}

fn head(links: &[Link]) -> Option<Anchor> {
    links.last().map(|l| Anchor {
        seq: l.seq,
        hash: l.hash,
    })
}

#[test]
fn an_intact_chain_verifies() {
    let links = build(5, 1, GENESIS);
    let v = verify(START, &links, head(&links)).unwrap();
    assert_eq!(v.checked, 5);
    assert_eq!(v.last.seq, 5);
    assert!(verify(START, &[], Some(START)).is_ok());
}

#[test]
fn fields_are_length_prefixed() {
    let a = Content {
        scope: "platform",
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
}

#[test]
fn a_chain_after_a_checkpoint_verifies_from_it() {
    let all = build(10, 1, GENESIS);
    let cut = Anchor {
        seq: all[3].seq,
        hash: all[3].hash,
    };
    assert!(verify(cut, &all[4..], head(&all)).is_ok());
    // A forged checkpoint hash breaks the first kept entry's link.
    let forged = Anchor {
        seq: 4,
        hash: [7; 32],
    };
    assert_eq!(
        verify(forged, &all[4..], head(&all)),
        Err(Break::Changed { seq: 5 })
    );
}

#[test]
fn removing_the_last_entry_is_seen_through_the_head() {
    let links = build(4, 1, GENESIS);
    let h = head(&links);
    assert_eq!(
        verify(START, &links[..3], h),
        Err(Break::Removed { seq: 4 })
    );
}

#[test]
fn csv_cells_that_start_a_formula_are_prefixed() {
    for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(csv_safe_cell(bad), format!("'{bad}"));
    }
    assert_eq!(csv_safe_cell("plain"), "plain");
    assert_eq!(csv_safe_cell(""), "");
}

#[derive(Debug, Clone)]
enum Tamper {
    Change {
        at: usize,
        byte: usize,
    },
    ChangeAndRehash {
        at: usize,
    },
    Remove {
        at: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    Insert {
        at: usize,
        seq_from: usize,
        valid: bool,
    },
}

fn tamper() -> impl Strategy<Value = (usize, Tamper)> {
    (2usize..40).prop_flat_map(|n| {
        let t = prop_oneof![
            (0..n, 0usize..200).prop_map(|(at, byte)| Tamper::Change { at, byte }),
            (0..n - 1).prop_map(|at| Tamper::ChangeAndRehash { at }),
            (0..n).prop_map(|at| Tamper::Remove { at }),
            (0..n, 0..n)
                .prop_filter("two places", |(a, b)| a != b)
                .prop_map(|(a, b)| Tamper::Swap {
                    a: a.min(b),
                    b: a.max(b)
                }),
            (0..=n, 0..=n, any::<bool>()).prop_map(|(at, seq_from, valid)| Tamper::Insert {
                at,
                seq_from,
                valid
            }),
        ];
        (Just(n), t)
    })
}

proptest! {
    #[test]
    fn any_single_tampering_is_named(
        (n, t) in tamper(),
        first in prop_oneof![Just(1i64), 2i64..1000],
    ) {
        // Verify from genesis, or from a checkpoint just before `first`.
        let start_hash = if first == 1 { GENESIS } else { [first as u8; 32] };
        let start = Anchor { seq: first - 1, hash: start_hash };
        let mut links = build(n, first, start_hash);
        let h = head(&links);
        let seq_of = |i: usize| first + i as i64;
        let expected = match t {
            Tamper::Change { at, byte } => {
                let c = &mut links[at].canonical;
                let i = byte % c.len();
                c[i] ^= 0x01;
                Break::Changed { seq: seq_of(at) }
            }
            Tamper::ChangeAndRehash { at } => {
                // The attacker recomputes the changed entry's hash, so the
                // next entry's link is what no longer fits.
                let l = &mut links[at];
                l.canonical.push(b'!');
                l.hash = entry_hash(&l.prev_hash, &l.canonical);
                Break::Changed { seq: seq_of(at) }
            }
            Tamper::Remove { at } => {
                links.remove(at);
                Break::Removed { seq: seq_of(at) }
            }
            Tamper::Swap { a, b } => {
                links.swap(a, b);
                Break::Reordered { seq: seq_of(a) }
            }
            Tamper::Insert { at, seq_from, valid } => {
                // A copy of an existing entry's place, or a fresh number
                // past the end; with a right hash or a made-up one.
                let seq = seq_of(seq_from);
                let prev = if at == 0 { start_hash } else { links[at - 1].hash };
                let canonical = b"slipped in".to_vec();
                let hash = if valid { entry_hash(&prev, &canonical) } else { [9; 32] };
                links.insert(at, Link { seq, prev_hash: prev, hash, canonical });
                Break::Inserted { after_seq: seq_of(at) - 1 }
            }
        };
        let got = verify(start, &links, h);
        match (expected, got) {
            // A well-formed entry claiming exactly its place passes, and
            // the genuine one right after it is the one named.
            (Break::Inserted { after_seq }, Err(Break::Inserted { after_seq: a })) => {
                prop_assert!(a == after_seq || a == after_seq + 1, "{a} vs {after_seq}");
            }
            (e, g) => prop_assert_eq!(Err(e), g),
        }
    }

    #[test]
    fn an_untouched_chain_always_verifies(n in 0usize..60, first in 1i64..100) {
        let start_hash = if first == 1 { GENESIS } else { [3; 32] };
        let start = Anchor { seq: first - 1, hash: start_hash };
        let links = build(n, first, start_hash);
        let h = head(&links).or(Some(start));
        let v = verify(start, &links, h);
        prop_assert!(v.is_ok());
        prop_assert_eq!(v.unwrap().checked, n as u64);
    }
}
