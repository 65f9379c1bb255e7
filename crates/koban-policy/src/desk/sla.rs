//! SLA clocks: how long the desk may take to answer and to resolve a
//! ticket, in business time on the desk's [`Calendar`]. The service stores
//! what [`clocks`] returns (due and warning instants included) and calls it
//! again on every event (a message, a reply, a status change, a new policy),
//! so the queue can sort and the SLA job can wake on stored instants instead
//! of recomputing every ticket on every tick.
//!
//! What counts, decided here once:
//! - **First response** runs from the requester's first message to the
//!   first public agent reply. **Next response** runs from the first
//!   requester message the desk has not answered since its last reply, to
//!   the next reply; it exists only once the desk has answered before.
//!   Solving or closing the ticket also ends a wait: the requester was told.
//! - Reply clocks never pause: setting a status does not answer anyone, so
//!   an agent cannot stop a reply clock by setting "pending".
//! - **Resolution** runs from creation while the desk owes work: it pauses
//!   in `pending` (waiting on the requester) and, only if the desk chooses,
//!   in `on_hold` (waiting on a third party is still the desk's delay by
//!   default). It stops at solved or closed, and resumes, with its elapsed
//!   time kept, if the ticket is reopened.
//! - A clock breaches when its deadline passes while it runs; a reply at the
//!   deadline itself is on time. A paused clock cannot breach.
//! - Events after `now` are ignored: they have not happened yet.

use super::calendar::Calendar;
use super::status::{label, Channel, Priority, Status, UnknownName};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

label!(
    /// The requester's support tier.
    Tier, "tier", {
        Standard => "standard",
        /// Official (enterprise) accounts, who buy faster targets.
        Enterprise => "enterprise",
    }
);

label!(
    /// What an SLA clock measures.
    Metric, "metric", {
        FirstResponse => "first_response",
        NextResponse => "next_response",
        Resolution => "resolution",
    }
);

/// A target longer than a year of business time is a typo, not a promise.
pub const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

/// Why SLA input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("the status history is not in time order")]
    StatusesOutOfOrder,
    #[error("the warning share must be 1 to 100 percent, not {0}")]
    WarnPercent(u8),
    #[error("a target must be 1 to {MAX_TARGET_MINUTES} business minutes, not {0}")]
    BadTarget(u32),
    #[error("policies {first} and {second} apply to the same tickets")]
    DuplicatePolicy { first: usize, second: usize },
}

/// Targets in business minutes; a missing one means no clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// From the requester's first message to the desk's first reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<u32>,
    /// From a later unanswered message to the desk's next reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<u32>,
    /// From creation to solved, less the time paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u32>,
}

impl Targets {
    /// The target for `metric`, in business minutes.
    pub fn get(&self, metric: Metric) -> Option<u32> {
        match metric {
            Metric::FirstResponse => self.first_response,
            Metric::NextResponse => self.next_response,
            Metric::Resolution => self.resolution,
        }
    }
}

/// Targets for the tickets that match every criterion set (an unset one
/// matches anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Applies only to this priority, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Applies only to this tier, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Applies only to tickets from this channel, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// What the matching tickets are promised.
    pub targets: Targets,
}

impl Policy {
    fn matches(&self, priority: Priority, tier: Tier, channel: Channel) -> bool {
        self.priority.is_none_or(|p| p == priority)
            && self.tier.is_none_or(|t| t == tier)
            && self.channel.is_none_or(|c| c == channel)
    }

    /// More criteria first; between equals, priority outranks tier outranks
    /// channel, because urgency is what the requester feels.
    fn specificity(&self) -> (u8, u8) {
        let bits = [
            (self.priority.is_some(), 4),
            (self.tier.is_some(), 2),
            (self.channel.is_some(), 1),
        ];
        bits.iter()
            .filter(|(set, _)| *set)
            .fold((0, 0), |(n, w), (_, b)| (n + 1, w + b))
    }
}

/// The policy for a ticket: the most specific match (see
/// [`Policy::specificity`]); the first listed among equals.
pub fn select(
    policies: &[Policy],
    priority: Priority,
    tier: Tier,
    channel: Channel,
) -> Option<&Policy> {
    policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.matches(priority, tier, channel))
        .max_by_key(|(i, p)| (p.specificity(), Reverse(*i)))
        .map(|(_, p)| p)
}

