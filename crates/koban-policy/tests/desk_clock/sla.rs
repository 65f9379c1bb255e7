//! SLA clocks: policy selection, each metric's start, stop and pause, and
//! properties over random calendars and histories.

use super::calendar::{at, cal, calendars, instants, office};
use jiff::{SignedDuration, Timestamp};
use koban_policy::desk::calendar::Calendar;
use koban_policy::desk::sla::{
    check_policies, clocks, select, ClockState, Clocks, History, Metric, Policy, Settings,
    SlaError, Targets, Tier,
};
use koban_policy::desk::status::{Channel, Priority, Status};
use proptest::prelude::*;
use ClockState::*;

fn utc(hm: &str) -> Timestamp {
    at("UTC", &format!("2026-03-02 {hm}"))
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn always_open() -> Calendar {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    cal(
        "UTC",
        &days.iter().map(|d| (*d, &["24h"][..])).collect::<Vec<_>>(),
    )
}

fn targets(first: u32, next: u32, resolution: u32) -> Targets {
    Targets {
        first_response: Some(first),
        next_response: Some(next),
        resolution: Some(resolution),
    }
}

#[derive(Debug)]
struct Ticket {
    created_at: Timestamp,
    statuses: Vec<(Timestamp, Status)>,
    messages: Vec<Timestamp>,
    replies: Vec<Timestamp>,
}

impl Ticket {
    /// A ticket opened by the requester's message at `created_at`.
    fn new(created_at: Timestamp) -> Ticket {
        Ticket {
            created_at,
            statuses: vec![],
            messages: vec![created_at],
            replies: vec![],
        }
    }

    fn clocks_with(
        &self,
        c: &Calendar,
        t: &Targets,
        settings: &Settings,
        now: Timestamp,
    ) -> Clocks {
        let history = History {
            created_at: self.created_at,
            statuses: &self.statuses,
            requester_messages: &self.messages,
            agent_replies: &self.replies,
        };
        clocks(c, t, &history, settings, now).unwrap()
    }

    fn clocks(&self, c: &Calendar, t: &Targets, now: Timestamp) -> Clocks {
        self.clocks_with(c, t, &Settings::default(), now)
    }
}

#[test]
fn the_most_specific_policy_wins() {
    let p = |priority, tier, channel, minutes| Policy {
        priority,
        tier,
        channel,
        targets: Targets {
            first_response: Some(minutes),
            ..Targets::default()
        },
    };
    use Channel::*;
    use Priority::*;
    let policies = vec![
        p(None, None, None, 480),
        p(Some(Urgent), None, None, 60),
        p(None, Some(Tier::Enterprise), None, 120),
        p(Some(Urgent), Some(Tier::Enterprise), None, 15),
        p(None, Some(Tier::Standard), Some(Phone), 30),
        p(None, None, Some(Email), 600),
    ];
    let pick =
        |pr, tier, ch| select(&policies, pr, tier, ch).map(|p| p.targets.first_response.unwrap());
    assert_eq!(pick(Normal, Tier::Standard, Web), Some(480));
    assert_eq!(pick(Urgent, Tier::Standard, Web), Some(60));
    assert_eq!(pick(Urgent, Tier::Enterprise, Web), Some(15));
    assert_eq!(pick(Low, Tier::Enterprise, Chat), Some(120));
    // Two criteria beat one, even the priority.
    assert_eq!(pick(Urgent, Tier::Standard, Phone), Some(30));
    // Between single criteria, priority outranks tier outranks channel.
    assert_eq!(pick(Urgent, Tier::Standard, Email), Some(60));
    assert_eq!(pick(Low, Tier::Enterprise, Email), Some(120));
    assert_eq!(select(&policies[1..2], Low, Tier::Standard, Web), None);
    // Among equals, the first listed.
    let twins = [p(None, None, None, 1), p(None, None, None, 2)];
    assert_eq!(
        select(&twins, Low, Tier::Standard, Web)
            .unwrap()
            .targets
            .first_response,
        Some(1)
    );
    assert_eq!(
        check_policies(&twins),
        Err(SlaError::DuplicatePolicy {
            first: 0,
            second: 1
        })
    );
    assert_eq!(check_policies(&policies), Ok(()));
    assert_eq!(
        check_policies(&[p(None, None, None, 0)]),
        Err(SlaError::BadTarget(0))
    );
    assert_eq!(Tier::parse("enterprise"), Ok(Tier::Enterprise));
    assert_eq!(Metric::NextResponse.as_str(), "next_response");
}

#[test]
fn first_response_met_breached_and_running() {
    let c = always_open();
    let t = targets(60, 30, 600);
    let mut ticket = Ticket::new(utc("10:00"));

    let running = ticket.clocks(&c, &t, utc("10:50")).first_response.unwrap();
    assert_eq!(running.state, Running);
    assert_eq!(running.due_at, Some(utc("11:00")));
    assert_eq!(running.warn_at, Some(utc("10:45")));
    assert_eq!(running.elapsed, mins(50));
    assert_eq!(
        ticket
            .clocks(&c, &t, utc("11:00"))
            .first_response
            .unwrap()
            .state,
        Running
    );
    let late = ticket.clocks(&c, &t, utc("11:01")).first_response.unwrap();
    assert_eq!((late.state, late.due_at), (Breached, Some(utc("11:00"))));

    ticket.replies.push(utc("10:30"));
    let met = ticket.clocks(&c, &t, utc("12:00")).first_response.unwrap();
    assert_eq!((met.state, met.elapsed, met.due_at), (Met, mins(30), None));

    ticket.replies = vec![utc("11:00")];
    assert_eq!(
        ticket
            .clocks(&c, &t, utc("12:00"))
            .first_response
            .unwrap()
            .state,
        Met,
        "on the deadline is on time"
    );
    ticket.replies = vec![utc("11:30")];
    let late = ticket.clocks(&c, &t, utc("12:00")).first_response.unwrap();
    assert_eq!((late.state, late.due_at), (Breached, Some(utc("11:00"))));
    // A reply after `now` has not happened yet.
    assert_eq!(
        ticket
            .clocks(&c, &t, utc("10:40"))
            .first_response
            .unwrap()
            .state,
        Running
    );
}

#[test]
fn business_hours_carry_over_the_weekend() {
    let tz = "Asia/Tokyo";
    let c = office(tz);
    let ticket = Ticket::new(at(tz, "2026-03-06 17:00"));
    let clock = ticket
        .clocks(&c, &targets(120, 60, 960), at(tz, "2026-03-07 12:00"))
        .first_response
        .unwrap();
    assert_eq!(clock.state, Running);
    assert_eq!(clock.due_at, Some(at(tz, "2026-03-09 10:00")));
    assert_eq!(clock.warn_at, Some(at(tz, "2026-03-09 09:30")));
    assert_eq!(clock.elapsed, mins(60));
}

#[test]
fn next_response_waits_for_an_unanswered_message() {
    let c = always_open();
    let t = targets(60, 30, 6000);
    let mut ticket = Ticket::new(utc("10:00"));
    ticket.replies.push(utc("10:10"));
    assert_eq!(
        ticket.clocks(&c, &t, utc("11:00")).next_response,
        None,
        "nobody waits"
    );
    ticket.messages.extend([utc("12:00"), utc("12:05")]);
    let waiting = ticket.clocks(&c, &t, utc("12:20")).next_response.unwrap();
    assert_eq!(
        (waiting.state, waiting.due_at),
        (Running, Some(utc("12:30"))),
        "from the first unanswered message"
    );
    ticket.replies.push(utc("12:40"));
    let late = ticket.clocks(&c, &t, utc("13:00")).next_response.unwrap();
    assert_eq!((late.state, late.elapsed), (Breached, mins(40)));
    ticket.messages.push(utc("14:00"));
    let again = ticket.clocks(&c, &t, utc("14:10")).next_response.unwrap();
    assert_eq!(
        (again.state, again.due_at),
        (Running, Some(utc("14:30"))),
        "a new wait, a new clock"
    );
    assert_eq!(
        ticket
            .clocks(&c, &t, utc("14:10"))
            .first_response
            .unwrap()
            .state,
        Met
    );
}

#[test]
fn agent_first_tickets_start_at_the_requesters_message() {
    let c = always_open();
    let t = targets(60, 30, 6000);
    // An agent logged a phone call and wrote first.
    let mut ticket = Ticket::new(utc("09:00"));
    ticket.messages = vec![utc("10:00")];
    ticket.replies = vec![utc("09:00")];
    let first = ticket.clocks(&c, &t, utc("10:30")).first_response.unwrap();
    assert_eq!((first.state, first.due_at), (Running, Some(utc("11:00"))));
}

#[test]
fn pending_pauses_resolution_but_not_replies() {
    let c = always_open();
    let t = targets(60, 30, 240);
    let mut ticket = Ticket::new(utc("10:00"));
    ticket.statuses = vec![
        (utc("10:30"), Status::Open),
        (utc("11:00"), Status::Pending),
    ];
    let paused = ticket.clocks(&c, &t, utc("12:00"));
    let r = paused.resolution.unwrap();
    assert_eq!((r.state, r.elapsed, r.due_at), (Paused, mins(60), None));
    // Setting pending did not answer the requester.
    assert_eq!(paused.first_response.unwrap().state, Breached);
    // Paused long past the old deadline: still not breached.
    assert_eq!(
        ticket
            .clocks(&c, &t, utc("23:00"))
            .resolution
            .unwrap()
            .state,
        Paused
    );

    ticket.statuses.push((utc("13:00"), Status::Open));
    let resumed = ticket.clocks(&c, &t, utc("14:00")).resolution.unwrap();
    assert_eq!((resumed.state, resumed.elapsed), (Running, mins(120)));
    assert_eq!(
        resumed.due_at,
        Some(utc("16:00")),
        "two hours later than without the pause"
    );
}

#[test]
fn on_hold_runs_unless_the_desk_says_otherwise() {
    let c = always_open();
    let t = targets(60, 30, 240);
    let mut ticket = Ticket::new(utc("10:00"));
    ticket.statuses = vec![(utc("11:00"), Status::OnHold)];
    let runs = ticket.clocks(&c, &t, utc("12:00")).resolution.unwrap();
    assert_eq!((runs.state, runs.elapsed), (Running, mins(120)));
    let settings = Settings {
        on_hold_pauses: true,
        ..Settings::default()
    };
    let pauses = ticket
        .clocks_with(&c, &t, &settings, utc("12:00"))
        .resolution
        .unwrap();
    assert_eq!((pauses.state, pauses.elapsed), (Paused, mins(60)));
}

#[test]
fn solving_stops_and_reopening_resumes() {
    let c = always_open();
    let t = targets(60, 30, 240);
    let mut ticket = Ticket::new(utc("10:00"));
    ticket.statuses = vec![(utc("11:00"), Status::Solved)];
    let solved = ticket.clocks(&c, &t, utc("12:00"));
    assert_eq!(solved.resolution.unwrap().state, Met);
    assert_eq!(
        solved.first_response.unwrap().state,
        Met,
        "solving ends the wait"
    );
    // The requester writes back: reopened, a next-response wait starts.
    ticket.messages.push(utc("13:00"));
    ticket.statuses.push((utc("13:00"), Status::Open));
    let reopened = ticket.clocks(&c, &t, utc("13:20"));
    let r = reopened.resolution.unwrap();
    assert_eq!(
        (r.state, r.elapsed, r.due_at),
        (Running, mins(80), Some(utc("16:00")))
    );
    assert_eq!(reopened.next_response.unwrap().due_at, Some(utc("13:30")));
    // Closed: messages go to a follow-up and start nothing here.
    ticket.replies.push(utc("13:20"));
    ticket.statuses.extend([
        (utc("14:00"), Status::Solved),
        (utc("15:00"), Status::Closed),
    ]);
    ticket.messages.push(utc("16:00"));
    let closed = ticket.clocks(&c, &t, utc("17:00"));
    assert_eq!(closed.next_response.unwrap().state, Met);
    assert_eq!(closed.resolution.unwrap().state, Met);
    assert_eq!(closed.next_wake(utc("17:00")), None);
}

#[test]
fn next_wake_is_the_nearest_warning_or_deadline() {
    let c = always_open();
    let ticket = Ticket::new(utc("10:00"));
    let all = ticket.clocks(&c, &targets(60, 30, 240), utc("10:10"));
    assert_eq!(all.next_wake(utc("10:10")), Some(utc("10:45")));
    assert_eq!(all.next_wake(utc("10:50")), Some(utc("11:00")));
    assert_eq!(all.iter().count(), 2, "no next response yet");
}

#[test]
fn a_clock_behind_the_ticket_sees_no_time_pass() {
    let ticket = Ticket::new(utc("10:00"));
    let early = ticket.clocks(&always_open(), &targets(60, 30, 240), utc("09:59"));
    let r = early.resolution.unwrap();
    assert_eq!(
        (r.state, r.elapsed, r.due_at),
        (Running, SignedDuration::ZERO, Some(utc("14:00")))
    );
}

#[test]
fn refuses_bad_input() {
    let c = always_open();
    let t = targets(60, 30, 240);
    let statuses = [
        (utc("11:00"), Status::Open),
        (utc("10:00"), Status::Pending),
    ];
    let h = History {
        created_at: utc("09:00"),
        statuses: &statuses,
        requester_messages: &[],
        agent_replies: &[],
    };
    assert_eq!(
        clocks(&c, &t, &h, &Settings::default(), utc("12:00")),
        Err(SlaError::StatusesOutOfOrder)
    );
    let h = History { statuses: &[], ..h };
    for warn_percent in [0, 101] {
        let s = Settings {
            warn_percent,
            ..Settings::default()
        };
        assert_eq!(
            clocks(&c, &t, &h, &s, utc("12:00")),
            Err(SlaError::WarnPercent(warn_percent))
        );
    }
}

/// A random ticket: a few status changes, messages and replies within two
/// weeks of its creation, statuses in order.
fn tickets() -> impl Strategy<Value = Ticket> {
    let minutes = || 0i64..14 * 24 * 60;
    (
        instants(),
        proptest::collection::vec((minutes(), prop::sample::select(Status::ALL)), 0..6),
        proptest::collection::vec(minutes(), 0..5),
        proptest::collection::vec(minutes(), 0..5),
    )
        .prop_map(|(created_at, statuses, messages, replies)| {
            let t = |m: i64| created_at + mins(m);
            let mut statuses: Vec<_> = statuses.into_iter().map(|(m, s)| (t(m), s)).collect();
            statuses.sort_by_key(|(t, _)| *t);
            let mut messages: Vec<_> = messages.into_iter().map(t).collect();
            messages.push(created_at);
            Ticket {
                created_at,
                statuses,
                messages,
                replies: replies.into_iter().map(t).collect(),
            }
        })
}

fn sla_targets() -> impl Strategy<Value = Targets> {
    (1u32..600, 1u32..600, 1u32..6000).prop_map(|(f, n, r)| targets(f, n, r))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn clocks_agree_with_themselves(
        c in calendars(), t in sla_targets(), ticket in tickets(), now_after in 0i64..20 * 24 * 60,
    ) {
        let now = ticket.created_at + mins(now_after);
        for clock in ticket.clocks(&c, &t, now).iter() {
            if let (Some(w), Some(d)) = (clock.warn_at, clock.due_at) {
                prop_assert!(w <= d, "{:?}", clock);
            }
            prop_assert!(clock.elapsed >= SignedDuration::ZERO);
            // Breached exactly when more than the target was used, or the
            // target was used up and the clock ran on past the deadline.
            if clock.state == Breached {
                prop_assert!(clock.elapsed >= clock.target, "{:?}", clock);
            } else {
                prop_assert!(clock.elapsed <= clock.target, "{:?}", clock);
            }
            match clock.state {
                Running => prop_assert!(clock.due_at.is_none_or(|d| d >= now), "{:?}", clock),
                Breached => prop_assert!(clock.due_at.is_some_and(|d| d < now), "{:?}", clock),
                Met | Paused => prop_assert_eq!(clock.due_at, None),
            }
        }
    }

    #[test]
    fn pausing_never_brings_a_deadline_forward(
        c in calendars(), t in sla_targets(), start in instants(),
        p1 in 0i64..3000, len in 0i64..3000, after in 0i64..3000,
    ) {
        let mut plain = Ticket::new(start);
        plain.statuses.push((start + mins(p1), Status::Open));
        let mut paused = Ticket::new(start);
        paused.statuses.push((start + mins(p1), Status::Pending));
        paused.statuses.push((start + mins(p1 + len), Status::Open));
        let now = start + mins(p1 + len + after);
        let (a, b) = (plain.clocks(&c, &t, now).resolution.unwrap(), paused.clocks(&c, &t, now).resolution.unwrap());
        prop_assert!(b.elapsed <= a.elapsed);
        if let (Some(da), Some(db)) = (a.due_at, b.due_at) {
            prop_assert!(db >= da, "{} < {}", db, da);
        }
        prop_assert!(b.state != Breached || a.state == Breached);
    }

    #[test]
    fn a_reply_before_the_deadline_is_met(c in calendars(), t in sla_targets(), start in instants(), share in 0u32..=100) {
        let ticket = Ticket::new(start);
        let due = ticket.clocks(&c, &t, start).first_response.unwrap().due_at;
        if let Some(due) = due {
            let mut answered = ticket;
            answered.replies.push(start + (due.duration_since(start) * share as i32) / 100);
            let clock = answered.clocks(&c, &t, due + mins(600)).first_response.unwrap();
            prop_assert_eq!(clock.state, Met);
        }
    }

    #[test]
    fn a_paused_clock_does_not_breach(c in calendars(), t in sla_targets(), start in instants(), share in 0u32..100, later in 0i64..100_000) {
        let ticket = Ticket::new(start);
        if let Some(due) = ticket.clocks(&c, &t, start).resolution.unwrap().due_at {
            let mut paused = ticket;
            let pause = start + (due.duration_since(start) * share as i32) / 100;
            paused.statuses.push((pause, Status::Pending));
            let clock = paused.clocks(&c, &t, due + mins(later)).resolution.unwrap();
            prop_assert_eq!(clock.state, Paused);
        }
    }
}
