//! Sending and answering: one survey per ticket, one answer per ticket,
//! who may answer, and every bad answer refused with nothing changed.

use super::{open, patch, solve, solved, surveys_done, PASSWORD};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn a_solved_ticket_gets_one_survey_and_one_answer(t: TestApp) {
    let s = solved(&t, "aiko@example.jp").await;
    let link = format!("/api/v1/desk/surveys/{}", s.token);
    let (status, open) = t.get(None, &link).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open["state"], "open");
    assert_eq!(open["reference"], s.reference);
    // Stored hashed: the token itself is nowhere in the database.
    let stored = scalar(
        &t,
        &format!(
            "SELECT COUNT(*) FROM desk_surveys WHERE token_hash = '{}'",
            s.token
        ),
    )
    .await;
    assert_eq!(stored, 0);
    let (status, answered) = t
        .post(&link, json!({ "score": 5, "comment": "とても丁寧でした" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["state"], "answered");
    assert_eq!(answered["score"], 5);
    // The second answer, by link or by the page's API, changes nothing.
    let (status, problem) = t.post(&link, json!({ "score": 1 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/survey-answered");
    let rate = format!("/api/v1/desk/tickets/{}/satisfaction", s.reference);
    let (status, problem) = t.post_as(&s.requester, &rate, json!({ "score": 2 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    // The agent sees the rating on the ticket, and in its events.
    let (status, seen) = t.get(Some(&s.agent), &rate).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["score"], 5);
    assert_eq!(seen["comment"], "とても丁寧でした");
    assert_eq!(t.count("desk_events WHERE kind = 'satisfaction'").await, 1);
    assert_eq!(t.count("desk_events WHERE kind = 'survey_sent'").await, 1);
    // Reopened and solved again: still one survey, one mail.
    patch(&t, &s.agent, &s.reference, json!({ "status": "open" })).await;
    patch(&t, &s.agent, &s.reference, json!({ "status": "solved" })).await;
    surveys_done(&t).await;
    assert_eq!(t.count("desk_surveys").await, 1);
    assert_eq!(t.count("deliveries WHERE purpose = 'desk_survey'").await, 1);
    // A job run again (a crash after it sent) sends nothing twice.
    let ticket_id = scalar(&t, "SELECT id FROM desk_tickets").await;
    koban::desk::survey::send(&t.app, ticket_id)
        .await
        .expect("send again");
    assert_eq!(t.count("desk_surveys").await, 1);
    assert_eq!(t.count("deliveries WHERE purpose = 'desk_survey'").await, 1);
}
both!(a_solved_ticket_gets_one_survey_and_one_answer);

async fn the_requester_rates_on_the_ticket_signed_in(t: TestApp) {
    let requester = t.signed_up("mei@example.tw", PASSWORD).await;
    let other = t.signed_up("other@example.tw", PASSWORD).await;
    let agent = t.staff("agent@example.tw", "agent").await;
    let reference = open(&t, &requester, "登不進去").await;
    let rate = format!("/api/v1/desk/tickets/{reference}/satisfaction");
    // Not solved yet: nothing to rate.
    let (status, problem) = t.post_as(&requester, &rate, json!({ "score": 4 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/survey-not-sent");
    let (status, none) = t.get(Some(&requester), &rate).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none["state"], "none");
    solve(&t, &agent, &reference, "mei@example.tw").await;
    // Someone else's ticket does not exist for them; staff may not rate.
    let (status, _) = t.post_as(&other, &rate, json!({ "score": 1 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.get(Some(&other), &rate).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = t.post_as(&agent, &rate, json!({ "score": 5 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = t.post(&rate, json!({ "score": 5 })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.count("desk_surveys WHERE score IS NOT NULL").await, 0);
    let (status, answered) = t
        .post_as(&requester, &rate, json!({ "score": 4, "comment": "" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["score"], 4);
    assert!(answered["comment"].is_null());
    let answered_by = scalar(&t, "SELECT answered_by FROM desk_surveys").await;
    let mine = scalar(&t, "SELECT id FROM accounts WHERE email = 'mei@example.tw'").await;
    assert_eq!(answered_by, mine);
}
both!(the_requester_rates_on_the_ticket_signed_in);

async fn bad_answers_are_refused_and_change_nothing(t: TestApp) {
    let s = solved(&t, "somchai@example.co.th").await;
    let link = format!("/api/v1/desk/surveys/{}", s.token);
    let long = "ก".repeat(2001);
    for (body, field, code) in [
        (json!({ "score": 0 }), "score", "out_of_range"),
        (json!({ "score": 6 }), "score", "out_of_range"),
        (json!({ "score": -3 }), "score", "out_of_range"),
        (json!({ "score": 3.5 }), "score", "invalid_type"),
        (json!({ "score": "5" }), "score", "invalid_type"),
        (json!({ "score": null }), "score", "invalid_type"),
        (json!({ "comment": "good" }), "score", "required"),
        (
            json!({ "score": 4, "comment": long }),
            "comment",
            "too_long",
        ),
        (
            json!({ "score": 4, "comment": "ok\u{202e}" }),
            "comment",
            "control_character",
        ),
        (
            json!({ "score": 4, "rating": 4 }),
            "rating",
            "unknown_field",
        ),
    ] {
        let (status, problem) = t.post(&link, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body} {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{body} {problem}");
    }
    let (status, _) = t
        .send(
            t.http
                .post(t.url(&link))
                .header("content-type", "application/json")
                .body("{\"score\": "),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A token of the right shape that opens nothing: not found; one that
    // cannot be a token: refused as malformed.
    let (status, problem) = t
        .post("/api/v1/desk/surveys/ksv_nothing", json!({ "score": 5 }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    for bad in ["nothing", &format!("ksv_{}", "x".repeat(300))] {
        let (status, problem) = t
            .post(
                &format!("/api/v1/desk/surveys/{bad}"),
                json!({ "score": 5 }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "token", "{problem}");
    }
    assert_eq!(t.count("desk_surveys WHERE score IS NOT NULL").await, 0);
    assert_eq!(t.count("desk_events WHERE kind = 'satisfaction'").await, 0);
    // Four weeks on, the link is gone, and the page's API says it closed.
    t.exec("UPDATE desk_surveys SET sent_at = sent_at - 2419200001")
        .await;
    let (status, _) = t.post(&link, json!({ "score": 5 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.get(None, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rate = format!("/api/v1/desk/tickets/{}/satisfaction", s.reference);
    let (status, problem) = t.post_as(&s.requester, &rate, json!({ "score": 5 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/survey-expired");
    assert_eq!(t.count("desk_surveys WHERE score IS NOT NULL").await, 0);
}
both!(bad_answers_are_refused_and_change_nothing);

async fn answers_arriving_at_once_count_once(t: TestApp) {
    let s = solved(&t, "ken@example.jp").await;
    let link = format!("/api/v1/desk/surveys/{}", s.token);
    let rate = format!("/api/v1/desk/tickets/{}/satisfaction", s.reference);
    let mut racers = Vec::new();
    for i in 0..8i64 {
        let request = if i % 2 == 0 {
            t.http
                .post(t.url(&link))
                .json(&json!({ "score": 1 + i % 5 }))
        } else {
            t.http
                .post(t.url(&rate))
                .bearer_auth(&s.requester)
                .json(&json!({ "score": 1 + i % 5 }))
        };
        racers.push(tokio::spawn(async move {
            request.send().await.expect("send").status()
        }));
    }
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.expect("join"));
    }
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, refused), (1, 7), "{statuses:?}");
    assert_eq!(t.count("desk_surveys WHERE score IS NOT NULL").await, 1);
    assert_eq!(t.count("desk_events WHERE kind = 'satisfaction'").await, 1);
}
both!(answers_arriving_at_once_count_once);

async fn merged_and_unsolved_tickets_get_no_survey(t: TestApp) {
    let requester = t.signed_up("lin@example.cn", PASSWORD).await;
    let agent = t.staff("agent@example.cn", "agent").await;
    let first = open(&t, &requester, "无法登录").await;
    let second = open(&t, &requester, "还是无法登录").await;
    let (status, body) = t
        .post_as(
            &agent,
            &format!("/api/v1/desk/tickets/{first}/merge"),
            json!({ "into": second }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let id_of = |r: &str| {
        format!(
            "SELECT id FROM desk_tickets WHERE reference = '{}'",
            r.replace('-', "")
        )
    };
    let merged = scalar(&t, &id_of(&first)).await;
    let unsolved = scalar(&t, &id_of(&second)).await;
    // Even when a job names them (queued by an older version, say).
    for ticket_id in [merged, unsolved] {
        koban::desk::survey::send(&t.app, ticket_id)
            .await
            .expect("send");
    }
    surveys_done(&t).await;
    assert_eq!(t.count("desk_surveys").await, 0);
    assert_eq!(t.count("deliveries WHERE purpose = 'desk_survey'").await, 0);
}
both!(merged_and_unsolved_tickets_get_no_survey);