/// Refuses policies a desk admin would not mean: targets out of range, or
/// two policies with the same criteria (one of them would never apply).
pub fn check_policies(policies: &[Policy]) -> Result<(), SlaError> {
    for (i, p) in policies.iter().enumerate() {
        let targets = [
            p.targets.first_response,
            p.targets.next_response,
            p.targets.resolution,
        ];
        if let Some(bad) = targets
            .into_iter()
            .flatten()
            .find(|m| !(1..=MAX_TARGET_MINUTES).contains(m))
        {
            return Err(SlaError::BadTarget(bad));
        }
        let same = |q: &Policy| (q.priority, q.tier, q.channel) == (p.priority, p.tier, p.channel);
        if let Some(j) = policies[..i].iter().position(same) {
            return Err(SlaError::DuplicatePolicy {
                first: j,
                second: i,
            });
        }
    }
    Ok(())
}

/// A desk's choices about its clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Share of a target after which the ticket is flagged (percent).
    pub warn_percent: u8,
    /// Whether `on_hold` pauses the resolution clock.
    pub on_hold_pauses: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            warn_percent: 75,
            on_hold_pauses: false,
        }
    }
}

/// What happened on a ticket, as the store has it.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// When the ticket was opened; the resolution clock starts here.
    pub created_at: Timestamp,
    /// Status changes in time order; the ticket is `new` before the first.
    pub statuses: &'a [(Timestamp, Status)],
    /// When the requester wrote (any channel), in any order.
    pub requester_messages: &'a [Timestamp],
    /// When an agent replied publicly (internal notes do not count).
    pub agent_replies: &'a [Timestamp],
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Counting, deadline ahead.
    Running,
    /// Not counting (resolution only); resumes with its elapsed time.
    Paused,
    /// Stopped on or before its deadline.
    Met,
    /// Its deadline passed while it counted; stays so.
    Breached,
}

/// One clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// What it measures.
    pub metric: Metric,
    /// The business time allowed.
    pub target: SignedDuration,
    /// Business time counted so far.
    pub elapsed: SignedDuration,
    /// When the warning share is (or was) reached; `None` if unknown.
    pub warn_at: Option<Timestamp>,
    /// When the target is reached if it keeps running, or when it was
    /// breached; `None` while paused, once met, or if the calendar never opens.
    pub due_at: Option<Timestamp>,
    /// Where it stands at `now`.
    pub state: ClockState,
}

/// A ticket's clocks; `None` where the policy sets no target or the
/// metric does not apply yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Clocks {
    /// The first wait for the desk.
    pub first_response: Option<Clock>,
    /// The latest later wait, running or finished.
    pub next_response: Option<Clock>,
    /// The whole ticket.
    pub resolution: Option<Clock>,
}

impl Clocks {
    /// The clocks that exist.
    pub fn iter(&self) -> impl Iterator<Item = &Clock> {
        [&self.first_response, &self.next_response, &self.resolution]
            .into_iter()
            .flatten()
    }

    /// The next instant after `now` at which a running clock warns or
    /// breaches: when the SLA job should look at this ticket again.
    pub fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        self.iter()
            .filter(|c| c.state == ClockState::Running)
            .flat_map(|c| [c.warn_at, c.due_at])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }
}

/// A stretch of wall time during which a clock counts; `end: None` means
/// it still runs at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: Timestamp,
    end: Option<Timestamp>,
}

/// Computes a ticket's clocks at `now`.
pub fn clocks(
    calendar: &Calendar,
    targets: &Targets,
    history: &History<'_>,
    settings: &Settings,
    now: Timestamp,
) -> Result<Clocks, SlaError> {
    if !(1..=100).contains(&settings.warn_percent) {
        return Err(SlaError::WarnPercent(settings.warn_percent));
    }
    if history.statuses.windows(2).any(|w| w[0].0 > w[1].0) {
        return Err(SlaError::StatusesOutOfOrder);
    }
    // A node whose clock is behind the one that created the ticket must not
    // see negative elapsed time.
    let now = now.max(history.created_at);
    let timeline = timeline(history, now);
    let cycles = reply_cycles(history, &timeline, now);
    // A reply clock with no wait does not exist yet; the resolution clock
    // exists from creation, even if the ticket was never worked on.
    let clock = |metric: Metric, runs: &[Run], stopped: bool| {
        let minutes = targets.get(metric)?;
        let applies = metric == Metric::Resolution || !runs.is_empty();
        applies.then(|| measure(calendar, metric, minutes, settings, runs, stopped, now))
    };
    let first = cycles.first().map(std::slice::from_ref).unwrap_or_default();
    let next = if cycles.len() > 1 {
        cycles.last().map(std::slice::from_ref).unwrap_or_default()
    } else {
        &[]
    };
    let status_now = timeline.last().map_or(Status::New, |(_, s)| *s);
    Ok(Clocks {
        first_response: clock(Metric::FirstResponse, first, true),
        next_response: clock(Metric::NextResponse, next, true),
        resolution: clock(
            Metric::Resolution,
            &resolution_runs(&timeline, settings),
            status_now.is_done(),
        ),
    })
}

