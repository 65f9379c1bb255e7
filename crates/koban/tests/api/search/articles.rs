//! Help-center articles in search: published versions found by everyone,
//! drafts by staff only, in each language, following every change.

use super::{q, search, until, PASSWORD};
use crate::helpcenter::{article, category};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The (article id, language) of each article hit.
fn articles(body: &Value) -> Vec<(i64, String)> {
    body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|h| h["kind"] == "article")
                .map(|h| {
                    (
                        h["article_id"].as_i64().unwrap_or(0),
                        h["language"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn articles_are_found_by_who_may_read_them(t: TestApp) {
    let editor = t.staff("search-editor@example.com", "supervisor").await;
    let agent = t.staff("search-agent@example.com", "agent").await;
    let mei = t.signed_up("search-reader@example.com", PASSWORD).await;
    let help = category(&t, &editor, "Sign-in").await;
    let thai = article(
        &t,
        &editor,
        help,
        "th",
        "วิธีรีเซ็ตรหัสผ่าน",
        "กด **ลืมรหัสผ่าน** ที่หน้าเข้าสู่ระบบ แล้วเปิดอีเมลที่เราส่งให้",
        true,
    )
    .await;
    let japanese = article(
        &t,
        &editor,
        help,
        "ja",
        "二段階認証の設定",
        "[設定](https://example.com/settings)画面で認証アプリを登録してください。",
        true,
    )
    .await;
    let draft = article(
        &t,
        &editor,
        help,
        "zh-CN",
        "账号安全检查",
        "草稿：检查登录设备。",
        false,
    )
    .await;

    // Signed out, a requester and an agent find the published Thai and
    // Japanese articles, in their language.
    for token in [None, Some(mei.as_str()), Some(agent.as_str())] {
        let (body, _) = until(&t, token, &q("รหัสผ่าน"), |b| {
            !articles(b).is_empty()
        })
        .await;
        assert_eq!(articles(&body), vec![(thai, "th".to_string())], "{body}");
        let snippet = body["items"][0]["snippet"].as_str().unwrap_or("");
        assert!(
            snippet.contains("<mark>") && !snippet.contains("**"),
            "markup is not indexed: {snippet}"
        );
        let (body, _) = until(&t, token, &q("認証アプリ"), |b| {
            !articles(b).is_empty()
        })
        .await;
        assert_eq!(
            articles(&body),
            vec![(japanese, "ja".to_string())],
            "{body}"
        );
        assert_eq!(body["items"][0]["title"], "二段階認証の設定");
    }
    // A link's address is not the article's text.
    let (_, body) = search(&t, None, &q("example.com")).await;
    assert_eq!(body["total"], 0, "{body}");
    // The draft: the agent finds it, nobody else does.
    until(&t, Some(&agent), &q("登录设备"), |b| {
        articles(b) == vec![(draft, "zh-CN".to_string())]
    })
    .await;
    for token in [None, Some(mei.as_str())] {
        let (status, body) = search(&t, token, &q("登录设备")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], 0, "a draft: {body}");
    }
    // Published, everyone finds it; a Traditional Chinese version of the
    // same article is a hit of its own.
    let (status, body) = t
        .post_as(
            &editor,
            &format!("/api/v1/help/articles/{draft}/versions/zh-CN/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    until(&t, None, &q("登录设备"), |b| {
        articles(b) == vec![(draft, "zh-CN".to_string())]
    })
    .await;
    let (status, body) = crate::helpcenter::put_as(
        &t,
        &editor,
        &format!("/api/v1/help/articles/{draft}/versions/zh-TW"),
        json!({ "title": "帳號安全檢查", "body": "檢查登入裝置。", "publish": true }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (body, _) = until(&t, None, &q("裝置"), |b| articles(b).len() == 1).await;
    assert_eq!(articles(&body), vec![(draft, "zh-TW".to_string())]);
    // A saved (unpublished) change is not what readers find: they keep
    // finding the published text.
    let (status, _) = crate::helpcenter::put_as(
        &t,
        &editor,
        &format!("/api/v1/help/articles/{thai}/versions/th"),
        json!({ "title": "วิธีรีเซ็ตรหัสผ่าน", "body": "ฉบับร่างใหม่" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = search(&t, None, &q("ลืมรหัสผ่าน")).await;
    assert_eq!(articles(&body), vec![(thai, "th".to_string())], "{body}");
    // Unpublished, it leaves the readers' search; deleted, everyone's.
    let (status, _) = t
        .post_as(
            &editor,
            &format!("/api/v1/help/articles/{japanese}/versions/ja/unpublish"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    until(&t, None, &q("認証アプリ"), |b| b["total"] == 0).await;
    let (status, _) = t
        .delete(&editor, &format!("/api/v1/help/articles/{thai}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    until(&t, Some(&agent), &q("รหัสผ่าน"), |b| {
        articles(b).is_empty()
    })
    .await;
    // `kind=article` leaves tickets out; a rebuild finds the same articles.
    super::open(&t, &mei, "登录设备 ticket", "登录设备不认识").await;
    let (body, _) = until(
        &t,
        Some(&agent),
        &format!("{}&kind=article", q("登录设备")),
        |b| b["total"] == 1,
    )
    .await;
    assert_eq!(articles(&body), vec![(draft, "zh-CN".to_string())]);
    let app = t.app.clone();
    koban::search::rebuild::rebuild(&app, &|_, _| {})
        .await
        .expect("rebuild");
    let (body, _) = until(&t, None, &q("登录设备"), |b| b["total"] == 1).await;
    assert_eq!(articles(&body), vec![(draft, "zh-CN".to_string())]);
}
both!(articles_are_found_by_who_may_read_them);
