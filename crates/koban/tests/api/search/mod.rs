//! Search through HTTP: what each caller finds (and never finds), how
//! fast a write is found, filters and pages, bad input, the index on disk
//! (restart, `koban search reindex`, two nodes), and the quality figures.

mod input;
mod nodes;
mod quality;

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "lantern festival 2026";

/// `GET /api/v1/search?…` with `query` already encoded.
async fn search(t: &TestApp, token: Option<&str>, query: &str) -> (StatusCode, Value) {
    t.get(token, &format!("/api/v1/search?{query}")).await
}

fn q(text: &str) -> String {
    format!("q={}", urlencode(text))
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The references (for messages: reference and message id) of the hits.
fn refs(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|h| match h["message_id"].as_i64() {
                    Some(m) => format!("{}#{m}", h["reference"].as_str().unwrap_or("")),
                    None => h["reference"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Polls the search until `found` accepts the answer; returns it and how long that took.
async fn until(
    t: &TestApp,
    token: Option<&str>,
    query: &str,
    found: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    let started = Instant::now();
    loop {
        let (status, body) = search(t, token, query).await;
        if status == StatusCode::OK && found(&body) {
            return (body, started.elapsed());
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not found in 10 s: {query}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens a ticket as `token`; returns its reference.
async fn open(t: &TestApp, token: &str, subject: &str, body: &str) -> String {
    let (status, opened) = t
        .post_as(
            token,
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": body }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    opened["reference"].as_str().expect("reference").to_string()
}

async fn ticket_id(t: &TestApp, reference: &str) -> i64 {
    crate::support::scalar(
        t,
        &format!(
            "SELECT id FROM desk_tickets WHERE reference = '{}'",
            digits(reference)
        ),
    )
    .await
}

fn digits(reference: &str) -> String {
    reference.chars().filter(char::is_ascii_digit).collect()
}

async fn reply(t: &TestApp, token: &str, reference: &str, body: &str, public: bool) -> i64 {
    let (status, added) = t
        .post_as(
            token,
            &format!("/api/v1/desk/tickets/{}/messages", digits(reference)),
            json!({ "body": body, "public": public }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    crate::support::scalar(t, "SELECT MAX(id) FROM desk_messages").await
}

async fn each_finds_what_they_may(t: TestApp) {
    let agent = t.staff("agent@example.com", "agent").await;
    let mei = t.signed_up("mei@example.com", PASSWORD).await;
    let ken = t.signed_up("ken@example.com", PASSWORD).await;
    let started = Instant::now();
    let mine = open(
        &t,
        &mei,
        "帳號被鎖定無法登入",
        "密碼輸入錯誤太多次，帳號被鎖定了。",
    )
    .await;
    // A write through the API is found within a second.
    let (body, took) = until(&t, Some(&agent), &q("密码"), |b| refs(b).contains(&mine)).await;
    println!(
        "search freshness (same node): {} ms from the write's answer",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(1), "found after {took:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let hit = &body["items"][0];
    assert_eq!(hit["kind"], "ticket");
    assert_eq!(hit["title"], "帳號被鎖定無法登入");
    assert!(
        hit["snippet"].as_str().unwrap_or("").contains("<mark>"),
        "{hit}"
    );
    let theirs = open(&t, &ken, "密碼忘記了", "請幫我重設密碼").await;
    let note = reply(
        &t,
        &agent,
        &mine,
        "内部メモ: 密码 was reset by phone (secret-note)",
        false,
    )
    .await;
    let public = reply(&t, &agent, &mine, "We reset the 密碼 (public-reply).", true).await;
    let note_ref = format!("{mine}#{note}");
    let public_ref = format!("{mine}#{public}");
    // The agent finds both tickets, the note and the reply.
    let (all, _) = until(&t, Some(&agent), &q("密碼"), |b| {
        let r = refs(b);
        r.contains(&note_ref) && r.contains(&public_ref) && r.contains(&theirs)
    })
    .await;
    let note_hit = all["items"]
        .as_array()
        .and_then(|items| items.iter().find(|h| h["message_id"] == note))
        .cloned()
        .unwrap_or_default();
    assert_eq!(note_hit["internal"], true, "{note_hit}");
    // Mei finds her ticket and the public reply, never the note or Ken's ticket.
    let (status, body) = search(&t, Some(&mei), &q("密码")).await;
    assert_eq!(status, StatusCode::OK);
    let found = refs(&body);
    assert!(
        found.contains(&mine) && found.contains(&public_ref),
        "{found:?}"
    );
    assert!(
        !found.contains(&note_ref) && !found.contains(&theirs),
        "{found:?}"
    );
    for query in ["secret-note", "内部メモ", "\"was reset by phone\""] {
        let (_, body) = search(&t, Some(&mei), &q(query)).await;
        assert_eq!(body["total"], 0, "{query}: {body}");
        let (_, body) = search(&t, Some(&agent), &q(query)).await;
        assert_eq!(refs(&body), vec![note_ref.clone()], "{query}");
    }
    // Asking for another's tickets by filter finds nothing either.
    let ken_id = crate::support::scalar(
        &t,
        "SELECT id FROM accounts WHERE email = 'ken@example.com'",
    )
    .await;
    let (_, body) = search(&t, Some(&mei), &format!("{}&requester={ken_id}", q("密码"))).await;
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = search(&t, Some(&ken), &q("密码")).await;
    assert_eq!(refs(&body), vec![theirs.clone()]);
    // Signed out: no ticket, no message (articles only, once there are some).
    let (status, body) = search(&t, None, &q("密码")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 0);
    let (status, _) = search(&t, Some("not-a-token"), &q("密码")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both!(each_finds_what_they_may);

async fn changes_and_filters_follow_the_desk(t: TestApp) {
    let agent = t.staff("agent2@example.com", "agent").await;
    let mei = t.signed_up("mei2@example.com", PASSWORD).await;
    let a = open(&t, &mei, "ล็อกอินไม่ได้", "ลืมรหัสผ่านเข้าบัญชีไม่ได้").await;
    let id_a = ticket_id(&t, &a).await;
    let b = open(
        &t,
        &mei,
        "Sticker refund",
        "Charged twice for a sticker <script>alert(1)</script> pack",
    )
    .await;
    until(&t, Some(&agent), &q("รหัสผ่าน"), |body| {
        refs(body) == vec![a.clone()]
    })
    .await;
    // A status change reaches the index; filters read it.
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&format!("/api/v1/desk/tickets/{}", digits(&a))))
                .bearer_auth(&agent)
                .json(&json!({ "status": "pending" })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    until(
        &t,
        Some(&agent),
        &format!("{}&status=pending&kind=ticket", q("บัญชี")),
        |body| refs(body) == vec![a.clone()],
    )
    .await;
    let (_, body) = search(&t, Some(&agent), &format!("{}&status=open", q("บัญชี"))).await;
    assert_eq!(body["total"], 0, "{body}");
    // Dates: created today, not before.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let (_, body) = search(
        &t,
        Some(&agent),
        &format!("{}&from={today}&to={today}&kind=ticket", q("sticker")),
    )
    .await;
    assert_eq!(refs(&body), vec![b.clone()]);
    let (_, body) = search(&t, Some(&agent), &format!("{}&to=2001-01-01", q("sticker"))).await;
    assert_eq!(body["total"], 0);
    // The snippet escapes what the requester wrote; only <mark> is markup.
    let (_, body) = search(&t, Some(&agent), &format!("{}&kind=ticket", q("sticker"))).await;
    let snippet = body["items"][0]["snippet"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        snippet.contains("&lt;script&gt;") && snippet.contains("<mark>"),
        "{snippet}"
    );
    assert!(!snippet.contains("<script"), "{snippet}");
    // A write straight to the table (no API) is followed too: the triggers log it.
    t.exec(&format!(
        "UPDATE desk_tickets SET subject = 'Zebra crossing' WHERE id = {id_a}"
    ))
    .await;
    until(&t, Some(&agent), &q("zebra"), |body| {
        refs(body) == vec![a.clone()]
    })
    .await;
    // Pages: a cursor walks the hits without repeats.
    for i in 0..5 {
        open(&t, &mei, &format!("Paging ticket {i}"), "paging body").await;
    }
    let (first, _) = until(
        &t,
        Some(&agent),
        &format!("{}&kind=ticket&limit=2", q("paging")),
        |body| body["total"] == 5,
    )
    .await;
    let mut seen = refs(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let (status, page) = search(
            &t,
            Some(&agent),
            &format!("{}&kind=ticket&limit=2&cursor={c}", q("paging")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(refs(&page));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5), "{seen:?}");
    let (_, page2) = search(
        &t,
        Some(&agent),
        &format!("{}&kind=ticket&limit=2&page=2", q("paging")),
    )
    .await;
    assert_eq!(refs(&page2).len(), 2);
}
both!(changes_and_filters_follow_the_desk);
