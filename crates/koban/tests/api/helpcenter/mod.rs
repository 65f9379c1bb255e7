//! The help center (issue 15 §1) through HTTP on both databases: the
//! editors' API and its records, readers and their languages, votes,
//! suggestions and the ticket form's deflection, bad input, the pages,
//! and who may do what.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

mod api;
mod deflection;
mod idempotency;
mod matrix;
mod pages;
mod paging;

pub(crate) const PASSWORD: &str = "plum blossom 2026";

/// A new category named in English and Japanese; its id.
pub(crate) async fn category(t: &TestApp, editor: &str, en: &str) -> i64 {
    let (status, body) = t
        .post_as(
            editor,
            "/api/v1/help/categories",
            json!({ "names": { "en": en, "ja": format!("{en}（日本語）") } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("id")
}

/// A new article with one version; its id.
pub(crate) async fn article(
    t: &TestApp,
    editor: &str,
    category: i64,
    lang: &str,
    title: &str,
    body: &str,
    publish: bool,
) -> i64 {
    let (status, answer) = t
        .post_as(
            editor,
            "/api/v1/help/articles",
            json!({ "category_id": category, "lang": lang, "title": title, "body": body, "publish": publish }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["id"].as_i64().expect("id")
}

/// PUTs JSON with a bearer token.
pub(crate) async fn put_as(
    t: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    t.send(t.http.put(t.url(path)).bearer_auth(token).json(&body))
        .await
}

/// PATCHes JSON with a bearer token.
pub(crate) async fn patch_as(
    t: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    t.send(t.http.patch(t.url(path)).bearer_auth(token).json(&body))
        .await
}

/// GETs with a language.
pub(crate) async fn get_in(t: &TestApp, lang: &str, path: &str) -> (StatusCode, Value) {
    t.send(t.http.get(t.url(path)).header("accept-language", lang))
        .await
}
