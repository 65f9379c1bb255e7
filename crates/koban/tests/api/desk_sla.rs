//! SLA clocks and escalation through HTTP: due times in a team's business
//! hours across a weekend and a holiday, the resolution clock paused while
//! pending, warning and breach escalations performed exactly once however
//! many workers run them, and the requester's one escalation.

use crate::desk_routing::{open, put};
use crate::support::{eventually, scalar, TestApp};
use koban::desk::store::sla::Stage;
use reqwest::StatusCode;
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

fn timer<'a>(ticket: &'a Value, metric: &str) -> &'a Value {
    ticket["sla"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["metric"] == metric))
        .unwrap_or(&Value::Null)
}

async fn ticket_id(t: &TestApp, reference: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT id FROM desk_tickets WHERE reference = '{reference}'"),
    )
    .await
}

/// Moves the ticket's past back to `created` (ms): opening and its message.
async fn backdate(t: &TestApp, id: i64, created: i64) {
    t.exec(&format!(
        "UPDATE desk_tickets SET created_at = {created} WHERE id = {id}"
    ))
    .await;
    t.exec(&format!(
        "UPDATE desk_messages SET created_at = {created} WHERE ticket_id = {id}"
    ))
    .await;
}

async fn due_times_count_only_business_hours(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    // Tokyo office hours; Monday 12 January 2026 is a holiday (Coming of Age Day).
    let (status, calendar) = t
        .post_as(
            &admin,
            "/api/v1/desk/admin/calendars",
            json!({ "name": "tokyo", "spec": { "zone": "Asia/Tokyo",
                "week": { "mon": ["09:00-18:00"], "tue": ["09:00-18:00"], "wed": ["09:00-18:00"],
                          "thu": ["09:00-18:00"], "fri": ["09:00-18:00"] },
                "holidays": ["2026-01-12"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{calendar}");
    let (status, body) = t
        .post_as(
            &admin,
            "/api/v1/desk/admin/teams",
            json!({ "slug": "tokyo", "name": "Tokyo", "calendar_id": calendar["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = put(
        &t,
        &admin,
        "/api/v1/desk/admin/sla-policies",
        json!({ "policies": [{ "first_response": 120, "resolution": 600 }] }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let reference = open(
        &t,
        "kenji@example.jp",
        "ja",
        "ログインできない",
        "ログインできません",
    )
    .await;
    let id = ticket_id(&t, &reference).await;
    // Written on Friday 9 January 2026 at 17:00 in Tokyo (08:00 UTC).
    let friday_five_pm: i64 = 1_767_945_600_000;
    backdate(&t, id, friday_five_pm).await;
    let path = format!("/api/v1/desk/tickets/{reference}");
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&path))
                .bearer_auth(&admin)
                .json(&json!({ "team": "tokyo" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(&admin), &path).await;
    // One hour on Friday, none over the weekend and the holiday, the second
    // on Tuesday: due Tuesday 13 January at 10:00 in Tokyo (01:00 UTC).
    let tuesday_ten_am: i64 = 1_768_266_000_000;
    assert_eq!(
        timer(&ticket, "first_response")["due_at"],
        tuesday_ten_am,
        "{ticket}"
    );
    assert_eq!(timer(&ticket, "first_response")["target_minutes"], 120);
    // Resolution: 600 minutes = 1 h Friday + 9 h Tuesday: Tuesday 18:00.
    assert_eq!(
        timer(&ticket, "resolution")["due_at"],
        tuesday_ten_am + 8 * 60 * MINUTE,
        "{ticket}"
    );
}
both!(due_times_count_only_business_hours);

async fn pending_pauses_the_resolution_clock_and_a_reply_meets_the_first(t: TestApp) {
    let agent = t.staff("ann@example.com", "agent").await;
    let user = t
        .signed_up("asker@example.com", "correct horse battery")
        .await;
    let (status, opened) = t
        .post_as(
            &user,
            "/api/v1/desk/tickets",
            json!({ "subject": "Help", "body": "My code never came" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let path = format!(
        "/api/v1/desk/tickets/{}",
        opened["reference"]
            .as_str()
            .expect("reference")
            .replace('-', "")
    );
    // One job wakes the ticket: at its nearest warning.
    assert_eq!(t.count("jobs WHERE kind = 'desk.sla'").await, 1);
    // The requester sees when to expect an answer.
    let (_, mine) = t.get(Some(&user), &path).await;
    assert_eq!(
        mine["expected_response"]["metric"], "first_response",
        "{mine}"
    );
    assert!(mine["expected_response"]["due_at"].as_i64().is_some());
    assert!(mine.get("sla").is_none(), "timers are for staff: {mine}");
    let (_, ticket) = t.get(Some(&agent), &path).await;
    assert_eq!(timer(&ticket, "resolution")["state"], "running", "{ticket}");
    assert!(timer(&ticket, "resolution")["remaining_business_minutes"]
        .as_i64()
        .is_some());
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&path))
                .bearer_auth(&agent)
                .json(&json!({ "status": "pending" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(&agent), &path).await;
    assert_eq!(timer(&ticket, "resolution")["state"], "paused", "{ticket}");
    assert!(timer(&ticket, "resolution")["due_at"].is_null());
    // Setting a status answers nobody: the reply clock still runs.
    assert_eq!(timer(&ticket, "first_response")["state"], "running");
    let (status, _) = t
        .post_as(
            &agent,
            &format!("{path}/messages"),
            json!({ "body": "Looking into it." }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, ticket) = t.get(Some(&agent), &path).await;
    assert_eq!(timer(&ticket, "first_response")["state"], "met", "{ticket}");
    let (_, mine) = t.get(Some(&user), &path).await;
    assert!(mine["expected_response"].is_null(), "{mine}");
}
both!(pending_pauses_the_resolution_clock_and_a_reply_meets_the_first);

async fn escalations_happen_once_however_many_workers_run(t: TestApp) {
    t.staff("sue@example.com", "supervisor").await;
    let reference = open(
        &t,
        "late@example.com",
        "en",
        "Code never came",
        "My verification code never came",
    )
    .await;
    let id = ticket_id(&t, &reference).await;
    // The default normal policy: first reply in 480 business minutes, warn
    // at 75 %; open around the clock. 481 minutes ago is past both.
    backdate(&t, id, koban::store::now_ms() - 481 * MINUTE).await;
    let app = t.app.clone();
    // A fresher ticket: the "breaching soon" view puts the late one first.
    open(
        &t,
        "fresh@example.com",
        "en",
        "Question",
        "How do I change my phone number?",
    )
    .await;
    let agent = t.staff("ann@example.com", "agent").await;
    for stage in [Stage::Warning, Stage::Breach] {
        let (a, b) = tokio::join!(
            koban::desk::routing::sla::check_clock(&app, id, "first_response", stage),
            koban::desk::routing::sla::check_clock(&app, id, "first_response", stage)
        );
        let (a, b) = (a.expect("first worker"), b.expect("second worker"));
        assert!(!(a && b), "both workers escalated at {stage:?}");
    }
    let (status, queue) = t
        .get(Some(&agent), "/api/v1/desk/tickets?view=breaching")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["items"].as_array().map(Vec::len), Some(2), "{queue}");
    assert_eq!(
        queue["items"][0]["reference"]
            .as_str()
            .map(|r| r.replace('-', "")),
        Some(reference.clone())
    );
    // The queued jobs (and the node's own worker) find nothing left to do.
    let due = koban::store::now_ms();
    let pending = format!(
        "jobs WHERE kind = 'desk.sla' AND status IN ('pending', 'running') AND run_at <= {due}"
    );
    eventually("the SLA jobs ran", || async {
        (t.count(&pending).await == 0).then_some(())
    })
    .await;
    for stage in [Stage::Warning, Stage::Breach] {
        let again = koban::desk::routing::sla::check_clock(&app, id, "first_response", stage)
            .await
            .expect("again");
        assert!(!again);
    }
    let events = |kind: &str| format!("desk_events WHERE ticket_id = {id} AND kind = '{kind}'");
    assert_eq!(t.count(&events("sla_warning")).await, 1);
    assert_eq!(t.count(&events("sla_breached")).await, 1);
    // Warning: notify; breach: raise the priority and notify.
    assert_eq!(t.count(&events("supervisor_notified")).await, 2);
    assert_eq!(t.count(&events("priority")).await, 1);
    // The supervisor heard of each once.
    let notices = "deliveries WHERE destination = 'sue@example.com' AND purpose = 'desk_sla'";
    assert_eq!(t.count(notices).await, 2);
    let last = t.latest_message("sue@example.com").await;
    assert!(last.contains("first reply"), "{last}");
    assert_eq!(
        scalar(
            &t,
            &format!("SELECT COUNT(*) FROM desk_tickets WHERE id = {id} AND priority = 'high'")
        )
        .await,
        1
    );
}
both!(escalations_happen_once_however_many_workers_run);

async fn a_requester_escalates_once(t: TestApp) {
    let user = t
        .signed_up("asker@example.com", "correct horse battery")
        .await;
    let stranger = t
        .signed_up("stranger@example.com", "correct horse battery")
        .await;
    let agent = t.staff("ann@example.com", "agent").await;
    let (_, opened) = t
        .post_as(
            &user,
            "/api/v1/desk/tickets",
            json!({ "subject": "Locked out", "body": "I cannot sign in at all" }),
        )
        .await;
    let path = format!(
        "/api/v1/desk/tickets/{}/escalate",
        opened["reference"]
            .as_str()
            .expect("reference")
            .replace('-', "")
    );
    let before = opened["priority"].clone();
    for bad in [
        json!({ "reason": "   " }),
        json!({ "reason": "x".repeat(1001) }),
        json!({}),
    ] {
        let (status, problem) = t.post_as(&user, &path, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    let (status, _) = t
        .post_as(&stranger, &path, json!({ "reason": "me too" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.post_as(&agent, &path, json!({ "reason": "hurry" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.post(&path, json!({ "reason": "hurry" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 0);
    let (status, body) = t
        .post_as(
            &user,
            &path,
            json!({ "reason": "I have a flight in two hours" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, problem) = t.post_as(&user, &path, json!({ "reason": "again" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        problem["type"]
            .as_str()
            .map(|s| s.ends_with("ticket-already-escalated")),
        Some(true),
        "{problem}"
    );
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 1);
    let ticket_path = path.trim_end_matches("/escalate");
    let (_, ticket) = t.get(Some(&agent), ticket_path).await;
    assert_ne!(ticket["priority"], before, "{ticket}");
    let escalated = ticket["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "escalated").cloned())
        .expect("escalated event");
    assert_eq!(
        escalated["detail"]["reason"],
        "I have a flight in two hours"
    );
}
both!(a_requester_escalates_once);

async fn the_ticket_page_shows_the_expected_reply_and_escalates_once(t: TestApp) {
    use crate::security_pages::{location, Pages};
    let token = t.signed_up("page@example.com", "plum blossom 2026").await;
    let (_, opened) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "subject": "群發失敗", "body": "群發訊息一直失敗" }),
        )
        .await;
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let mut p = Pages::new(&t).await;
    p.sign_in("page@example.com", "plum blossom 2026").await;
    let path = format!("/support/tickets/{reference}");
    let html = p.get(&path).await.text().await.expect("html");
    assert!(html.contains("id=\"ticket-expected\""), "{html}");
    assert!(html.contains("id=\"escalate-form\""), "{html}");
    let response = p
        .post(&format!("{path}/escalate"), &[("reason", "   ")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A reason refused as too long stays in the form, to be shortened.
    let long = "很急".repeat(501);
    let response = p
        .post(&format!("{path}/escalate"), &[("reason", &long)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(html.contains(&format!(">{long}</textarea>")), "{html}");
    assert!(html.contains("id=\"reason-error\""), "{html}");
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 0);
    let response = p
        .post(
            &format!("{path}/escalate"),
            &[("reason", "<script>alert(1)</script> 很急")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), path);
    let html = p.get(&path).await.text().await.expect("html");
    assert!(html.contains("id=\"ticket-escalated\""), "{html}");
    assert!(!html.contains("id=\"escalate-form\""), "once only: {html}");
    let response = p
        .post(&format!("{path}/escalate"), &[("reason", "again")])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 1);
}
both!(the_ticket_page_shows_the_expected_reply_and_escalates_once);

async fn the_job_queue_escalates_by_itself(t: TestApp) {
    let agent = t.staff("ann@example.com", "agent").await;
    let reference = open(
        &t,
        "queue@example.com",
        "en",
        "Still waiting",
        "Nobody answered me",
    )
    .await;
    let id = ticket_id(&t, &reference).await;
    backdate(&t, id, koban::store::now_ms() - 481 * MINUTE).await;
    // Any change recomputes the clocks; an internal note answers nobody.
    let (status, _) = t
        .post_as(
            &agent,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "Checking with the SMS vendor", "public": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    t.app.jobs_wakeup.notify_one();
    let breached = format!("desk_events WHERE ticket_id = {id} AND kind = 'sla_breached'");
    eventually("the SLA job escalated", || async {
        (t.count(&breached).await == 1).then_some(())
    })
    .await;
    assert_eq!(
        t.count(&format!(
            "desk_events WHERE ticket_id = {id} AND kind = 'sla_warning'"
        ))
        .await,
        1
    );
}
both!(the_job_queue_escalates_by_itself);
