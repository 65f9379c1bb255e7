//! `Idempotency-Key` on the help center's creating POSTs: the same key and
//! body answer the first answer again, another body is refused, and
//! nothing is created twice.

use super::{article, category};
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// POSTs `body` to `path` as `token` with `key`: status, body, replayed.
async fn keyed(
    t: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value, bool) {
    let response = t
        .http
        .post(t.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        replayed,
    )
}

/// Sends `first` twice with one key, then `other` with it: the second is
/// the first's answer replayed, the third a 422; `count` is what each
/// creation adds to.
async fn once(
    t: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    first: Value,
    other: Value,
    count: &str,
) {
    let before = scalar(t, count).await;
    let (status, answer, replayed) = keyed(t, token, path, key, first.clone()).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    assert!(!replayed);
    let (again, replay, replayed) = keyed(t, token, path, key, first).await;
    assert_eq!((again, replayed), (status, true), "{path}: {replay}");
    assert_eq!(replay, answer, "{path}");
    let (status, problem, _) = keyed(t, token, path, key, other).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{path}: {problem}"
    );
    assert_eq!(problem["type"], "/problems/idempotency-mismatch");
    assert_eq!(scalar(t, count).await, before + 1, "{path}: {count}");
}

async fn help_creating_posts_honour_idempotency_keys(t: TestApp) {
    let editor = t.staff("idem.editor@example.com", "supervisor").await;
    let reader = t
        .signed_up("idem.reader@example.com", super::PASSWORD)
        .await;
    once(
        &t,
        &editor,
        "/api/v1/help/categories",
        "cat-1",
        json!({ "names": { "en": "Keys" } }),
        json!({ "names": { "en": "Other keys" } }),
        "SELECT COUNT(*) FROM help_categories",
    )
    .await;
    let cat = category(&t, &editor, "Articles").await;
    once(
        &t,
        &editor,
        "/api/v1/help/articles",
        "article-1",
        json!({ "category_id": cat, "lang": "ja", "title": "鍵", "body": "本文", "publish": true }),
        json!({ "category_id": cat, "lang": "ja", "title": "別の鍵", "body": "本文", "publish": true }),
        "SELECT COUNT(*) FROM help_articles",
    )
    .await;
    let id = article(&t, &editor, cat, "th", "กุญแจ", "เนื้อหา", true).await;
    let (_, revisions) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions/th/revisions"),
        )
        .await;
    let revisions: Vec<i64> = revisions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    let path = |r: i64| format!("/api/v1/help/articles/{id}/versions/th/revisions/{r}/restore");
    // The same restore twice with one key is one new revision.
    let before = scalar(&t, "SELECT COUNT(*) FROM help_revisions").await;
    for replay in [false, true] {
        let (status, _, replayed) =
            keyed(&t, &editor, &path(revisions[1]), "restore-1", json!({})).await;
        assert_eq!((status, replayed), (StatusCode::NO_CONTENT, replay));
    }
    let (status, problem, _) =
        keyed(&t, &editor, &path(revisions[0]), "restore-1", json!({})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another revision is another request: {problem}"
    );
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM help_revisions").await,
        before + 1
    );
    // A vote: the replay changes nothing, another body with the key is refused.
    let vote = format!("/api/v1/help/articles/{id}/vote");
    for replay in [false, true] {
        let (status, _, replayed) =
            keyed(&t, &reader, &vote, "vote-1", json!({ "helpful": true })).await;
        assert_eq!((status, replayed), (StatusCode::NO_CONTENT, replay));
    }
    let (status, _, _) = keyed(&t, &reader, &vote, "vote-1", json!({ "helpful": false })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM help_votes WHERE helpful = 1").await,
        1
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_votes").await, 1);
    // The document says so.
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    for path in [
        "/api/v1/help/categories",
        "/api/v1/help/articles",
        "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}/restore",
        "/api/v1/help/articles/{id}/vote",
    ] {
        let named = doc["paths"][path]["post"]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
        assert!(named, "{path}");
    }
}
both!(help_creating_posts_honour_idempotency_keys);
