//! Satisfaction surveys through HTTP, on both databases: one survey per
//! solved ticket, sent by its channel with a link; one answer per ticket
//! (also when two arrive at once); who may answer; bad input refused with
//! nothing changed; the supervisors' report, its export and its pages.

mod answers;
mod pages;
mod report;

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A requester's ticket, solved by an agent who claimed it first.
pub(crate) struct Solved {
    pub requester: String,
    pub agent: String,
    pub reference: String,
    /// The token of the survey link mailed to the requester.
    pub token: String,
}

/// Opens a ticket for `requester` (signed in as `email`).
pub(crate) async fn open(t: &TestApp, requester: &str, subject: &str) -> String {
    let (status, body) = t
        .post_as(
            requester,
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": "新しいスマホでログインできません" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["reference"].as_str().expect("reference").to_string()
}

/// Applies `changes` to the ticket as `agent`.
pub(crate) async fn patch(t: &TestApp, agent: &str, reference: &str, changes: Value) {
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&format!("/api/v1/desk/tickets/{reference}")))
                .bearer_auth(agent)
                .json(&changes),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
}

/// Waits until no survey job waits or runs.
pub(crate) async fn surveys_done(t: &TestApp) {
    for _ in 0..200 {
        let waiting = crate::support::scalar(
            t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'desk.survey' AND status IN ('pending', 'running')",
        )
        .await;
        if waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("survey jobs did not finish within five seconds");
}

/// The survey link's token in a message body.
pub(crate) fn token_in(body: &str) -> String {
    let start = body.find("/support/surveys/").expect("survey link") + "/support/surveys/".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// Solves `reference` as `agent` (claiming it) and reads the survey link
/// mailed to `email`.
pub(crate) async fn solve(t: &TestApp, agent: &str, reference: &str, email: &str) -> String {
    patch(
        t,
        agent,
        reference,
        json!({ "claim": true, "status": "solved" }),
    )
    .await;
    // The newest survey mail is this ticket's once its job has run.
    surveys_done(t).await;
    let body = t.newest_delivery_of("desk_survey", email).await;
    token_in(&body)
}

/// A fresh requester, agent and solved ticket.
pub(crate) async fn solved(t: &TestApp, email: &str) -> Solved {
    let requester = t.signed_up(email, PASSWORD).await;
    let agent = t.staff(&format!("agent.{email}"), "agent").await;
    let reference = open(t, &requester, "ログインできない").await;
    let token = solve(t, &agent, &reference, email).await;
    Solved {
        requester,
        agent,
        reference,
        token,
    }
}