/// The statuses from creation to `now`, starting with `new`.
fn timeline(history: &History<'_>, now: Timestamp) -> Vec<(Timestamp, Status)> {
    let mut out = vec![(history.created_at, Status::New)];
    let later = history.statuses.iter().filter(|(t, _)| *t <= now);
    out.extend(later.map(|&(t, s)| (t.max(history.created_at), s)));
    out
}

fn status_at(timeline: &[(Timestamp, Status)], at: Timestamp) -> Status {
    timeline
        .iter()
        .take_while(|(t, _)| *t <= at)
        .last()
        .map_or(Status::New, |(_, s)| *s)
}

/// Waits of the requester: from the first unanswered message to the reply,
/// solve or close that ends it. A message to a closed ticket belongs to its
/// follow-up, not here.
fn reply_cycles(
    history: &History<'_>,
    timeline: &[(Timestamp, Status)],
    now: Timestamp,
) -> Vec<Run> {
    // At the same instant a message comes first, so a reply sent with it answers it.
    let (message, reply) = (0, 1);
    let mut events: Vec<(Timestamp, u8)> = Vec::new();
    let messages = history
        .requester_messages
        .iter()
        .filter(|t| status_at(timeline, **t) != Status::Closed);
    events.extend(messages.map(|t| (*t, message)));
    events.extend(history.agent_replies.iter().map(|t| (*t, reply)));
    let stops = timeline
        .windows(2)
        .filter(|w| w[1].1.is_done() && !w[0].1.is_done());
    events.extend(stops.map(|w| (w[1].0, reply)));
    events.retain(|(t, _)| *t <= now);
    events.sort();
    let mut cycles = Vec::new();
    let mut waiting: Option<Timestamp> = None;
    for (t, kind) in events {
        match (kind == message, waiting) {
            (true, None) => waiting = Some(t),
            (false, Some(start)) => {
                cycles.push(Run {
                    start,
                    end: Some(t),
                });
                waiting = None;
            }
            _ => {}
        }
    }
    cycles.extend(waiting.map(|start| Run { start, end: None }));
    cycles
}

/// Where the resolution clock counts: every status but the pausing and the
/// done ones, adjacent stretches joined.
fn resolution_runs(timeline: &[(Timestamp, Status)], settings: &Settings) -> Vec<Run> {
    let counts = |s: Status| match s {
        Status::Pending | Status::Solved | Status::Closed => false,
        Status::OnHold => !settings.on_hold_pauses,
        Status::New | Status::Open => true,
    };
    let mut runs: Vec<Run> = Vec::new();
    for (i, &(start, status)) in timeline.iter().enumerate() {
        let end = timeline.get(i + 1).map(|(t, _)| *t);
        if !counts(status) || end == Some(start) {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.end == Some(start) => last.end = end,
            _ => runs.push(Run { start, end }),
        }
    }
    runs
}

fn measure(
    cal: &Calendar,
    metric: Metric,
    minutes: u32,
    settings: &Settings,
    runs: &[Run],
    stopped: bool,
    now: Timestamp,
) -> Clock {
    let target = SignedDuration::from_secs(i64::from(minutes) * 60);
    let warn =
        SignedDuration::from_secs(i64::from(minutes) * 60 * i64::from(settings.warn_percent) / 100);
    let elapsed = runs.iter().fold(SignedDuration::ZERO, |sum, r| {
        sum + cal.between(r.start, r.end.unwrap_or(now))
    });
    let due_at = reach(cal, runs, target);
    let running = runs.last().is_some_and(|r| r.end.is_none());
    let state = match due_at {
        Some(due) if due < now => ClockState::Breached,
        _ if running => ClockState::Running,
        _ if stopped => ClockState::Met,
        _ => ClockState::Paused,
    };
    let due_at = due_at.filter(|_| matches!(state, ClockState::Running | ClockState::Breached));
    Clock {
        metric,
        target,
        elapsed,
        warn_at: reach(cal, runs, warn),
        due_at,
        state,
    }
}

/// The instant the runs accumulate `amount` of business time: in a finished
/// run only if strictly before its end (reaching it exactly as the clock
/// stops is on time), in the running one wherever it falls.
fn reach(cal: &Calendar, runs: &[Run], amount: SignedDuration) -> Option<Timestamp> {
    let mut remaining = amount;
    for run in runs {
        let Some(end) = run.end else {
            return cal.add(run.start, remaining);
        };
        let available = cal.between(run.start, end);
        if available >= remaining {
            if let Some(at) = cal.add(run.start, remaining).filter(|at| *at < end) {
                return Some(at);
            }
        }
        remaining = (remaining - available).max(SignedDuration::ZERO);
    }
    None
}
