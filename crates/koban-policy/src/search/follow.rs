//! Where a node's index stands in the ordered change log it follows.
//!
//! On PostgreSQL a sequence hands out numbers when rows are inserted, not
//! when they commit: change 11 may be visible before change 10. A follower
//! that only asked for "after the highest seen" would skip 10 forever. So
//! every number skipped over is remembered as a gap and asked for again on
//! each poll until it shows up, or until it has been missing longer than
//! any transaction lasts (a rolled-back insert leaves a gap for good). What
//! a restart may resume after is just below the oldest gap.

use std::collections::BTreeMap;

/// How long a skipped number is awaited, in milliseconds.
pub const GAP_PATIENCE_MS: i64 = 120_000;
/// The most gaps remembered: past this the oldest are given up (a
/// sequence that jumped by thousands after a crash is not a thousand
/// transactions in flight).
pub const MAX_GAPS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    high: i64,
    /// Missing seq → when it was first noticed missing (ms).
    gaps: BTreeMap<i64, i64>,
}

impl Follow {
    /// A follower that has applied everything up to `high`.
    pub fn new(high: i64) -> Follow {
        Follow {
            high,
            gaps: BTreeMap::new(),
        }
    }

    /// The highest seq seen: the next poll asks for what is above it.
    pub fn high(&self) -> i64 {
        self.high
    }

    /// The seqs skipped over and still awaited: the next poll asks for them too.
    pub fn gaps(&self) -> Vec<i64> {
        self.gaps.keys().copied().collect()
    }

    /// Records the seqs one poll read (above `high` or among the gaps),
    /// at `now` (ms), and forgets gaps older than [`GAP_PATIENCE_MS`].
    pub fn saw(&mut self, seqs: &[i64], now: i64) {
        let mut sorted: Vec<i64> = seqs.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for &seq in &sorted {
            self.gaps.remove(&seq);
        }
        for &seq in &sorted {
            if seq > self.high {
                for missing in (self.high + 1)..seq {
                    if sorted.binary_search(&missing).is_err() && self.gaps.len() < MAX_GAPS * 2 {
                        self.gaps.insert(missing, now);
                    }
                }
                self.high = seq;
            }
        }
        self.gaps.retain(|_, since| now - *since <= GAP_PATIENCE_MS);
        while self.gaps.len() > MAX_GAPS {
            self.gaps.pop_first();
        }
    }

    /// What a restart may resume after without missing a change: below
    /// the oldest awaited gap, else the highest seen.
    pub fn durable(&self) -> i64 {
        self.gaps
            .keys()
            .next()
            .map(|gap| gap - 1)
            .unwrap_or(self.high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_late_commit_is_picked_up() {
        let mut f = Follow::new(9);
        f.saw(&[11, 12], 0);
        assert_eq!(f.gaps(), vec![10]);
        assert_eq!(f.durable(), 9);
        f.saw(&[10, 13], 100);
        assert!(f.gaps().is_empty());
        assert_eq!((f.high(), f.durable()), (13, 13));
    }

    #[test]
    fn a_rolled_back_number_is_given_up() {
        let mut f = Follow::new(0);
        f.saw(&[2], 0);
        f.saw(&[], GAP_PATIENCE_MS + 1);
        assert!(f.gaps().is_empty());
        assert_eq!(f.durable(), 2);
    }

    proptest! {
        /// Numbers committed in any order, each within the patience, are
        /// all seen: a poll returns every committed seq above `high` or
        /// among the gaps, as the SQL does.
        #[test]
        fn every_commit_is_seen(order in Just((1i64..=40).collect::<Vec<_>>()).prop_shuffle(), cut in proptest::collection::vec(0usize..40, 1..10)) {
            let mut f = Follow::new(0);
            let mut committed: Vec<i64> = Vec::new();
            let mut seen: Vec<i64> = Vec::new();
            let mut cuts = cut.clone();
            cuts.sort_unstable();
            cuts.push(order.len());
            let mut start = 0;
            for (now, end) in cuts.into_iter().enumerate() {
                committed.extend(&order[start.min(end)..end]);
                start = start.max(end);
                let gaps = f.gaps();
                let read: Vec<i64> = committed.iter().copied().filter(|s| *s > f.high() || gaps.contains(s)).collect();
                seen.extend(&read);
                f.saw(&read, now as i64);
                prop_assert!(f.durable() <= f.high());
                // Nothing below `durable` is still uncommitted.
                for s in 1..=f.durable() { prop_assert!(committed.contains(&s)); }
            }
            let gaps = f.gaps();
            let read: Vec<i64> = committed.iter().copied().filter(|s| *s > f.high() || gaps.contains(s)).collect();
            seen.extend(&read);
            seen.sort_unstable(); seen.dedup();
            prop_assert_eq!(seen, (1..=40).collect::<Vec<_>>());
        }
    }
}
