//! Assigning a routed ticket to one agent of the team.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// An agent's state as the assigner sees it, read in the same transaction
/// that will record the assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoad {
    /// Stable id; the lowest wins a tie.
    pub id: String,
    /// Tickets assigned and not yet solved.
    pub open_tickets: u32,
    /// The most open tickets this agent takes; 0 takes none.
    pub cap: u32,
    /// Signed in, on shift, not on a break.
    pub available: bool,
    /// When this agent was last given a ticket; `None` if never.
    pub last_assigned_at: Option<Timestamp>,
}

/// Chooses who takes the next ticket: weighted round-robin on load.
///
/// Only agents available and under their cap are eligible. Among them, the
/// lowest `open_tickets / cap` wins, so an agent with twice the cap takes
/// twice the work; equal ratios go to whoever was assigned longest ago
/// (never-assigned first), which turns equal loads into a round-robin;
/// then the lowest id, so the choice is the same on every node.
/// `None` only when nobody is eligible: the ticket waits in the team queue.
pub fn choose_agent(agents: &[AgentLoad]) -> Option<&str> {
    agents
        .iter()
        .filter(|a| a.available && a.open_tickets < a.cap)
        .min_by(|a, b| {
            compare_ratio(a, b)
                .then_with(|| a.last_assigned_at.cmp(&b.last_assigned_at))
                .then_with(|| a.id.cmp(&b.id))
        })
        .map(|a| a.id.as_str())
}

/// `a.open / a.cap` against `b.open / b.cap`, in integers: cross-multiplied
/// in 64 bits, exact where floats would round.
fn compare_ratio(a: &AgentLoad, b: &AgentLoad) -> Ordering {
    let left = u64::from(a.open_tickets) * u64::from(b.cap);
    let right = u64::from(b.open_tickets) * u64::from(a.cap);
    left.cmp(&right)
}
