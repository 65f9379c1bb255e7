//! The pages: the banner on every page (language, region, dismissal), the
//! listing, XSS payloads in what editors write, and the editors' pages with
//! their permission matrix and CSRF.

use super::{maintenance, now, published, PASSWORD};
use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

/// A browser stand-in reading Thai.
async fn thai_reader(t: &TestApp) -> Pages {
    let mut pages = Pages::new(t).await;
    let response = pages
        .post("/lang", &[("lang", "th"), ("next", "/signin")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    pages
}

async fn html(pages: &mut Pages, path: &str) -> (StatusCode, String) {
    let response = pages.get(path).await;
    (response.status(), response.text().await.unwrap())
}

async fn the_banner_shows_everywhere_until_dismissed(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let id = published(&t, &sup, maintenance()).await;
    let mut reader = thai_reader(&t).await;
    for path in ["/signin", "/support", "/announcements"] {
        let (status, page) = html(&mut reader, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            page.contains(&format!("id=\"banner-{id}\"")),
            "{path}: {page}"
        );
        assert!(page.contains("ปิดปรับปรุงระบบคืนนี้"), "{path}");
    }
    let response = reader
        .post(
            &format!("/announcements/{id}/dismiss"),
            &[("next", "/signin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin");
    let (_, page) = html(&mut reader, "/signin").await;
    assert!(!page.contains(&format!("id=\"banner-{id}\"")), "dismissed");
    let (_, page) = html(&mut reader, "/announcements").await;
    assert!(
        page.contains(&format!("id=\"announcement-{id}\"")),
        "still listed"
    );
    // Somewhere else, away from this site: the next page is here.
    let response = reader
        .post(
            &format!("/announcements/{id}/dismiss"),
            &[("next", "https://evil.example")],
        )
        .await;
    assert_eq!(location(&response), "/announcements");
    // Without the CSRF token: refused, nothing set.
    let response = reader
        .http
        .post(reader.base.clone() + "/announcements/1/dismiss")
        .header(COOKIE, reader.cookie_header())
        .form(&[("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
both!(the_banner_shows_everywhere_until_dismissed);

async fn a_regional_banner_shows_to_accounts_known_there(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let mut body = maintenance();
    body["regions"] = json!(["TH"]);
    let id = published(&t, &sup, body).await;
    t.signed_up_in("+66812345678", PASSWORD, Some("th")).await;
    t.signed_up("+819012345678", PASSWORD).await;
    let marker = format!("id=\"banner-{id}\"");
    let mut visitor = Pages::new(&t).await;
    assert!(
        !html(&mut visitor, "/signin").await.1.contains(&marker),
        "signed out: everywhere only"
    );
    let mut thai = Pages::new(&t).await;
    thai.sign_in("+66812345678", PASSWORD).await;
    let (_, page) = html(&mut thai, "/account").await;
    assert!(page.contains(&marker), "{page}");
    let mut japanese = Pages::new(&t).await;
    japanese.sign_in("+819012345678", PASSWORD).await;
    assert!(!html(&mut japanese, "/account").await.1.contains(&marker));
}
both!(a_regional_banner_shows_to_accounts_known_there);

const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "\"><script>alert(1)</script>",
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=p></form>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
];

async fn xss_in_titles_and_bodies_never_reaches_a_page(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let mut ids = vec![];
    for payload in XSS {
        let body = json!({
            "kind": "service_status",
            "texts": { "en": { "title": format!("t {payload}"), "body": format!("b {payload}") } },
            "starts_at": now() - 1_000,
        });
        ids.push(published(&t, &sup, body).await);
    }
    let mut reader = Pages::new(&t).await;
    let mut pages = vec![
        html(&mut reader, "/announcements").await.1,
        html(&mut reader, "/signin").await.1,
    ];
    for id in &ids {
        pages.push(html(&mut reader, &format!("/announcements/{id}")).await.1);
    }
    for page in &pages {
        // Escaped text may spell a payload out; no tag or attribute may carry one.
        for bad in [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "href=\"javascript",
            "<iframe",
            "<style>body",
            "<form action=https://evil",
            "style=\"background",
        ] {
            assert!(!page.contains(bad), "{bad} in {page}");
        }
    }
    // The titles show as text.
    assert!(
        pages[0].contains("t &lt;script&gt;alert(1)"),
        "{}",
        pages[0]
    );
}
both!(xss_in_titles_and_bodies_never_reaches_a_page);

/// Every editor page × signed out, a user, an agent, a supervisor, an admin.
async fn the_desk_pages_are_for_supervisors_and_admins(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let id = published(&t, &sup, maintenance()).await;
    t.signed_up("user@example.com", PASSWORD).await;
    t.staff("agent@example.com", "agent").await;
    t.staff("admin@example.com", "admin").await;
    let form: Vec<(&str, &str)> = vec![
        ("kind", "maintenance"),
        ("title_en", "Maintenance"),
        ("body_en", "Tonight"),
    ];
    for who in [
        None,
        Some("user@example.com"),
        Some("agent@example.com"),
        Some("sup@example.com"),
        Some("admin@example.com"),
    ] {
        let mut pages = Pages::new(&t).await;
        if let Some(who) = who {
            let password = if who.starts_with("user") {
                PASSWORD
            } else {
                "staff password 1"
            };
            let response = pages.sign_in(who, password).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{who}");
        }
        let editor = matches!(who, Some("sup@example.com" | "admin@example.com"));
        let gets = [
            "/desk/announcements".to_string(),
            format!("/desk/announcements/{id}"),
        ];
        for path in &gets {
            let status = pages.get(path).await.status();
            let want = match (who, editor) {
                (None, _) => StatusCode::SEE_OTHER,
                (_, true) => StatusCode::OK,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, want, "GET {path} as {who:?}");
        }
        let before = t.count("announcement_changes").await;
        let posts = [
            "/desk/announcements".to_string(),
            format!("/desk/announcements/{id}"),
            format!("/desk/announcements/{id}/publish"),
            format!("/desk/announcements/{id}/push"),
        ];
        for path in &posts {
            let response = pages.post(path, &form).await;
            let status = response.status();
            match (who, editor) {
                (None, _) => assert!(location(&response).starts_with("/signin"), "POST {path}"),
                (_, true) => assert!(
                    status == StatusCode::SEE_OTHER || status == StatusCode::CONFLICT,
                    "POST {path} as {who:?}: {status}"
                ),
                _ => assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} as {who:?}"),
            }
        }
        if !editor {
            assert_eq!(
                t.count("announcement_changes").await,
                before,
                "{who:?} changed nothing"
            );
        }
    }
}
both!(the_desk_pages_are_for_supervisors_and_admins);

async fn the_desk_form_explains_what_it_refuses(t: TestApp) {
    t.staff("sup@example.com", "supervisor").await;
    let mut pages = Pages::new(&t).await;
    pages.sign_in("sup@example.com", "staff password 1").await;
    let good = [
        ("kind", "maintenance"),
        ("regions", "th, JP"),
        ("starts_at", "2030-01-01T02:00"),
        ("ends_at", "2030-01-01T04:00"),
        ("title_th", "ปิดปรับปรุงระบบ"),
        ("body_th", "คืนนี้"),
    ];
    let cases: Vec<(&str, &str, &str)> = vec![
        ("ends_at", "2029-12-31T00:00", "ends_at-error"),
        ("ends_at", "tomorrow", "ends_at-error"),
        ("kind", "outage", "kind-error"),
        ("regions", "TH, ZZ", "regions-error"),
        ("title_th", "", "texts.th.title-error"),
    ];
    for (field, value, error_id) in cases {
        let form: Vec<(&str, &str)> = good
            .iter()
            .map(|(k, v)| if *k == field { (*k, value) } else { (*k, *v) })
            .collect();
        let response = pages.post("/desk/announcements", &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("id=\"{error_id}\"")),
            "{field}={value}: {page}"
        );
    }
    assert_eq!(t.count("announcements").await, 0);
    // Without the CSRF token: 403, nothing written.
    let response = pages
        .http
        .post(pages.base.clone() + "/desk/announcements")
        .header(COOKIE, pages.cookie_header())
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("announcements").await, 0);

    let response = pages.post("/desk/announcements", &good).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let at = location(&response);
    let path = at.split('?').next().unwrap().to_string();
    let response = pages.post(&format!("{path}/publish"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = pages.get(&path).await.text().await.unwrap();
    assert!(page.contains("data-status=\"published\""), "{page}");
    assert!(page.contains("data-action=\"published\""));
    let (_, all) = t.get(None, "/api/v1/announcements?region=JP").await;
    assert_eq!(all, json!([]), "starts in 2030");
}
both!(the_desk_form_explains_what_it_refuses);
