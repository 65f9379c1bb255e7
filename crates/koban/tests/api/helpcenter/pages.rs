//! The help center's pages at the HTTP level: readers in their language
//! with the fallback note, votes through the form, editors through their
//! pages, CSRF, and script in titles and bodies never reaching a page.

use super::{article, category};
use crate::security_pages::{location, Pages};
use crate::support::{scalar, TestApp};
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

/// What must never appear in a page made from the payloads below.
const UNSAFE: &[&str] = &[
    "<script>alert",
    "<img src=x onerror",
    "<img src=\"x\" onerror",
    "<svg onload",
    "<svg/onload",
    "href=\"javascript:",
    "href=\"vbscript:",
    "<iframe",
    "<a href=\"data:",
    "<style>",
    "<form action=\"https://evil",
    "<div style=",
    "\"><script",
];

/// Script in every form people try.
const PAYLOADS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><input name=p></form>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "\"><script>alert(1)</script>",
];

async fn body_of(p: &mut Pages, path: &str) -> (StatusCode, String) {
    let response = p.get(path).await;
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn readers_pages_choose_the_language_and_say_when_they_fall_back(t: TestApp) {
    let editor = t.staff("editor@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Sign-in").await;
    let id = article(
        &t,
        &editor,
        cat,
        "ja",
        "パスワードを忘れた場合",
        "# 手順\n\n1. 再設定",
        true,
    )
    .await;
    let draft = article(&t, &editor, cat, "ja", "下書きの記事", "まだ", false).await;
    let mut p = Pages::new(&t).await;
    for (lang, note) in [("ja", false), ("zh-TW", true), ("en", true)] {
        let response = p
            .http
            .get(format!("{}/help/articles/{id}", p.base))
            .header(COOKIE, format!("{}; koban_lang={lang}", p.cookie_header()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1>手順</h1>"), "{html}");
        assert_eq!(html.contains("id=\"fallback-note\""), note, "{lang}");
        if lang == "zh-TW" {
            assert!(
                html.contains("本文尚無繁體中文版本，以下顯示日本語版本。"),
                "{html}"
            );
        }
    }
    let (status, html) = body_of(&mut p, "/help").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("パスワードを忘れた場合"), "{html}");
    assert!(!html.contains("下書きの記事"), "drafts never show");
    let (status, html) = body_of(&mut p, &format!("/help/categories/{cat}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"article-{id}\"")) && !html.contains("下書き"));
    let (status, html) = body_of(&mut p, "/help?q=パスワード").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"result-{id}\"")), "{html}");
    for path in [
        format!("/help/articles/{draft}"),
        "/help/articles/999999".into(),
        "/help/articles/abc".into(),
        "/help/categories/999999".into(),
        "/help/categories/x".into(),
    ] {
        let (status, _) = body_of(&mut p, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
both!(readers_pages_choose_the_language_and_say_when_they_fall_back);

async fn votes_through_the_page_need_the_csrf_token(t: TestApp) {
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
    let mut p = Pages::new(&t).await;
    let response = p
        .get(&format!("/help/articles/{id}/two-step-verification"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let vote = format!("/help/articles/{id}/vote");
    // No token, then a wrong one: refused, nothing counted.
    for token in [None, Some("wrong-token-0123456789")] {
        let mut form = vec![("helpful", "yes")];
        if let Some(token) = token {
            form.push(("csrf_token", token));
        }
        let response = p
            .http
            .post(format!("{}{vote}", p.base))
            .header(COOKIE, p.cookie_header())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_votes").await, 0);
    let response = p.post(&vote, &[("helpful", "yes")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/help/articles/{id}?voted=1#vote")
    );
    let response = p.post(&vote, &[("helpful", "no")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = body_of(&mut p, &format!("/help/articles/{id}?voted=1")).await;
    assert!(html.contains("id=\"vote-thanks\""));
    assert!(
        html.contains("id=\"vote-no\" aria-pressed=\"true\""),
        "{html}"
    );
    let response = p.post(&vote, &[("helpful", "maybe")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_votes").await, 1);
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM help_votes WHERE helpful = 0").await,
        1
    );
}
both!(votes_through_the_page_need_the_csrf_token);

async fn editors_work_through_their_pages(t: TestApp) {
    t.staff("editor@example.com", "supervisor").await;
    let mut p = Pages::new(&t).await;
    assert_eq!(
        p.sign_in("editor@example.com", "staff password 1")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A category with no name is refused on the page; then one is made.
    let response = p.post("/help/edit/categories", &[("name_en", " ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("id=\"names-error\""));
    let response = p
        .post(
            "/help/edit/categories",
            &[
                ("name_en", "Devices"),
                ("name_ja", "端末"),
                ("position", "2"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cat = scalar(&t, "SELECT MAX(id) FROM help_categories")
        .await
        .to_string();
    // An article: a blank title is refused with the text kept.
    let response = p
        .post(
            "/help/edit/articles",
            &[
                ("category_id", &cat),
                ("lang", "ja"),
                ("title", ""),
                ("body", "本文です"),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"title-error\"") && html.contains("本文です"),
        "{html}"
    );
    let response = p
        .post(
            "/help/edit/articles",
            &[
                ("category_id", &cat),
                ("lang", "ja"),
                ("title", "端末の登録"),
                ("body", "手順です。"),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = scalar(&t, "SELECT MAX(id) FROM help_articles").await;
    assert_eq!(
        location(&response),
        format!("/help/edit/articles/{id}?lang=ja")
    );
    let (status, _) = body_of(&mut p, &format!("/help/articles/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft");
    // Publish from the editor, then the page shows it with its counts.
    let save = format!("/help/edit/articles/{id}/versions/ja");
    let response = p
        .post(
            &save,
            &[
                ("title", "端末の登録"),
                ("body", "手順です。"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = body_of(&mut p, &format!("/help/articles/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = body_of(&mut p, &format!("/help/edit/articles/{id}?lang=ja")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-status=\"published\""), "{html}");
    assert!(html.contains("id=\"article-stats\""));
    let (status, html) = body_of(&mut p, "/help/edit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("id=\"article-row-{id}\""))
            && html.contains("<td class=\"stat-views\">1</td>"),
        "{html}"
    );
    // A too long body is refused, the draft untouched.
    let long = "x".repeat(100_001);
    let response = p
        .post(
            &save,
            &[
                ("title", "端末の登録"),
                ("body", &long),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A revision, restored from its page.
    let first = scalar(
        &t,
        &format!("SELECT MIN(id) FROM help_revisions WHERE article_id = {id}"),
    )
    .await;
    let (status, html) = body_of(&mut p, &format!("{save}/revisions/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"revision-restore\""));
    let response = p
        .post(&format!("{save}/revisions/{first}/restore"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM help_revisions WHERE action = 'restored'"
        )
        .await,
        1
    );
    // Unpublish, then delete: gone for readers.
    let response = p.post(&format!("{save}/unpublish"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = body_of(&mut p, &format!("/help/articles/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = p
        .post(&format!("/help/edit/articles/{id}/delete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, _) = body_of(&mut p, &format!("/help/edit/articles/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Forms without the CSRF token change nothing.
    let categories = t.count("help_categories").await;
    let response = p
        .http
        .post(format!("{}/help/edit/categories", p.base))
        .header(COOKIE, p.cookie_header())
        .form(&[("name_en", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.count("help_categories").await, categories);
}
both!(editors_work_through_their_pages);

async fn script_in_titles_and_bodies_never_reaches_a_page(t: TestApp) {
    let editor = t.staff("editor@example.com", "admin").await;
    let (status, body) = t
        .post_as(
            &editor,
            "/api/v1/help/categories",
            json!({ "names": { "en": PAYLOADS[0], "ja": PAYLOADS[1] } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cat = body["id"].as_i64().unwrap();
    let mut ids = vec![];
    for payload in PAYLOADS {
        let title = format!("{payload} code");
        let body = format!("{payload}\n\nverification code {payload}");
        ids.push(article(&t, &editor, cat, "en", &title, &body, true).await);
    }
    let mut p = Pages::new(&t).await;
    assert_eq!(
        p.sign_in("editor@example.com", "staff password 1")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let revision = scalar(&t, "SELECT MIN(id) FROM help_revisions").await;
    let mut pages = vec![
        "/help".to_string(),
        "/help?q=verification+code".into(),
        format!("/help/categories/{cat}"),
        "/help/edit".into(),
        format!(
            "/help/edit/articles/{}/versions/en/revisions/{revision}",
            ids[0]
        ),
    ];
    for id in &ids {
        pages.push(format!("/help/articles/{id}"));
        pages.push(format!("/help/edit/articles/{id}?lang=en"));
    }
    for path in &pages {
        let (status, html) = body_of(&mut p, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for bad in UNSAFE {
            assert!(!html.contains(bad), "{path} holds {bad}");
        }
    }
    // The support form's suggestions carry the titles too.
    let response = p
        .post(
            "/support",
            &[
                ("subject", "verification code"),
                ("body", "code"),
                ("check", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"suggestions\""), "{html}");
    for bad in UNSAFE {
        assert!(!html.contains(bad), "the support form holds {bad}");
    }
    // And the API's rendered HTML is sanitised the same way.
    for id in &ids {
        let (_, body) = t.get(None, &format!("/api/v1/help/articles/{id}")).await;
        let html = body["html"].as_str().unwrap();
        for bad in UNSAFE {
            assert!(!html.contains(bad), "{html}");
        }
    }
}
both!(script_in_titles_and_bodies_never_reaches_a_page);
