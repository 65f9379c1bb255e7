//! A ticket's status and what may move it, with the two other labels every
//! ticket carries (priority and channel). The rules live here, apart from
//! the store, so the API, the pages, the inbound channels and the close job
//! all agree on them.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A name that is not one of a label's identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {found:?}")]
pub struct UnknownName {
    /// Which label was being read ("status", "priority", "channel").
    pub kind: &'static str,
    /// What was given instead.
    pub found: String,
}

/// Declares a label enum with its snake_case identifiers, `ALL`, `as_str`,
/// `parse`, `Display` and `FromStr`, so the identifiers are written once.
macro_rules! label {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($(#[$vdoc:meta])* $variant:ident => $id:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the desk lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The identifier used in JSON, in the database and in URLs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $id,)+
                }
            }

            /// Reads an identifier exactly as [`Self::as_str`] writes it.
            pub fn parse(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($id => Ok($name::$variant),)+
                    _ => Err(UnknownName { kind: $kind, found: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use label;

label!(
    /// Where a ticket stands.
    Status, "status", {
        /// Nobody at the desk has touched it yet.
        New => "new",
        /// The desk owes the requester something.
        Open => "open",
        /// The desk waits on the requester.
        Pending => "pending",
        /// The desk waits on someone else (engineering, a carrier, a partner).
        OnHold => "on_hold",
        /// The desk thinks it is done; a requester reply still reopens it.
        Solved => "solved",
        /// Done for good; a requester reply opens a follow-up instead.
        Closed => "closed",
    }
);

label!(
    /// How soon a ticket needs attention.
    Priority, "priority", {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

label!(
    /// How the ticket reached the desk.
    Channel, "channel", {
        Web => "web",
        Email => "email",
        Chat => "chat",
        Phone => "phone",
        Line => "line",
        Api => "api",
    }
);

impl Status {
    /// Solved and closed tickets stop every SLA clock: the desk has answered.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Solved | Status::Closed)
    }
}

/// Something that happens to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An agent sets the status by hand.
    AgentSets(Status),
    /// An agent sends a public reply (the status field is a separate event).
    AgentReplies,
    /// The requester writes again, from any channel.
    RequesterReplies,
    /// The close job found the ticket's solved period over.
    AutoClose,
}

/// What happens to the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The status becomes this.
    Move(Status),
    /// Allowed, and the status stays as it is.
    Stay,
    /// The message does not belong on this ticket: open a new ticket that
    /// links back to it (a closed ticket's history is not rewritten).
    FollowUp,
    /// Not allowed; the ticket is left as it was.
    Refused(Refusal),
}

/// Why an event was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the ticket is closed; a new message opens a follow-up ticket")]
    Closed,
    #[error("a ticket cannot be set back to new")]
    BackToNew,
    #[error("only a solved ticket can be closed; solve it first")]
    CloseUnsolved,
}

/// Decides what `event` does to a ticket in `status`.
pub fn decide(status: Status, event: Event) -> Decision {
    use Status::*;
    match (status, event) {
        // Closed is final for agents: reopening would change a record the
        // requester was told is finished, and the close job may have
        // archived it. New work goes on a follow-up ticket.
        (Closed, Event::RequesterReplies) => Decision::FollowUp,
        (Closed, Event::AutoClose) => Decision::Stay,
        (Closed, _) => Decision::Refused(Refusal::Closed),
        // Anything the requester writes means the desk owes them an answer,
        // so a ticket waiting on them, on a third party or already solved
        // comes back to the queue. A new ticket stays new: nobody saw it yet.
        (New | Open, Event::RequesterReplies) => Decision::Stay,
        (Pending | OnHold | Solved, Event::RequesterReplies) => Decision::Move(Open),
        // A public reply on a new ticket means someone took it up.
        (New, Event::AgentReplies) => Decision::Move(Open),
        (_, Event::AgentReplies) => Decision::Stay,
        // The job is claimed some time after it was scheduled; if the
        // ticket was reopened meanwhile, there is simply nothing to do.
        (Solved, Event::AutoClose) => Decision::Move(Closed),
        (_, Event::AutoClose) => Decision::Stay,
        (from, Event::AgentSets(to)) if from == to => Decision::Stay,
        (_, Event::AgentSets(New)) => Decision::Refused(Refusal::BackToNew),
        // Closing skips nothing only from solved: the requester was told
        // it is solved and had the solved period to disagree.
        (Solved, Event::AgentSets(Closed)) => Decision::Move(Closed),
        (_, Event::AgentSets(Closed)) => Decision::Refused(Refusal::CloseUnsolved),
        (_, Event::AgentSets(to)) => Decision::Move(to),
    }
}

/// Days a solved ticket waits for the requester before the job closes it
/// (Zendesk's default: long enough for a weekend and a reply).
pub const DEFAULT_AUTO_CLOSE_DAYS: u32 = 4;

/// When a ticket solved at `solved_at` is to be closed: `days` whole days of
/// 24 hours later. Absolute time, not calendar days in some zone, because
/// the job runs for every zone at once and a day is only a grace period.
pub fn auto_close_at(solved_at: Timestamp, days: u32) -> Timestamp {
    let wait = SignedDuration::from_hours(i64::from(days) * 24);
    solved_at.checked_add(wait).unwrap_or(Timestamp::MAX)
}

/// Whether the close job should close a ticket solved at `solved_at` now.
pub fn auto_close_due(solved_at: Timestamp, now: Timestamp, days: u32) -> bool {
    now >= auto_close_at(solved_at, days)
}
