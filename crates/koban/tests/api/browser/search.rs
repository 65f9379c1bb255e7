//! The search page in a real headless Chromium: an agent reading Chinese
//! opens search from the navigation, types a Chinese query, sees the
//! match highlighted and opens the ticket; the requester finds the same
//! ticket through the same page and opens their own request page;
//! signed out, only the help center's published articles are found.

use super::*;

/// Waits until the API finds `query` for `token` (the index follows the
/// write within a second).
async fn indexed(t: &TestApp, token: Option<&str>, query: &str, needle: &str) {
    let path = format!(
        "/api/v1/search?q={}",
        url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
    );
    let started = std::time::Instant::now();
    loop {
        let (status, body) = t.get(token, &path).await;
        if status == StatusCode::OK && body.to_string().contains(needle) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not indexed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_agent_searches_in_chinese_and_opens_the_ticket() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let agent = t.staff("sousuo@example.cn", "agent").await;
    let mei = t
        .signed_up("mei-search@example.cn", "lantern festival 2026")
        .await;
    let (status, opened) = t
        .post_as(
            &mei,
            "/api/v1/desk/tickets",
            serde_json::json!({
                "subject": "一直收不到验证码",
                "body": "短信验证码一直收不到，已经等了十分钟。<b>急</b>",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = opened["reference"].as_str().expect("reference").to_string();
    indexed(&t, Some(&agent), "验证码", &reference).await;

    let Some(mut b) = Browser::start("search-agent", "zh-CN", &t.base).await else {
        return;
    };
    b.goto("/signin?next=/desk").await;
    b.on_page("signin").await;
    b.sign_in("sousuo@example.cn", "staff password 1").await;
    b.on_page("desk-queue").await;
    b.click("#nav-search").await;
    b.on_page("search").await;
    assert!(b.text("#search-lead").await.contains("内部备注"));
    b.fill("#search-q", "验证码").await;
    b.shot("query").await;
    b.click("#search-submit").await;
    b.on_page("search").await;
    let heading = b.text("#search-results h2").await;
    assert!(heading.contains("1"), "{heading}");
    let hit = format!(".search-hit[data-reference=\"{reference}\"]");
    assert_eq!(b.attr(&hit, "data-kind").await.as_deref(), Some("ticket"));
    assert_eq!(b.text(&format!("{hit} mark")).await, "验证码");
    // What the requester wrote is text, never markup.
    assert!(!b.has(&format!("{hit} .search-snippet b")).await);
    let snippet = b.text(&format!("{hit} .search-snippet")).await;
    assert!(snippet.contains("<b>"), "{snippet}");
    b.shot("results").await;
    b.click(&format!("{hit} .search-hit-link")).await;
    b.on_page("desk-ticket").await;
    assert_eq!(b.text("#ticket-reference").await, reference);
    b.close().await;

    // The requester finds their own request and opens its page.
    let Some(mut r) = Browser::start("search-requester", "zh-CN", &t.base).await else {
        return;
    };
    r.goto("/signin?next=/search").await;
    r.on_page("signin").await;
    r.sign_in("mei-search@example.cn", "lantern festival 2026")
        .await;
    r.on_page("search").await;
    r.fill("#search-q", "短信 验证码").await;
    r.click("#search-submit").await;
    r.on_page("search").await;
    r.shot("requester-results").await;
    r.click(&format!("{hit} .search-hit-link")).await;
    r.on_page("support-ticket").await;
    assert_eq!(r.text("#ticket-reference").await, reference);
    r.close().await;

    // Signed out: the ticket is not found.
    let Some(mut s) = Browser::start("search-signed-out", "zh-CN", &t.base).await else {
        return;
    };
    s.goto("/search?q=%E9%AA%8C%E8%AF%81%E7%A0%81").await;
    s.on_page("search").await;
    assert!(s.has("#search-none").await);
    assert!(!s.has(".search-hit").await);
    s.shot("signed-out").await;
    s.close().await;
}
