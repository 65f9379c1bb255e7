//! The library's change log: `GET /api/v1/desk/library/changes` (paging,
//! filters, who may read it) and the recent changes on the library page.

use crate::security_pages::Pages;
use crate::support::TestApp;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CHANGES: &str = "/api/v1/desk/library/changes";

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["action"].as_str().unwrap_or_default(),
                c["item_kind"].as_str().unwrap_or_default(),
                c["item_name"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Three changes by the admin: a canned response added then renamed, a macro added.
async fn three_changes(t: &TestApp, admin: &str) -> (i64, i64) {
    let (status, created) = t
        .post_as(
            admin,
            "/api/v1/desk/canned-responses",
            json!({ "name": "greeting", "bodies": { "en": "Hello" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let canned = created["id"].as_i64().expect("id");
    let path = format!("/api/v1/desk/canned-responses/{canned}");
    let (status, body) = t
        .send(
            t.http
                .put(t.url(&path))
                .bearer_auth(admin)
                .json(&json!({ "name": "welcome", "bodies": { "en": "Welcome" } })),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, created) = t
        .post_as(
            admin,
            "/api/v1/desk/macros",
            json!({ "name": "park", "status": "pending" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (canned, created["id"].as_i64().expect("id"))
}

async fn supervisors_read_the_change_log_newest_first(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let supervisor = t.staff("lead@example.com", "supervisor").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let (canned, _) = three_changes(&t, &admin).await;

    let (status, page) = t.get(Some(&supervisor), CHANGES).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        actions(&page),
        [
            "created macro park",
            "updated canned welcome",
            "created canned greeting"
        ]
    );
    assert_eq!(page["items"][0]["actor"], "admin@example.com");
    assert!(page["next_cursor"].is_null());

    // One at a time, following the cursor.
    let (status, first) = t.get(Some(&admin), &format!("{CHANGES}?limit=1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(actions(&first), ["created macro park"]);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let (status, second) = t
        .get(Some(&admin), &format!("{CHANGES}?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(actions(&second), ["updated canned welcome"]);

    // Filters.
    let (_, macros) = t
        .get(Some(&supervisor), &format!("{CHANGES}?kind=macro"))
        .await;
    assert_eq!(actions(&macros), ["created macro park"]);
    let (_, item) = t
        .get(
            Some(&supervisor),
            &format!("{CHANGES}?kind=canned&item_id={canned}"),
        )
        .await;
    assert_eq!(
        actions(&item),
        ["updated canned welcome", "created canned greeting"]
    );

    // Who may not, and bad input.
    let (status, _) = t.get(None, CHANGES).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.get(Some(&agent), CHANGES).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        "cursor=not-a-cursor",
        "limit=0",
        "limit=101",
        "kind=template",
        "item_id=0",
        "item_id=x",
        "colour=red",
    ] {
        let (status, problem) = t.get(Some(&supervisor), &format!("{CHANGES}?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
}
both!(supervisors_read_the_change_log_newest_first);

async fn the_library_page_shows_recent_changes_in_my_zone_and_language(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    t.staff("lead@example.com", "supervisor").await;
    t.staff("agent@example.com", "agent").await;
    three_changes(&t, &admin).await;
    // 2026-01-01 00:00 UTC is 09:00 in Tokyo.
    t.exec("UPDATE desk_library_changes SET at = 1767225600000")
        .await;

    let mut lead = Pages::new(&t).await;
    let response = lead.sign_in("lead@example.com", "staff password 1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = lead
        .http
        .get(format!("{}/desk/canned", lead.base))
        .header(
            COOKIE,
            format!("{}; koban_tz=Asia/Tokyo", lead.cookie_header()),
        )
        .header(ACCEPT_LANGUAGE, "ja")
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("id=\"library-changes\""), "{html}");
    assert!(html.contains("最近の変更"), "in Japanese: {html}");
    assert!(html.contains("2026-01-01 09:00"), "in Tokyo time: {html}");
    assert!(html.contains("admin@example.com"), "who: {html}");
    assert_eq!(html.matches("class=\"library-change\"").count(), 3);

    // Agents use the library but do not see who changed it.
    let mut agent = Pages::new(&t).await;
    agent.sign_in("agent@example.com", "staff password 1").await;
    let html = agent.get("/desk/canned").await.text().await.expect("html");
    assert!(!html.contains("id=\"library-changes\""), "{html}");
}
both!(the_library_page_shows_recent_changes_in_my_zone_and_language);
