//! The editors' API and what readers get of it.

use super::{article, category, get_in, patch_as, put_as, PASSWORD};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn editors_write_and_readers_read_their_language_or_another(t: TestApp) {
    let editor = t.staff("editor@example.com", "supervisor").await;
    let agent = t.staff("agent@example.com", "agent").await;
    let cat = category(&t, &editor, "Sign-in").await;
    let ja = article(
        &t,
        &editor,
        cat,
        "ja",
        "パスワードを忘れた場合",
        "**再設定**の手順です。",
        true,
    )
    .await;
    let draft = article(&t, &editor, cat, "en", "Secret plans", "Not yet.", false).await;

    // Readers: the Japanese article in Japanese, and in Japanese with a
    // note for a Traditional Chinese reader; the draft nowhere.
    let (status, body) = t
        .get(None, &format!("/api/v1/help/articles/{ja}?lang=ja"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["fallback"], false);
    assert!(
        body["html"]
            .as_str()
            .unwrap()
            .contains("<strong>再設定</strong>"),
        "{body}"
    );
    assert_eq!(body["url"], format!("/help/articles/{ja}"));
    let (_, body) = get_in(&t, "zh-TW", &format!("/api/v1/help/articles/{ja}")).await;
    assert_eq!(
        (body["lang"].as_str(), body["fallback"].as_bool()),
        (Some("ja"), Some(true)),
        "{body}"
    );
    for token in [None, Some(agent.as_str()), Some(editor.as_str())] {
        let (status, _) = t
            .get(token, &format!("/api/v1/help/articles/{draft}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a draft is no reader's");
    }
    let (_, list) = t.get(None, "/api/v1/help/articles?lang=en").await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [ja], "{list}");

    // An English version: the Chinese reader now gets English first.
    let (status, body) = put_as(
        &t,
        &editor,
        &format!("/api/v1/help/articles/{ja}/versions/en"),
        json!({ "title": "Forgot your password", "body": "Reset it.", "publish": true }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, body) = get_in(&t, "zh-TW", &format!("/api/v1/help/articles/{ja}")).await;
    assert_eq!(
        (body["lang"].as_str(), body["fallback"].as_bool()),
        (Some("en"), Some(true))
    );
    assert_eq!(
        body["url"],
        format!("/help/articles/{ja}/forgot-your-password")
    );

    // A saved draft of a published version leaves readers the published text.
    let path = format!("/api/v1/help/articles/{ja}/versions/ja");
    let (status, _) = put_as(
        &t,
        &editor,
        &path,
        json!({ "title": "パスワード（改訂中）", "body": "書きかけ" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = t
        .get(None, &format!("/api/v1/help/articles/{ja}?lang=ja"))
        .await;
    assert_eq!(body["title"], "パスワードを忘れた場合");
    let (status, detail) = t
        .get(
            Some(&agent),
            &format!("/api/v1/help/articles/{ja}/versions"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let version = detail["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["lang"] == "ja")
        .unwrap()
        .clone();
    assert_eq!(version["status"], "published");
    assert_eq!(version["unpublished_changes"], true);
    assert_eq!(version["title"], "パスワード（改訂中）");
    assert_eq!(version["author"], "editor@example.com");

    // Every save is a revision, newest first, with who; one restores as a draft.
    let (status, revisions) = t.get(Some(&agent), &format!("{path}/revisions")).await;
    assert_eq!(status, StatusCode::OK, "{revisions}");
    let revisions = revisions["items"].clone();
    let actions: Vec<&str> = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["saved", "published", "created"]);
    assert!(revisions
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["actor"] == "editor@example.com"));
    let first = revisions[2]["id"].as_i64().unwrap();
    let (status, one) = t
        .get(Some(&agent), &format!("{path}/revisions/{first}"))
        .await;
    assert_eq!(
        (status, one["title"].as_str()),
        (StatusCode::OK, Some("パスワードを忘れた場合"))
    );
    let (status, _) = t
        .post_as(
            &agent,
            &format!("{path}/revisions/{first}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "agents read, they do not restore"
    );
    let (status, _) = t
        .post_as(
            &editor,
            &format!("{path}/revisions/{first}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, revisions) = t.get(Some(&agent), &format!("{path}/revisions")).await;
    let revisions = &revisions["items"];
    assert_eq!(revisions[0]["action"], "restored");
    assert_eq!(revisions[0]["restored_from"], first);
    assert_eq!(revisions[0]["title"], "パスワードを忘れた場合");

    // Unpublishing: the Japanese reader falls back to English, then to nothing.
    let (status, _) = t
        .post_as(&editor, &format!("{path}/unpublish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = t
        .get(None, &format!("/api/v1/help/articles/{ja}?lang=ja"))
        .await;
    assert_eq!(
        (body["lang"].as_str(), body["fallback"].as_bool()),
        (Some("en"), Some(true))
    );
    let (status, _) = t
        .post_as(
            &editor,
            &format!("/api/v1/help/articles/{ja}/versions/en/unpublish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.get(None, &format!("/api/v1/help/articles/{ja}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post_as(&editor, &format!("{path}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = t
        .get(None, &format!("/api/v1/help/articles/{ja}?lang=ja"))
        .await;
    assert_eq!(
        body["title"], "パスワードを忘れた場合",
        "the restored draft is what was published"
    );

    // Moving, renaming, a category that still holds articles, deleting.
    let other = category(&t, &editor, "Devices").await;
    let (status, _) = patch_as(
        &t,
        &editor,
        &format!("/api/v1/help/articles/{ja}"),
        json!({ "category_id": other }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = patch_as(
        &t,
        &editor,
        &format!("/api/v1/help/categories/{other}"),
        json!({ "names": { "zh-TW": "裝置" }, "position": -1 }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, cats) = get_in(&t, "zh-TW", "/api/v1/help/categories").await;
    assert_eq!(cats["items"][0]["name"], "裝置", "{cats}");
    let (status, problem) = t
        .delete(&editor, &format!("/api/v1/help/categories/{other}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/help-category-not-empty");
    let (status, _) = t
        .delete(&editor, &format!("/api/v1/help/articles/{ja}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/api/v1/help/articles/{ja}"),
        format!("/api/v1/help/articles/{ja}/versions"),
    ] {
        let (status, _) = t.get(Some(&editor), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = t
        .delete(&editor, &format!("/api/v1/help/categories/{other}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, cats) = t.get(None, "/api/v1/help/categories").await;
    assert_eq!(cats["items"].as_array().unwrap().len(), 1, "{cats}");
    // Every change besides text is recorded with who made it.
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM help_changes WHERE action = 'deleted'"
        )
        .await,
        2
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM help_changes WHERE action = 'moved'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(&t, "SELECT COUNT(DISTINCT actor_id) FROM help_changes").await,
        1
    );
}
both!(editors_write_and_readers_read_their_language_or_another);

async fn one_vote_per_reader_changeable_counted_for_editors(t: TestApp) {
    let editor = t.staff("editor@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Account").await;
    let id = article(
        &t,
        &editor,
        cat,
        "en",
        "Two-step verification",
        "Turn it on.",
        true,
    )
    .await;
    let draft = article(&t, &editor, cat, "en", "Draft", "Not yet.", false).await;
    let reader = t.signed_up("reader@example.com", PASSWORD).await;
    let vote = format!("/api/v1/help/articles/{id}/vote");
    let (status, _) = t.post_as(&reader, &vote, json!({ "helpful": true })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.post_as(&reader, &vote, json!({ "helpful": false })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "a vote can be changed");

    // Signed out: the first vote hands out the visitor cookie; the same
    // cookie changes its vote, another browser counts apart.
    let response = t
        .http
        .post(t.url(&vote))
        .json(&json!({ "helpful": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let visitor = cookie.split(';').next().unwrap().to_string();
    assert!(visitor.starts_with("koban_help_visitor="), "{cookie}");
    for helpful in [false, true] {
        let (status, _) = t
            .send(
                t.http
                    .post(t.url(&vote))
                    .header("cookie", &visitor)
                    .json(&json!({ "helpful": helpful })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = t
        .send(
            t.http
                .post(t.url(&vote))
                .header("cookie", "koban_help_visitor=another-browser-0123456789")
                .json(&json!({ "helpful": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, detail) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions"),
        )
        .await;
    assert_eq!(detail["stats"]["helpful_yes"], 2, "{detail}");
    assert_eq!(detail["stats"]["helpful_no"], 1, "{detail}");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_votes").await, 3);

    // Nobody votes on a draft, an unknown article, or with a wrong body.
    let (status, _) = t
        .post(
            &format!("/api/v1/help/articles/{draft}/vote"),
            json!({ "helpful": true }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post(
            "/api/v1/help/articles/999999/vote",
            json!({ "helpful": true }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = t.post(&vote, json!({ "helpful": "yes" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = t.post(&vote, json!({})).await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("required"))
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_votes").await, 3);

    // Views are counted for editors too.
    for _ in 0..3 {
        t.get(None, &format!("/api/v1/help/articles/{id}")).await;
    }
    let (_, detail) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions"),
        )
        .await;
    assert_eq!(detail["stats"]["views"], 3, "{detail}");
}
both!(one_vote_per_reader_changeable_counted_for_editors);

async fn suggestions_match_latin_cjk_and_thai_and_never_drafts(t: TestApp) {
    let editor = t.staff("editor@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Codes").await;
    let en = article(
        &t,
        &editor,
        cat,
        "en",
        "Verification code never arrived",
        "Check your spam folder and SMS filters.",
        true,
    )
    .await;
    let zh = article(
        &t,
        &editor,
        cat,
        "zh-CN",
        "收不到验证码怎么办",
        "请检查短信拦截设置。",
        true,
    )
    .await;
    let ja = article(
        &t,
        &editor,
        cat,
        "ja",
        "認証コードが届かない",
        "迷惑メールフォルダを確認してください。",
        true,
    )
    .await;
    let th = article(
        &t,
        &editor,
        cat,
        "th",
        "ไม่ได้รับรหัสยืนยัน",
        "ตรวจสอบกล่องจดหมายขยะ",
        true,
    )
    .await;
    article(
        &t,
        &editor,
        cat,
        "en",
        "Verification code secret draft",
        "code code code",
        false,
    )
    .await;
    for (lang, q, want) in [
        ("en", "my verification code never came", en),
        ("zh-CN", "验证码一直收不到", zh),
        ("ja", "認証コードが来ない", ja),
        ("th", "ไม่ได้รับรหัสยืนยันครับ", th),
    ] {
        let (status, found) = t
            .send(
                t.http
                    .get(t.url("/api/v1/help/suggestions"))
                    .query(&[("q", q), ("lang", lang)]),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found[0]["id"], want, "{lang}: {found}");
        assert!(found.as_array().unwrap().len() <= 5);
        assert!(!found.to_string().contains("secret draft"), "{found}");
    }
    let (status, found) = t.get(None, "/api/v1/help/suggestions?q=").await;
    assert_eq!((status, found), (StatusCode::OK, json!([])));
    let (status, problem) = t.get(None, "/api/v1/help/suggestions?q=code&lang=xx").await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lang"))
    );
    let (status, problem) = t.get(None, "/api/v1/help/suggestions").await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("required"))
    );
    let long = "code ".repeat(500);
    let (status, problem) = t
        .send(
            t.http
                .get(t.url("/api/v1/help/suggestions"))
                .query(&[("q", long.as_str())]),
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_long"))
    );
    // Operators and markup are only text.
    let (status, _) = t
        .send(
            t.http
                .get(t.url("/api/v1/help/suggestions"))
                .query(&[("q", "code\" OR 1=1 -- <script> %_*")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
both!(suggestions_match_latin_cjk_and_thai_and_never_drafts);

async fn bad_input_is_refused_and_changes_nothing(t: TestApp) {
    let editor = t.staff("editor@example.com", "admin").await;
    let cat = category(&t, &editor, "General").await;
    let id = article(&t, &editor, cat, "en", "Kept", "Kept body.", true).await;
    let articles = t.count("help_articles").await;
    let revisions = t.count("help_revisions").await;
    let good = json!({ "category_id": cat, "lang": "en", "title": "T", "body": "B" });
    let with = |key: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    for (body, field, code) in [
        (without("title"), "title", "required"),
        (without("lang"), "lang", "required"),
        (with("extra", json!(1)), "extra", "unknown_field"),
        (with("title", json!("x".repeat(201))), "title", "too_long"),
        (with("title", json!("   ")), "title", "required"),
        (
            with("title", json!("a\u{202E}b")),
            "title",
            "hidden_character",
        ),
        (with("body", json!("y".repeat(100_001))), "body", "too_long"),
        (with("body", json!("")), "body", "required"),
        (with("lang", json!("fr")), "lang", "invalid_value"),
        (with("lang", json!("ja<script>")), "lang", "invalid_value"),
        (
            with("category_id", json!(999_999)),
            "category_id",
            "invalid_value",
        ),
        (
            with("category_id", json!("one")),
            "category_id",
            "invalid_type",
        ),
    ] {
        let (status, problem) = t.post_as(&editor, "/api/v1/help/articles", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {problem}"
        );
        let error = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field);
        assert_eq!(
            error.map(|e| e["code"].clone()),
            Some(json!(code)),
            "{field}: {problem}"
        );
    }
    for (body, field) in [
        (json!({ "names": {} }), "names"),
        (json!({}), "names"),
        (json!({ "names": { "xx": "Name" } }), "names.xx"),
        (json!({ "names": { "en": "n".repeat(101) } }), "names.en"),
    ] {
        let (status, problem) = t.post_as(&editor, "/api/v1/help/categories", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    // A version in an unknown language, unknown ids: 422 and 404.
    let (status, problem) = put_as(
        &t,
        &editor,
        &format!("/api/v1/help/articles/{id}/versions/xx"),
        json!({ "title": "T", "body": "B" }),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lang"))
    );
    for (method, path) in [
        (
            "put",
            "/api/v1/help/articles/999999/versions/en".to_string(),
        ),
        (
            "post",
            "/api/v1/help/articles/999999/versions/en/publish".to_string(),
        ),
        (
            "post",
            format!("/api/v1/help/articles/{id}/versions/ja/publish"),
        ),
        (
            "get",
            format!("/api/v1/help/articles/{id}/versions/ja/revisions"),
        ),
        (
            "get",
            format!("/api/v1/help/articles/{id}/versions/en/revisions/999999"),
        ),
        (
            "post",
            format!("/api/v1/help/articles/{id}/versions/en/revisions/999999/restore"),
        ),
        ("delete", "/api/v1/help/articles/999999".to_string()),
        ("patch", "/api/v1/help/categories/999999".to_string()),
        ("delete", "/api/v1/help/categories/999999".to_string()),
        ("get", "/api/v1/help/articles/999999".to_string()),
        ("get", "/api/v1/help/articles/999999/versions".to_string()),
    ] {
        let request = t
            .http
            .request(method.to_uppercase().parse().unwrap(), t.url(&path))
            .bearer_auth(&editor)
            .json(&match (method, path.contains("/categories/")) {
                (_, true) => json!({ "names": { "en": "N" } }),
                ("put", _) => json!({ "title": "T", "body": "B" }),
                _ => json!({}),
            });
        let (status, answer) = t.send(request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
    }
    let (status, problem) = t.get(None, "/api/v1/help/articles/abc").await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("id"))
    );
    assert_eq!(t.count("help_articles").await, articles);
    assert_eq!(t.count("help_revisions").await, revisions);
    assert_eq!(t.count("help_categories").await, 1);
}
both!(bad_input_is_refused_and_changes_nothing);
