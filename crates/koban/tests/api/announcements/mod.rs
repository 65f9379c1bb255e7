//! Announcements through the API, on both databases: writing, publishing,
//! withdrawing with every change logged, what readers get by language and
//! region, every refused input changing nothing, who may call what, and
//! security notices pushed to the accounts' reminders. Pages in `pages.rs`.

mod pages;
mod push;

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub(crate) const PASSWORD: &str = "plum blossom 2026";

pub(crate) fn now() -> i64 {
    koban::store::now_ms()
}

/// A maintenance announcement in Thai and Japanese, for everywhere.
pub(crate) fn maintenance() -> Value {
    json!({
        "kind": "maintenance",
        "texts": {
            "th": { "title": "ปิดปรับปรุงระบบคืนนี้", "body": "ระบบจะปิด **02:00–04:00**" },
            "ja": { "title": "今夜メンテナンスを行います", "body": "2:00〜4:00 は利用できません。" }
        },
        "starts_at": now() - 60_000,
        "ends_at": now() + 3_600_000
    })
}

/// Creates and publishes `body` as `token`; returns its id.
pub(crate) async fn published(t: &TestApp, token: &str, body: Value) -> i64 {
    let (status, created) = t.post_as(token, "/api/v1/announcements", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, done) = t
        .post_as(
            token,
            &format!("/api/v1/announcements/{id}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    id
}

async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    t.send(t.http.put(t.url(path)).bearer_auth(token).json(&body))
        .await
}

async fn a_supervisor_writes_publishes_and_withdraws_with_every_change_logged(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let (status, draft) = t
        .post_as(&sup, "/api/v1/announcements", maintenance())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    let id = draft["id"].as_i64().unwrap();
    // A draft is nobody's business yet.
    let (_, current) = t.get(None, "/api/v1/announcements?lang=th").await;
    assert_eq!(current, json!([]));

    let (status, _) = t
        .post_as(
            &sup,
            &format!("/api/v1/announcements/{id}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, current) = t.get(None, "/api/v1/announcements?lang=th").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current[0]["title"], "ปิดปรับปรุงระบบคืนนี้", "{current}");
    assert_eq!(current[0]["lang"], "th");
    assert!(current[0]["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>"));
    // Japanese readers read theirs; a Chinese reader gets no English, so another.
    let (_, ja) = t.get(None, "/api/v1/announcements?lang=ja").await;
    assert_eq!(ja[0]["lang"], "ja");
    let (_, zh) = t.get(None, "/api/v1/announcements?lang=zh-CN").await;
    assert_eq!(zh.as_array().unwrap().len(), 1);

    // Edit with the version read; an edit over a newer one is refused.
    let mut edit = maintenance();
    edit["texts"]["en"] = json!({ "title": "Maintenance tonight", "body": "" });
    edit["version"] = json!(2);
    let (status, edited) = put(
        &t,
        &sup,
        &format!("/api/v1/announcements/{id}"),
        edit.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["status"], "published", "an edit keeps it published");
    let (status, stale) = put(&t, &sup, &format!("/api/v1/announcements/{id}"), edit).await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (_, zh) = t.get(None, "/api/v1/announcements?lang=zh-CN").await;
    assert_eq!(zh[0]["lang"], "en", "English before any other");

    let (status, _) = t
        .post_as(
            &sup,
            &format!("/api/v1/announcements/{id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, current) = t.get(None, "/api/v1/announcements").await;
    assert_eq!(current, json!([]));
    // Withdrawn is final.
    for path in ["withdraw", "publish"] {
        let (status, body) = t
            .post_as(
                &sup,
                &format!("/api/v1/announcements/{id}/{path}"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path} {body}");
    }
    let (status, body) = put(
        &t,
        &sup,
        &format!("/api/v1/announcements/{id}"),
        maintenance(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, detail) = t
        .get(Some(&sup), &format!("/api/v1/announcements/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = detail["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "published", "edited", "withdrawn"]);
    assert!(detail["changes"][0]["actor_id"].as_i64().is_some());
    let (_, all) = t.get(Some(&sup), "/api/v1/announcements/all").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
}
both!(a_supervisor_writes_publishes_and_withdraws_with_every_change_logged);

async fn readers_see_what_is_current_for_their_region(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let mut thai = maintenance();
    thai["regions"] = json!(["th"]);
    published(&t, &admin, thai).await;
    let mut later = maintenance();
    later["starts_at"] = json!(now() + 3_600_000);
    later["ends_at"] = json!(now() + 7_200_000);
    published(&t, &admin, later).await;
    let mut ended = maintenance();
    ended["starts_at"] = json!(now() - 7_200_000);
    ended["ends_at"] = json!(now() - 3_600_000);
    published(&t, &admin, ended).await;
    let mut everywhere = maintenance();
    everywhere["kind"] = json!("service_status");
    published(&t, &admin, everywhere).await;

    let kinds = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, th) = t.get(None, "/api/v1/announcements?region=TH&lang=th").await;
    assert_eq!(kinds(&th).len(), 2, "{th}");
    let (_, jp) = t.get(None, "/api/v1/announcements?region=jp").await;
    assert_eq!(kinds(&jp), ["service_status"], "{jp}");
    let (_, nowhere) = t.get(None, "/api/v1/announcements").await;
    assert_eq!(
        kinds(&nowhere),
        ["service_status"],
        "no region: only for everywhere"
    );
    for bad in [
        "?lang=fr",
        "?lang=",
        "?region=XX",
        "?region=THA",
        "?region=",
    ] {
        let (status, body) = t.get(None, &format!("/api/v1/announcements{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} {body}");
    }
}
both!(readers_see_what_is_current_for_their_region);

async fn bad_input_is_refused_and_changes_nothing(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let id = published(&t, &sup, maintenance()).await;
    let with = |change: fn(&mut Value)| {
        let mut body = maintenance();
        change(&mut body);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "end before start",
            with(|b| b["ends_at"] = json!(now() - 3_600_000)),
            "ends_at",
        ),
        (
            "end at start",
            with(|b| b["ends_at"] = b["starts_at"].clone()),
            "ends_at",
        ),
        (
            "unknown kind",
            with(|b| b["kind"] = json!("outage")),
            "kind",
        ),
        (
            "unknown language",
            with(|b| b["texts"]["fr"] = json!({ "title": "Maintenance", "body": "" })),
            "texts.fr",
        ),
        ("no language", with(|b| b["texts"] = json!({})), "texts"),
        (
            "bad region",
            with(|b| b["regions"] = json!(["ZZ"])),
            "regions",
        ),
        (
            "region of three",
            with(|b| b["regions"] = json!(["THA"])),
            "regions",
        ),
        (
            "empty title",
            with(|b| b["texts"]["th"]["title"] = json!("   ")),
            "texts.th.title",
        ),
        (
            "long title",
            with(|b| b["texts"]["th"]["title"] = json!("ก".repeat(201))),
            "texts.th.title",
        ),
        (
            "long body",
            with(|b| b["texts"]["ja"]["body"] = json!("あ".repeat(20_001))),
            "texts.ja.body",
        ),
        (
            "too many regions",
            with(|b| b["regions"] = json!(vec!["JP"; 61])),
            "regions",
        ),
    ];
    let before = t.count("announcement_changes").await;
    for (what, body, field) in cases {
        let (status, problem) = t.post_as(&sup, "/api/v1/announcements", body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {problem}"
        );
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{what}: {problem}"
        );
        let (status, problem) = put(&t, &sup, &format!("/api/v1/announcements/{id}"), body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {problem}"
        );
    }
    // Not JSON of the shape: refused too.
    for body in [
        json!({ "kind": "maintenance" }),
        json!({ "texts": [], "kind": 1 }),
        json!({ "starts_at": "tomorrow" }),
    ] {
        let (status, _) = t.post_as(&sup, "/api/v1/announcements", body).await;
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!(t.count("announcements").await, 1);
    assert_eq!(t.count("announcement_changes").await, before);
    let (_, current) = t.get(None, "/api/v1/announcements?lang=th").await;
    assert_eq!(current[0]["title"], "ปิดปรับปรุงระบบคืนนี้");

    for path in ["/api/v1/announcements/999999", "/api/v1/announcements/abc"] {
        let (status, _) = t.get(Some(&sup), path).await;
        assert!(
            matches!(
                status,
                StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{path} {status}"
        );
    }
    for step in ["publish", "withdraw", "push"] {
        let (status, _) = t
            .post_as(
                &sup,
                &format!("/api/v1/announcements/999999/{step}"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{step}");
    }
    let (status, _) = put(&t, &sup, "/api/v1/announcements/999999", maintenance()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A maintenance announcement is not pushed to anyone's security reminders.
    let (status, _) = t
        .post_as(&sup, &format!("/api/v1/announcements/{id}/push"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}
both!(bad_input_is_refused_and_changes_nothing);

/// Every route × signed out, an ordinary user, an agent, a supervisor and
/// an admin: reading the current ones is public; the rest is for
/// supervisors and admins (signed out 401, the others 403), as at the desk.
async fn the_permission_matrix(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let id = published(&t, &sup, maintenance()).await;
    let user = t.signed_up("user@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let admin = t.staff("admin@example.com", "admin").await;
    let callers: [(&str, Option<&str>); 5] = [
        ("signed out", None),
        ("user", Some(&user)),
        ("agent", Some(&agent)),
        ("supervisor", Some(&sup)),
        ("admin", Some(&admin)),
    ];
    let routes: Vec<(&str, String, bool)> = vec![
        ("GET", "/api/v1/announcements".into(), true),
        ("POST", "/api/v1/announcements".into(), false),
        ("GET", "/api/v1/announcements/all".into(), false),
        ("GET", format!("/api/v1/announcements/{id}"), false),
        ("PUT", format!("/api/v1/announcements/{id}"), false),
        ("POST", format!("/api/v1/announcements/{id}/publish"), false),
        (
            "POST",
            format!("/api/v1/announcements/{id}/withdraw"),
            false,
        ),
        ("POST", format!("/api/v1/announcements/{id}/push"), false),
    ];
    for (method, path, public) in &routes {
        for (who, token) in callers {
            let mut request = t
                .http
                .request(method.parse().unwrap(), t.url(path))
                .json(&maintenance());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let (status, body) = t.send(request).await;
            let editor = matches!(who, "supervisor" | "admin");
            if *public || editor {
                // Allowed: whatever the operation answers, not a refusal of the caller.
                assert!(
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{method} {path} as {who}: {status} {body}"
                );
            } else if token.is_none() {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} as {who}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} as {who}: {body}"
                );
            }
        }
    }
}
both!(the_permission_matrix);
