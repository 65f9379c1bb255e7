//! Bulk changes through the API (`POST /api/v1/desk/tickets/bulk`), the
//! "my team" queue view, and files sent with a reply to a closed ticket
//! (they go to the follow-up), on both databases, with every refusal.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const BULK: &str = "/api/v1/desk/tickets/bulk";

async fn open(t: &TestApp, token: &str, subject: &str) -> String {
    let (status, opened) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": "验证码收不到" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    opened["reference"].as_str().expect("reference").to_string()
}

async fn patch(t: &TestApp, token: &str, reference: &str, body: Value) -> StatusCode {
    let path = format!("/api/v1/desk/tickets/{reference}");
    let (status, answer) = t
        .send(t.http.patch(t.url(&path)).bearer_auth(token).json(&body))
        .await;
    assert!(status.is_success(), "{body}: {answer}");
    status
}

async fn ticket(t: &TestApp, token: &str, reference: &str) -> Value {
    let (status, ticket) = t
        .get(Some(token), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    ticket
}

fn results(answer: &Value) -> Vec<(String, String)> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["reference"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn tags_of(t: &TestApp, tag: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT COUNT(*) FROM desk_ticket_tags WHERE tag = '{tag}'"),
    )
    .await
}

async fn bulk_changes_each_ticket_and_reports_each(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let other = t.staff("other@example.com", "agent").await;
    let a = open(&t, &owner, "First").await;
    let b = open(&t, &owner, "Second").await;
    let stale = open(&t, &owner, "Third").await;
    let closed = open(&t, &owner, "Fourth").await;
    let nowhere = koban_policy::desk::reference::Reference::from_random(7).to_string();

    // What the agent saw, then another agent changes one ticket meanwhile.
    let seen = ticket(&t, &agent, &stale).await["updated_at"]
        .as_i64()
        .expect("updated_at");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    patch(&t, &other, &stale, json!({ "priority": "low" })).await;
    patch(&t, &agent, &closed, json!({ "status": "solved" })).await;
    patch(&t, &agent, &closed, json!({ "status": "closed" })).await;

    let (status, answer) = t
        .post_as(
            &agent,
            BULK,
            json!({
                "tickets": [
                    { "reference": a }, { "reference": b }, { "reference": nowhere },
                    { "reference": "12345" },
                    { "reference": stale, "updated_at": seen }, { "reference": closed },
                ],
                "changes": { "priority": "high", "claim": true },
                "add_tags": ["VIP", "vip"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let got: Vec<String> = results(&answer).into_iter().map(|(_, r)| r).collect();
    assert_eq!(
        got,
        [
            "ok",
            "ok",
            "not_found",
            "not_found",
            "conflict",
            "ticket_closed"
        ],
        "{answer}"
    );
    assert_eq!(results(&answer)[0].0, a, "references come back as asked");
    for reference in [&a, &b] {
        let changed = ticket(&t, &agent, reference).await;
        assert_eq!(changed["priority"], "high", "{changed}");
        assert!(changed["assignee_id"].is_i64(), "{changed}");
    }
    assert_eq!(ticket(&t, &agent, &stale).await["priority"], "low");
    assert_eq!(ticket(&t, &agent, &closed).await["priority"], "normal");
    assert_eq!(
        tags_of(&t, "vip").await,
        2,
        "tags once per ticket, lowercased"
    );

    // A status the ticket's state refuses is reported by field, per ticket.
    let (status, answer) = t
        .post_as(
            &agent,
            BULK,
            json!({ "tickets": [{ "reference": a }], "changes": { "status": "closed" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["result"], "invalid", "{answer}");
    assert_eq!(answer["results"][0]["errors"][0]["field"], "status");
    // Another agent claiming what the first holds: conflict, nothing moves.
    let (status, answer) = t
        .post_as(
            &other,
            BULK,
            json!({ "tickets": [{ "reference": b }], "changes": { "claim": true },
                    "remove_tags": ["vip"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["result"], "conflict", "{answer}");
    assert_eq!(tags_of(&t, "vip").await, 2, "a lost race leaves the tags");
    // Tags alone, removed.
    let (status, answer) = t
        .post_as(
            &agent,
            BULK,
            json!({ "tickets": [{ "reference": b }], "remove_tags": ["vip"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["result"], "ok", "{answer}");
    assert_eq!(tags_of(&t, "vip").await, 1);
}
both!(bulk_changes_each_ticket_and_reports_each);

async fn bulk_refuses_bad_requests_and_callers(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let a = open(&t, &owner, "First").await;
    let one = json!([{ "reference": a }]);
    let events_before = scalar(&t, "SELECT COUNT(*) FROM desk_events").await;

    let good = json!({ "tickets": one, "changes": { "priority": "high" } });
    let (status, _) = t.post(BULK, good.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.post_as(&owner, BULK, good).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "requesters act on nothing in bulk"
    );

    let many: Vec<Value> = (0..101).map(|_| json!({ "reference": a })).collect();
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    for (body, field) in [
        (
            json!({ "tickets": [], "changes": { "priority": "high" } }),
            "tickets",
        ),
        (
            json!({ "tickets": many, "changes": { "priority": "high" } }),
            "tickets",
        ),
        (json!({ "tickets": one }), "changes"),
        (json!({ "tickets": one, "changes": {} }), "changes"),
        (
            json!({ "tickets": one, "changes": { "priority": "extreme" } }),
            "priority",
        ),
        (
            json!({ "tickets": one, "changes": { "status": "new" } }),
            "status",
        ),
        (
            json!({ "tickets": one, "changes": { "category": "bogus" } }),
            "category",
        ),
        (
            json!({ "tickets": one, "changes": { "team": "nobody" } }),
            "team",
        ),
        (
            json!({ "tickets": one, "changes": { "assignee_id": 999_999 } }),
            "assignee_id",
        ),
        (
            json!({ "tickets": one, "changes": { "claim": true, "unassign": true } }),
            "claim",
        ),
        (
            json!({ "tickets": one, "add_tags": ["two words"] }),
            "add_tags",
        ),
        (json!({ "tickets": one, "add_tags": tags }), "add_tags"),
    ] {
        let (status, problem) = t.post_as(&agent, BULK, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    for body in [
        json!({ "tickets": one, "changes": { "priority": "high" }, "extra": 1 }),
        json!({ "tickets": one, "changes": { "priority": "high", "colour": "red" } }),
        json!({ "tickets": [{ "reference": a, "id": 1 }], "changes": { "priority": "high" } }),
    ] {
        let (status, problem) = t.post_as(&agent, BULK, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
    }
    let events_after = scalar(&t, "SELECT COUNT(*) FROM desk_events").await;
    assert_eq!(
        events_before, events_after,
        "a refused request changes nothing"
    );
    assert_eq!(ticket(&t, &agent, &a).await["priority"], "normal");
}
both!(bulk_refuses_bad_requests_and_callers);

async fn the_team_view_shows_the_tickets_of_my_teams(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let admin = t.staff("admin@example.com", "admin").await;
    let member = t.staff("member@example.com", "agent").await;
    let outsider = t.staff("outsider@example.com", "agent").await;
    // Opened before the team exists, so routing leaves them in the default team.
    let theirs = open(&t, &owner, "Invoice").await;
    let elsewhere = open(&t, &owner, "Other").await;
    let solved = open(&t, &owner, "Done").await;
    let (status, made) = t
        .post_as(
            &admin,
            "/api/v1/desk/admin/teams",
            json!({ "slug": "billing", "name": "Billing", "calendar_id": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let member_id = scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'member@example.com'",
    )
    .await;
    let path = format!("/api/v1/desk/admin/teams/billing/members/{member_id}");
    let (status, body) = t
        .send(
            t.http
                .put(t.url(&path))
                .bearer_auth(&admin)
                .json(&json!({ "cap": 5 })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    patch(&t, &admin, &theirs, json!({ "team": "billing" })).await;
    patch(&t, &admin, &solved, json!({ "team": "billing" })).await;
    patch(&t, &admin, &solved, json!({ "status": "solved" })).await;
    let done = ticket(&t, &admin, &solved).await;
    assert_eq!(done["status"], "solved", "{done}");

    let listed = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["reference"].as_str().map(str::to_string))
            .collect()
    };
    let (status, page) = t.get(Some(&member), "/api/v1/desk/tickets?view=team").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        listed(&page),
        std::slice::from_ref(&theirs),
        "open tickets of my teams only"
    );
    assert!(!listed(&page).contains(&elsewhere));
    let (status, page) = t
        .get(Some(&outsider), "/api/v1/desk/tickets?view=team")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(listed(&page).is_empty(), "no team, nothing: {page}");
    let (status, _) = t.get(Some(&owner), "/api/v1/desk/tickets?view=team").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.get(None, "/api/v1/desk/tickets?view=team").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in [
        "view=teams",
        "view=team&limit=0",
        "view=team&cursor=not-a-cursor",
    ] {
        let (status, _) = t
            .get(Some(&member), &format!("/api/v1/desk/tickets?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}
both!(the_team_view_shows_the_tickets_of_my_teams);

async fn files_on_a_reply_to_a_closed_ticket_go_to_the_follow_up(t: TestApp) {
    use crate::desk_attachments::upload;
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let stranger = t.signed_up("stranger@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let closed = open(&t, &owner, "Locked out").await;
    patch(&t, &agent, &closed, json!({ "status": "solved" })).await;
    patch(&t, &agent, &closed, json!({ "status": "closed" })).await;
    let mut mine = Vec::new();
    for i in 0..11 {
        let (status, up) = upload(
            &t,
            Some(&owner),
            &format!("log{i}.txt"),
            format!("error {i}").into_bytes(),
            "attachment",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{up}");
        mine.push(up["token"].clone());
    }
    let (status, theirs) = upload(&t, Some(&stranger), "x.txt", b"x".to_vec(), "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let path = format!("/api/v1/desk/tickets/{closed}/messages");
    let tickets = t.count("desk_tickets").await;

    // Someone else's upload, too many files, or no such token: no follow-up.
    for (files, field) in [
        (json!([mine[0], theirs["token"]]), "attachments[1]"),
        (json!(mine), "attachments"),
        (json!(["not-a-token"]), "attachments[0]"),
    ] {
        let (status, problem) = t
            .post_as(
                &owner,
                &path,
                json!({ "body": "again", "attachments": files }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_eq!(t.count("desk_tickets").await, tickets, "nothing opened");
        assert_eq!(t.count("desk_attachments").await, 0);
    }

    let (status, added) = t
        .post_as(
            &owner,
            &path,
            json!({ "body": "Still locked, logs attached", "attachments": [mine[0], mine[1]] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let follow_up: String = added["follow_up"]
        .as_str()
        .expect("follow-up")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let opened = ticket(&t, &owner, &follow_up).await;
    let first = opened["messages"][0]["id"].as_i64().expect("message");
    let files = opened["attachments"].as_array().expect("attachments");
    assert_eq!(files.len(), 2, "{opened}");
    for file in files {
        assert_eq!(file["message_id"].as_i64(), Some(first), "{opened}");
    }
    let old = ticket(&t, &owner, &closed).await;
    assert_eq!(
        old["attachments"].as_array().map(Vec::len),
        Some(0),
        "{old}"
    );
    // A token is used once.
    let (status, _) = t
        .post_as(
            &owner,
            &path,
            json!({ "body": "once more", "attachments": [mine[0]] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(files_on_a_reply_to_a_closed_ticket_go_to_the_follow_up);
