//! Every (status, event) pair, written out as a table so a change to the
//! rules shows up as a change here.

use jiff::{SignedDuration, Timestamp};
use koban_policy::desk::status::{
    auto_close_at, auto_close_due, decide, Channel, Decision, Event, Priority, Refusal, Status,
};
use Decision::{FollowUp, Move, Refused, Stay};
use Status::*;

const EVENTS: [Event; 9] = [
    Event::RequesterReplies,
    Event::AgentReplies,
    Event::AutoClose,
    Event::AgentSets(New),
    Event::AgentSets(Open),
    Event::AgentSets(Pending),
    Event::AgentSets(OnHold),
    Event::AgentSets(Solved),
    Event::AgentSets(Closed),
];

/// One row per status, one column per entry of [`EVENTS`].
fn expected(status: Status) -> [Decision; 9] {
    let back = Refused(Refusal::BackToNew);
    let unsolved = Refused(Refusal::CloseUnsolved);
    let closed = Refused(Refusal::Closed);
    match status {
        //       requester   agent reply  auto-close   ->new ->open       ->pending      ->on_hold     ->solved      ->closed
        New => [
            Stay,
            Move(Open),
            Stay,
            Stay,
            Move(Open),
            Move(Pending),
            Move(OnHold),
            Move(Solved),
            unsolved,
        ],
        Open => [
            Stay,
            Stay,
            Stay,
            back,
            Stay,
            Move(Pending),
            Move(OnHold),
            Move(Solved),
            unsolved,
        ],
        Pending => [
            Move(Open),
            Stay,
            Stay,
            back,
            Move(Open),
            Stay,
            Move(OnHold),
            Move(Solved),
            unsolved,
        ],
        OnHold => [
            Move(Open),
            Stay,
            Stay,
            back,
            Move(Open),
            Move(Pending),
            Stay,
            Move(Solved),
            unsolved,
        ],
        Solved => [
            Move(Open),
            Stay,
            Move(Closed),
            back,
            Move(Open),
            Move(Pending),
            Move(OnHold),
            Stay,
            Move(Closed),
        ],
        Closed => [
            FollowUp, closed, Stay, closed, closed, closed, closed, closed, closed,
        ],
    }
}

#[test]
fn every_status_and_event_pair() {
    for &status in Status::ALL {
        for (event, want) in EVENTS.iter().zip(expected(status)) {
            assert_eq!(decide(status, *event), want, "{status} on {event:?}");
        }
    }
}

#[test]
fn a_closed_ticket_never_moves() {
    for event in EVENTS {
        assert!(!matches!(decide(Closed, event), Move(_)), "{event:?}");
    }
}

#[test]
fn identifiers_round_trip() {
    for &s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Ok(s));
        assert_eq!(s.to_string().parse::<Status>(), Ok(s));
    }
    for &p in Priority::ALL {
        assert_eq!(Priority::parse(p.as_str()), Ok(p));
    }
    for &c in Channel::ALL {
        assert_eq!(Channel::parse(c.as_str()), Ok(c));
    }
    assert_eq!(OnHold.as_str(), "on_hold");
    assert!(Status::parse("On_Hold").is_err());
    assert!(Status::parse("onhold").is_err());
    assert!(Channel::parse("sms").is_err());
    assert_eq!(Priority::parse("").unwrap_err().kind, "priority");
}

#[test]
fn only_solved_and_closed_are_done() {
    let done: Vec<Status> = Status::ALL
        .iter()
        .copied()
        .filter(|s| s.is_done())
        .collect();
    assert_eq!(done, [Solved, Closed]);
}

#[test]
fn auto_close_waits_whole_days() {
    let solved: Timestamp = "2026-03-06T10:00:00Z".parse().unwrap();
    let at = auto_close_at(solved, 4);
    assert_eq!(at, "2026-03-10T10:00:00Z".parse().unwrap());
    assert!(!auto_close_due(
        solved,
        at - SignedDuration::from_secs(1),
        4
    ));
    assert!(auto_close_due(solved, at, 4));
    assert!(auto_close_due(solved, solved, 0));
    // Far-off dates saturate instead of failing.
    assert_eq!(auto_close_at(Timestamp::MAX, 4), Timestamp::MAX);
    assert!(!auto_close_due(Timestamp::MAX, solved, u32::MAX));
}
