//! The help center's lists page with a cursor like the rest of the API.

use super::{article, category, patch_as, put_as};
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Every item's id of the list at `path` (with a `?`), read `limit` at a
/// time by following `next_cursor`; also how many pages it took.
async fn walk(t: &TestApp, token: Option<&str>, path: &str, limit: u32) -> (Vec<i64>, usize) {
    let mut ids = vec![];
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}limit={limit}"),
            Some(c) => format!("{path}limit={limit}&cursor={c}"),
        };
        let (status, page) = t.get(token, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit as usize, "{page}");
        ids.extend(items.iter().map(|i| i["id"].as_i64().expect("id")));
        pages += 1;
        match &page["next_cursor"] {
            Value::String(next) => cursor = Some(next.clone()),
            Value::Null => return (ids, pages),
            other => panic!("next_cursor: {other}"),
        }
        assert!(pages < 50, "{path} never ends");
    }
}

async fn help_lists_page_with_a_cursor(t: TestApp) {
    let editor = t.staff("pager@example.com", "supervisor").await;
    let agent = t.staff("pager.agent@example.com", "agent").await;

    // Categories, in order of position then id, equal positions included.
    let mut cats = vec![];
    for (name, position) in [("C", 2), ("A", 0), ("B", 2), ("D", -1), ("E", 0)] {
        let id = category(&t, &editor, name).await;
        let (status, body) = patch_as(
            &t,
            &editor,
            &format!("/api/v1/help/categories/{id}"),
            json!({ "position": position }),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        cats.push((position, id));
    }
    cats.sort();
    let want: Vec<i64> = cats.iter().map(|(_, id)| *id).collect();
    let (ids, pages) = walk(&t, None, "/api/v1/help/categories?", 2).await;
    assert_eq!((ids, pages), (want.clone(), 3));
    let (ids, pages) = walk(&t, None, "/api/v1/help/categories?", 5).await;
    assert_eq!((ids, pages), (want, 1), "a full last page has no next");

    // Published articles, newest first; drafts and deleted ones are no reader's.
    let home = cats[0].1;
    let other = cats[1].1;
    let mut published = vec![];
    for n in 0..5 {
        let title = format!("Article {n}");
        published.push(article(&t, &editor, home, "en", &title, "Body.", true).await);
    }
    article(&t, &editor, home, "en", "A draft", "Body.", false).await;
    let gone = article(&t, &editor, home, "ja", "消える記事", "本文", true).await;
    assert_eq!(
        t.delete(&editor, &format!("/api/v1/help/articles/{gone}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let elsewhere = article(&t, &editor, other, "th", "บทความ", "เนื้อหา", true).await;
    let mut everything = published.clone();
    everything.push(elsewhere);
    everything.sort_unstable_by(|a, b| b.cmp(a));
    let (ids, _) = walk(&t, None, "/api/v1/help/articles?lang=en&", 2).await;
    assert_eq!(ids, everything);
    published.reverse();
    let (ids, pages) = walk(
        &t,
        None,
        &format!("/api/v1/help/articles?category={home}&"),
        3,
    )
    .await;
    assert_eq!((ids, pages), (published, 2));

    // Revisions, newest first.
    let id = article(&t, &editor, home, "en", "Revised", "v0", true).await;
    for n in 1..=4 {
        let (status, body) = put_as(
            &t,
            &editor,
            &format!("/api/v1/help/articles/{id}/versions/en"),
            json!({ "title": "Revised", "body": format!("v{n}") }),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let path = format!("/api/v1/help/articles/{id}/versions/en/revisions");
    let (all, _) = walk(&t, Some(&agent), &format!("{path}?"), 100).await;
    assert_eq!(all.len(), 6, "created, published, four saves");
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let (ids, pages) = walk(&t, Some(&agent), &format!("{path}?"), 4).await;
    assert_eq!((ids, pages), (all, 2));
    let (status, _) = t.get(Some(&agent), &format!("{path}?cursor=aWQ6MQ")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a cursor past the end: an empty page"
    );
}
both!(help_lists_page_with_a_cursor);

async fn bad_cursors_and_limits_are_refused_naming_them(t: TestApp) {
    let editor = t.staff("pager@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Paged").await;
    let id = article(&t, &editor, cat, "en", "Paged", "Body.", true).await;
    let revisions = format!("/api/v1/help/articles/{id}/versions/en/revisions");
    // An id cursor ("id:1") where a list keeps its own order, and the reverse.
    let id_cursor = "aWQ6MQ";
    let at_cursor = "YXQ6MDox";
    for list in [
        "/api/v1/help/categories",
        "/api/v1/help/articles",
        revisions.as_str(),
    ] {
        let wrong = if list.ends_with("categories") {
            id_cursor
        } else {
            at_cursor
        };
        for (query, field) in [
            ("limit=0".to_string(), "limit"),
            ("limit=101".to_string(), "limit"),
            ("limit=ten".to_string(), "limit"),
            ("limit=-1".to_string(), "limit"),
            ("cursor=%FF".to_string(), "cursor"),
            ("cursor=not-a-cursor".to_string(), "cursor"),
            (format!("cursor={wrong}"), "cursor"),
        ] {
            let url = format!("{list}?{query}");
            let (status, problem) = t.get(Some(&editor), &url).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {problem}");
            assert_eq!(problem["type"], "/problems/validation", "{problem}");
            assert_eq!(problem["errors"][0]["field"], field, "{url}: {problem}");
        }
    }
    let (status, page) = t.get(None, "/api/v1/help/categories?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
}
both!(bad_cursors_and_limits_are_refused_naming_them);
