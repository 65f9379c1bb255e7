//! Backlog over time: how many tickets were unsolved at the end of each
//! day, from each ticket's status changes. The count at an instant is the
//! tickets created before it whose last status change before it left them
//! new, open, pending or on hold.

/// Whether a status leaves a ticket in the backlog.
pub fn is_open_status(status: &str) -> bool {
    matches!(status, "new" | "open" | "pending" | "on_hold")
}

/// One ticket's life as the backlog reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub created_at: i64,
    /// Status changes in the order they were recorded: (at, open after).
    pub changes: Vec<(i64, bool)>,
}

impl Lifecycle {
    /// A ticket whose status changes were not recorded (one written before
    /// events were, or by hand): solved or closed at `done_at` if it is
    /// done now, open otherwise.
    pub fn without_events(created_at: i64, open_now: bool, done_at: Option<i64>) -> Lifecycle {
        Lifecycle {
            created_at,
            changes: if open_now {
                vec![]
            } else {
                vec![(done_at.unwrap_or(created_at), false)]
            },
        }
    }

    /// Whether the ticket was in the backlog just before `at`.
    pub fn open_before(&self, at: i64) -> bool {
        self.created_at < at
            && self
                .changes
                .iter()
                .rfind(|(when, _)| *when < at)
                .is_none_or(|(_, open)| *open)
    }
}

/// The backlog just before each of `ends` (ascending instants, ms).
pub fn backlog(tickets: &[Lifecycle], ends: &[i64]) -> Vec<u64> {
    // Every entry into and exit from the backlog, swept once against the
    // day ends: O(n log n) instead of a pass over the tickets per day.
    let mut steps: Vec<(i64, i64)> = Vec::new();
    for ticket in tickets {
        let mut open = true;
        steps.push((ticket.created_at, 1));
        let mut changes = ticket.changes.clone();
        // Recorded order breaks ties between changes at one instant.
        changes.sort_by_key(|(at, _)| *at);
        for (at, now_open) in changes {
            if now_open != open {
                // A change recorded before the ticket's creation (clock
                // skew between nodes) takes effect at its creation.
                steps.push((at.max(ticket.created_at), if now_open { 1 } else { -1 }));
                open = now_open;
            }
        }
    }
    steps.sort_unstable();
    let mut out = Vec::with_capacity(ends.len());
    let (mut i, mut count) = (0, 0i64);
    for &end in ends {
        while i < steps.len() && steps[i].0 < end {
            count += steps[i].1;
            i += 1;
        }
        out.push(count.max(0) as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_ticket_counts_from_its_creation_until_solved_and_again_when_reopened() {
        let t = Lifecycle {
            created_at: 10,
            changes: vec![(20, true), (30, false), (40, true)],
        };
        assert_eq!(backlog(&[t], &[10, 11, 30, 31, 41]), vec![0, 1, 1, 0, 1]);
        let done = Lifecycle::without_events(5, false, Some(8));
        assert_eq!(backlog(&[done], &[6, 9]), vec![1, 0]);
    }

    proptest! {
        #[test]
        fn the_sweep_agrees_with_asking_each_ticket(
            tickets in prop::collection::vec(
                (0i64..100, prop::collection::vec((0i64..120, any::<bool>()), 0..6)), 0..30),
            mut ends in prop::collection::vec(0i64..130, 1..20),
        ) {
            ends.sort_unstable();
            let tickets: Vec<Lifecycle> = tickets.into_iter().map(|(created_at, mut changes)| {
                changes.retain(|(at, _)| *at >= created_at);
                changes.sort_by_key(|(at, _)| *at);
                Lifecycle { created_at, changes }
            }).collect();
            let swept = backlog(&tickets, &ends);
            for (end, count) in ends.iter().zip(swept) {
                let asked = tickets.iter().filter(|t| t.open_before(*end)).count() as u64;
                prop_assert_eq!(count, asked, "at {}", end);
            }
        }
    }
}
