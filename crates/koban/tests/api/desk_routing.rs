//! Desk routing through HTTP: teams, calendars and members administered by
//! a desk admin, new tickets routed by category, language and tier, and
//! assigned by open load under each agent's cap; bad admin input refused
//! with nothing changed; who may administer.

use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TEAMS: &str = "/api/v1/desk/admin/teams";
const CALENDARS: &str = "/api/v1/desk/admin/calendars";
const POLICIES: &str = "/api/v1/desk/admin/sla-policies";

fn digits(reference: &Value) -> String {
    reference
        .as_str()
        .expect("reference")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

pub async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    t.send(t.http.put(t.url(path)).bearer_auth(token).json(&body))
        .await
}

/// Opens a ticket signed out, in `language`; its reference digits.
pub async fn open(t: &TestApp, email: &str, language: &str, subject: &str, body: &str) -> String {
    let (status, opened) = t
        .send(
            t.http
                .post(t.url("/api/v1/desk/tickets"))
                .header("accept-language", language)
                .json(&json!({ "subject": subject, "body": body, "email": email })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    digits(&opened["reference"])
}

async fn account_id(t: &TestApp, email: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT id FROM accounts WHERE email = '{email}'"),
    )
    .await
}

fn team(slug: &str, categories: &[&str], languages: &[&str], calendar: i64) -> Value {
    json!({ "slug": slug, "name": slug, "categories": categories, "languages": languages,
            "calendar_id": calendar })
}

async fn tickets_are_routed_by_category_language_and_tier(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let agent = t.staff("ann@example.com", "agent").await;
    for body in [
        team(
            "ja-sign-in",
            &["cannot_sign_in", "forgot_password"],
            &["ja"],
            1,
        ),
        team(
            "en-sign-in",
            &["cannot_sign_in", "forgot_password"],
            &["en"],
            1,
        ),
        json!({ "slug": "enterprise", "name": "Enterprise line", "calendar_id": 1, "enterprise_queue": true }),
    ] {
        let (status, made) = t.post_as(&admin, TEAMS, body).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
    }
    let cases = [
        (
            "ja",
            "新しいスマホでログインできない",
            "機種変更したらログインできなくなりました。",
            "ja-sign-in",
        ),
        (
            "en",
            "I cannot sign in",
            "I can't log in on my new phone, it says my account is locked.",
            "en-sign-in",
        ),
        // No team lists privacy: the default team takes it.
        (
            "en",
            "Delete my data",
            "Please delete all my personal data under GDPR privacy law.",
            "general",
        ),
    ];
    for (i, (language, subject, body, expected)) in cases.into_iter().enumerate() {
        let reference = open(&t, &format!("r{i}@example.com"), language, subject, body).await;
        let (_, ticket) = t
            .get(Some(&agent), &format!("/api/v1/desk/tickets/{reference}"))
            .await;
        assert_eq!(ticket["team"], expected, "{language} {subject}: {ticket}");
        let routed: Vec<&Value> = ticket["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "routed")
            .collect();
        assert_eq!(routed.len(), 1, "{ticket}");
        assert!(routed[0]["detail"]["reason"]["decided_by"].is_string());
    }
    // An enterprise-tier ticket (the enterprise domain sets the tier) goes
    // to the enterprise queue whatever its category.
    let reference = open(
        &t,
        "corp@example.com",
        "en",
        "Broadcast failed",
        "Our broadcast failed",
    )
    .await;
    t.exec(&format!(
        "UPDATE desk_tickets SET tier = 'enterprise' WHERE reference = '{reference}'"
    ))
    .await;
    let id = scalar(
        &t,
        &format!("SELECT id FROM desk_tickets WHERE reference = '{reference}'"),
    )
    .await;
    let mut tx = t.app.store.write().begin().await.expect("tx");
    let row = koban::desk::store::ticket_by_id(&mut *tx, id)
        .await
        .expect("read")
        .expect("ticket");
    koban::desk::routing::route_new(&mut tx, &row, koban::store::now_ms())
        .await
        .expect("route");
    tx.commit().await.expect("commit");
    let (_, ticket) = t
        .get(Some(&agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(ticket["team"], "enterprise", "{ticket}");
    // The queue filters by team.
    let (status, queue) = t
        .get(Some(&agent), "/api/v1/desk/tickets?team=ja-sign-in")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert_eq!(queue["items"].as_array().map(Vec::len), Some(1), "{queue}");
    let (status, _) = t
        .get(Some(&agent), "/api/v1/desk/tickets?team=nobody")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(tickets_are_routed_by_category_language_and_tier);

async fn assignment_follows_open_load_under_each_cap(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let ann = t.staff("ann@example.com", "agent").await;
    let bob = t.staff("bob@example.com", "agent").await;
    let (status, made) = t
        .post_as(
            &admin,
            TEAMS,
            team("passwords", &["forgot_password"], &["zh-CN"], 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let ann_id = account_id(&t, "ann@example.com").await;
    let bob_id = account_id(&t, "bob@example.com").await;
    for (id, cap) in [(ann_id, 2), (bob_id, 1)] {
        let (status, body) = put(
            &t,
            &admin,
            &format!("{TEAMS}/passwords/members/{id}"),
            json!({ "cap": cap }),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let mut references = Vec::new();
    for i in 0..4 {
        let reference = open(
            &t,
            &format!("p{i}@example.com"),
            "zh-CN",
            "忘记密码",
            "我忘记密码了，怎么重置？",
        )
        .await;
        references.push(reference);
    }
    let mut assignees = Vec::new();
    for reference in &references {
        let (_, ticket) = t
            .get(Some(&ann), &format!("/api/v1/desk/tickets/{reference}"))
            .await;
        assert_eq!(ticket["category"], "forgot_password", "{ticket}");
        assert_eq!(ticket["team"], "passwords", "{ticket}");
        assignees.push(ticket["assignee_id"].as_i64());
    }
    // Equal loads: the lower id; then the lighter ratio (bob 0/1 < ann 1/2);
    // then ann (bob is full); then nobody: both are at their caps.
    assert_eq!(
        assignees,
        vec![Some(ann_id), Some(bob_id), Some(ann_id), None],
        "ann {ann_id} bob {bob_id}"
    );
    let (_, mine) = t.get(Some(&bob), "/api/v1/desk/tickets?view=mine").await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (_, teams) = t.get(Some(&admin), TEAMS).await;
    let passwords = teams
        .as_array()
        .and_then(|a| a.iter().find(|t| t["slug"] == "passwords"))
        .expect("team listed");
    assert_eq!(passwords["members"][0]["open_tickets"], 2, "{passwords}");
    // A manual move to another team is a compare-and-set with its event.
    let path = format!("/api/v1/desk/tickets/{}", references[3]);
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&path))
                .bearer_auth(&ann)
                .json(&json!({ "team": "general", "claim": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(&ann), &path).await;
    assert_eq!(ticket["team"], "general");
    assert_eq!(ticket["assignee_id"], ann_id);
    let (status, _) = t
        .send(
            t.http
                .patch(t.url(&path))
                .bearer_auth(&ann)
                .json(&json!({ "team": "nowhere" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(assignment_follows_open_load_under_each_cap);

async fn bad_admin_input_is_refused_and_changes_nothing(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let before = (
        t.count("desk_calendars").await,
        t.count("desk_teams").await,
        t.count("desk_sla_policies").await,
        t.count("desk_admin_changes").await,
    );
    for spec in [
        json!({ "zone": "Mars/Olympus", "week": { "mon": ["09:00-18:00"] } }),
        json!({ "zone": "Asia/Tokyo", "week": { "mon": ["09:00-12:00", "11:00-13:00"] } }),
        json!({ "zone": "Asia/Tokyo", "week": { "mon": ["25:00-26:00"] } }),
        json!({ "zone": "Asia/Tokyo", "week": { "funday": ["09:00-18:00"] } }),
        json!({ "zone": "Asia/Tokyo", "week": { "sun": ["22:00-06:00"], "mon": ["05:00-09:00"] } }),
    ] {
        let (status, problem) = t
            .post_as(&admin, CALENDARS, json!({ "name": "office", "spec": spec }))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{spec}: {problem}"
        );
    }
    let (_, problem) = t
        .post_as(
            &admin,
            CALENDARS,
            json!({ "name": "x", "spec": { "zone": "Mars/Olympus" } }),
        )
        .await;
    assert_eq!(
        problem["errors"][0]["code"], "unknown_time_zone",
        "{problem}"
    );
    for policies in [
        json!([{ "priority": "normal", "first_response": -5 }]),
        json!([{ "priority": "normal", "first_response": 0 }]),
        json!([{ "priority": "normal", "warn_percent": 150 }]),
        json!([{ "priority": "asap", "first_response": 60 }]),
        json!([{ "priority": "normal", "on_breach": ["fire_everyone"] }]),
        json!([{ "priority": "high", "first_response": 60 }, { "priority": "high", "first_response": 30 }]),
    ] {
        let (status, problem) = put(&t, &admin, POLICIES, json!({ "policies": policies })).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{policies}: {problem}"
        );
    }
    for body in [
        team("Bad Slug", &[], &[], 1),
        team("lost", &["lost_cat"], &[], 1),
        team("nocal", &[], &[], 999),
        json!({ "slug": "x", "name": "" , "calendar_id": 1 }),
    ] {
        let (status, problem) = t.post_as(&admin, TEAMS, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
    }
    let (status, _) = put(
        &t,
        &admin,
        &format!("{TEAMS}/nobody/members/1"),
        json!({ "cap": 3 }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(
        &t,
        &admin,
        &format!("{TEAMS}/general/members/1"),
        json!({ "cap": -1 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t.post_as(&admin, TEAMS, team("general", &[], &[], 1)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let after = (
        t.count("desk_calendars").await,
        t.count("desk_teams").await,
        t.count("desk_sla_policies").await,
        t.count("desk_admin_changes").await,
    );
    assert_eq!(before, after);
    // A good change is logged with who made it.
    let (status, made) = t
        .post_as(
            &admin,
            CALENDARS,
            json!({ "name": "night", "spec": { "zone": "Asia/Bangkok", "week": { "fri": ["22:00-06:00"] }, "holidays": ["2026-04-13"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let admin_id = account_id(&t, "admin@example.com").await;
    assert_eq!(
        t.count(&format!(
            "desk_admin_changes WHERE actor_account_id = {admin_id} AND entity = 'calendar'"
        ))
        .await,
        1
    );
}
both!(bad_admin_input_is_refused_and_changes_nothing);

async fn only_desk_admins_change_the_administration(t: TestApp) {
    let user = t
        .signed_up("user@example.com", "correct horse battery")
        .await;
    let agent = t.staff("ann@example.com", "agent").await;
    let supervisor = t.staff("sue@example.com", "supervisor").await;
    let admin = t.staff("admin@example.com", "admin").await;
    let body = team("new-team", &[], &[], 1);
    for token in [&user, &agent, &supervisor] {
        let (status, _) = t.post_as(token, TEAMS, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = put(&t, token, POLICIES, json!({ "policies": [] })).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    for token in [&user, &agent] {
        let (status, _) = t.get(Some(token), TEAMS).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = t.get(None, TEAMS).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for path in [TEAMS, CALENDARS, POLICIES] {
        let (status, body) = t.get(Some(&supervisor), path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (_, policies) = t.get(Some(&admin), POLICIES).await;
    assert_eq!(
        policies["policies"].as_array().map(Vec::len),
        Some(4),
        "{policies}"
    );
    let (status, _) = t.post_as(&admin, TEAMS, body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(t.count("desk_teams").await, 2);
    let (status, _) = t.delete(&admin, &format!("{TEAMS}/general")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the default team stays");
    let (status, _) = t.delete(&admin, &format!("{TEAMS}/new-team")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
both!(only_desk_admins_change_the_administration);

async fn tickets_opened_at_once_never_overfill_an_agent(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    t.staff("solo@example.com", "agent").await;
    let (status, made) = t
        .post_as(
            &admin,
            TEAMS,
            team("passwords", &["forgot_password"], &[], 1),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let solo = account_id(&t, "solo@example.com").await;
    let (status, _) = put(
        &t,
        &admin,
        &format!("{TEAMS}/passwords/members/{solo}"),
        json!({ "cap": 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (a, b, c) = tokio::join!(
        open(
            &t,
            "c1@example.com",
            "zh-CN",
            "忘记密码",
            "我忘记密码了，怎么重置？"
        ),
        open(
            &t,
            "c2@example.com",
            "zh-CN",
            "忘记密码",
            "我忘记密码了，怎么重置？"
        ),
        open(
            &t,
            "c3@example.com",
            "zh-CN",
            "忘记密码",
            "我忘记密码了，怎么重置？"
        )
    );
    let _ = (a, b, c);
    // Loads are read under the team's lock: one ticket, never two.
    assert_eq!(
        t.count(&format!("desk_tickets WHERE assignee_id = {solo}"))
            .await,
        1
    );
    assert_eq!(t.count("desk_tickets WHERE team = 'passwords'").await, 3);
}
both!(tickets_opened_at_once_never_overfill_an_agent);
