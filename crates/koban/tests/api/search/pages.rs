//! `/search` over HTTP on both databases: each viewer's hits, the
//! highlights kept safe, filters, refusals worded on the page.

use super::{open, q, reply, until, PASSWORD};
use crate::support::TestApp;
use reqwest::StatusCode;

/// The page at `path` as the holder of session `token` (or signed out), in English.
async fn page(t: &TestApp, token: Option<&str>, path: &str) -> (StatusCode, String) {
    let mut request = t.http.get(t.url(path)).header("accept-language", "en");
    if let Some(token) = token {
        request = request.header("cookie", format!("koban_session={token}"));
    }
    let response = request.send().await.expect("page");
    let status = response.status();
    // The templates escape `/` in attributes; read the links as written.
    let html = response.text().await.expect("text");
    (status, html.replace("&#x2f;", "/"))
}

async fn the_page_shows_each_viewer_what_they_may_find(t: TestApp) {
    let agent = t.staff("page-agent@example.com", "agent").await;
    let mei = t.signed_up("page-mei@example.com", PASSWORD).await;
    let ken = t.signed_up("page-ken@example.com", PASSWORD).await;
    let mine = open(
        &t,
        &mei,
        "Parcel <i>lost</i>",
        "My parcel 包裹 never came <script>x()</script>",
    )
    .await;
    let theirs = open(&t, &ken, "Another parcel", "Ken's 包裹 is late").await;
    let note = reply(&t, &agent, &mine, "internal: 包裹 was rerouted", false).await;
    until(&t, Some(&agent), &q("包裹"), |b| b["total"] == 3).await;
    let _ = note;

    // The agent sees both tickets and the note, marked as one.
    let (status, html) = page(&t, Some(&agent), "/search?q=%E5%8C%85%E8%A3%B9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("3 results"), "{html}");
    assert!(
        html.contains(&format!("href=\"/desk/tickets/{mine}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/desk/tickets/{theirs}\"")));
    assert!(html.contains("data-internal=\"true\""));
    assert!(html.contains("<mark>包裹</mark>"));
    // What requesters wrote is escaped, in the title and in the snippet.
    assert!(
        !html.contains("<script>x()") && !html.contains("<i>lost</i>"),
        "{html}"
    );
    assert!(html.contains("&lt;i&gt;lost&lt;/i&gt;"));
    assert!(html.contains("id=\"nav-search\""));
    // Filters: a status that matches nothing, then the kind.
    let (_, html) = page(
        &t,
        Some(&agent),
        "/search?q=%E5%8C%85%E8%A3%B9&status=solved",
    )
    .await;
    assert!(html.contains("id=\"search-none\""), "{html}");
    let (_, html) = page(
        &t,
        Some(&agent),
        "/search?q=%E5%8C%85%E8%A3%B9&kind=message",
    )
    .await;
    assert!(
        html.contains("1 result") && html.contains("data-kind=\"message\""),
        "{html}"
    );

    // Mei sees her ticket only, linked to her request page.
    let (status, html) = page(&t, Some(&mei), "/search?q=%E5%8C%85%E8%A3%B9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 result"), "{html}");
    assert!(html.contains(&format!("href=\"/support/tickets/{mine}\"")));
    assert!(
        !html.contains(&theirs) && !html.contains("rerouted") && !html.contains("data-internal")
    );

    // Signed out: nothing of the desk; the page says what it searches.
    let (status, html) = page(&t, None, "/search?q=%E5%8C%85%E8%A3%B9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"search-none\"") && !html.contains(&mine),
        "{html}"
    );
    assert!(html.contains("Search the help center"));

    // Bad filters are worded on the page and change nothing.
    let (status, html) = page(
        &t,
        Some(&agent),
        "/search?q=%E5%8C%85%E8%A3%B9&from=yesterday&kind=bogus",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"search-refused\"") && html.contains("Type"),
        "{html}"
    );
    let (status, html) = page(
        &t,
        Some(&agent),
        "/search?q=%E5%8C%85%E8%A3%B9&from=yesterday",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Created from"), "{html}");
    let (status, _) = page(&t, Some(&agent), "/search?q=%E5%8C%85%E8%A3%B9&page=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The empty page, in Thai.
    let response = t
        .http
        .get(t.url("/search"))
        .header("accept-language", "th")
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .expect("text")
        .contains("ค้นหาศูนย์ช่วยเหลือ"));
}
both!(the_page_shows_each_viewer_what_they_may_find);
