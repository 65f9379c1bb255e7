//! Every account page in every language, at desktop and phone width: each
//! must fit its width (nothing wider than the window, so nothing hides off
//! to the side) and carry no English where the language has its own words.
//! The screenshots of the tour are left under
//! `target/browser-screenshots/account_pages_in_<lang>/`.

use crate::chromium::Browser;
use crate::support::{Db, TestApp};
use serde_json::json;

const PASSWORD: &str = "plum blossom 2026";

/// (width, height, name) of the windows the tour looks through.
const WINDOWS: [(u32, u32, &str); 2] = [(1280, 900, "desktop"), (390, 844, "phone")];

/// Words only the English pages have: one on a page in another language
/// means a message fell back to English.
const ENGLISH_ONLY: [&str; 4] = ["Sign in", "password", "Create account", "code"];

/// The pages a signed-out person meets, with what to call their screenshot.
fn signed_out_pages(identifier: &str, until: i64) -> Vec<(String, &'static str)> {
    let id = identifier.replace('@', "%40");
    vec![
        ("/".into(), "landing"),
        ("/signin".into(), "signin"),
        ("/signup".into(), "signup"),
        (format!("/verify?identifier={id}"), "verify"),
        ("/forgot".into(), "forgot"),
        ("/support".into(), "support"),
        ("/help".into(), "help"),
        ("/announcements".into(), "announcements"),
        (format!("/reset?identifier={id}"), "reset"),
        (
            format!("/locked?identifier={id}&kind=temporary&until={until}"),
            "locked",
        ),
        (
            format!("/locked?identifier={id}&kind=support"),
            "locked-support",
        ),
    ]
}

/// Fails when a page in another language than English says a word only
/// the English pages have: a message fell back to English.
async fn in_own_words(b: &Browser, name: &str, lang: &str) {
    if lang == "en" {
        return;
    }
    let text = b.body_text().await;
    for word in ENGLISH_ONLY {
        assert!(
            !text.contains(word),
            "{name} in {lang} says {word:?}: {text}"
        );
    }
}

/// Fails when the page is wider than the window: something overflows.
async fn fits(b: &Browser, page: &str, window: &str) {
    let widths = b
        .client()
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .expect("widths");
    let scroll = widths[0].as_u64().unwrap_or(0);
    let client = widths[1].as_u64().unwrap_or(0);
    if scroll <= client {
        return;
    }
    // Name the innermost elements that reach past the window, so the
    // failure says what to fix.
    let culprits = b
        .client()
        .execute(
            "const w = document.documentElement.clientWidth;
             const past = [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > w + 1);
             return past
               .filter(e => ![...e.children].some(c => past.includes(c)))
               .slice(0, 5)
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.className && e.className.baseVal === undefined ? '.' + e.className : '')
                 + ' ' + Math.round(e.getBoundingClientRect().right) + 'px');",
            vec![],
        )
        .await
        .expect("culprits");
    panic!("{page} at {window} width is {scroll}px wide in a {client}px window: {culprits}");
}

async fn tour(lang: &str) {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start(&format!("account_pages_in_{lang}"), lang, &t.base).await
    else {
        return;
    };
    let email = "tour@example.com";
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": email, "password": PASSWORD, "locale": lang }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let code = t.latest_code(email).await;
    let (status, _) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": email, "code": code }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let until = koban::store::now_ms() + 15 * 60_000;
    for (width, height, window) in WINDOWS {
        b.client()
            .set_window_size(width, height)
            .await
            .expect("window size");
        for (path, name) in signed_out_pages(email, until) {
            b.goto(&path).await;
            b.find(&format!("html[lang=\"{lang}\"]")).await;
            fits(&b, name, window).await;
            in_own_words(&b, name, lang).await;
            b.shot(&format!("{window}-{name}")).await;
        }
        b.goto("/signin").await;
        b.sign_in(email, PASSWORD).await;
        b.on_page("account").await;
        for (path, name) in [
            ("/account", "account"),
            ("/account/secure", "secure"),
            ("/support", "support-signed-in"),
            ("/support/tickets", "support-tickets"),
            ("/account/privacy", "privacy"),
        ] {
            b.goto(path).await;
            fits(&b, name, window).await;
            b.shot(&format!("{window}-{name}")).await;
        }
        b.click("#nav-sign-out").await;
        b.on_page("signin").await;
    }
    desk_tour(&t, &mut b, lang, email).await;
    org_tour(&t, &mut b, lang).await;
    b.close().await;
}

/// The agent console's pages, with a ticket, a canned response and a macro
/// to show, at both widths.
async fn desk_tour(t: &TestApp, b: &mut Browser, lang: &str, requester: &str) {
    let admin = t.staff("desk-admin@example.com", "admin").await;
    let agent = "desk-agent@example.com";
    t.staff(agent, "agent").await;
    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "Login locked", "body": "locked after a new phone", "email": requester }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{opened}");
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let (status, _) = t
        .post_as(
            &admin,
            "/api/v1/desk/canned-responses",
            json!({ "name": "hello", "bodies": { lang: "{{requester.name}} {{ticket.reference}}" } }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let (status, _) = t
        .post_as(
            &admin,
            "/api/v1/desk/macros",
            json!({ "name": "solve", "status": "solved", "tag": "done" }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    for (width, height, window) in WINDOWS {
        b.client()
            .set_window_size(width, height)
            .await
            .expect("window size");
        b.goto("/signin").await;
        b.sign_in(agent, "staff password 1").await;
        b.on_page("account").await;
        for (path, name) in [
            ("/desk".to_string(), "desk-queue"),
            (format!("/desk/tickets/{reference}"), "desk-ticket"),
            ("/desk/canned".to_string(), "desk-canned"),
            ("/desk/macros".to_string(), "desk-macros"),
        ] {
            b.goto(&path).await;
            b.on_page(name).await;
            fits(b, name, window).await;
            in_own_words(b, name, lang).await;
            b.shot(&format!("{window}-{name}")).await;
        }
        b.click("#nav-sign-out").await;
        b.on_page("signin").await;
    }
    staff_tour(b, lang, "desk-admin@example.com").await;
}

/// The pages of supervisors and desk administrators (reports, the help
/// center's editor, announcements), at both widths.
async fn staff_tour(b: &mut Browser, lang: &str, admin: &str) {
    for (width, height, window) in WINDOWS {
        b.client()
            .set_window_size(width, height)
            .await
            .expect("window size");
        b.goto("/signin").await;
        b.sign_in(admin, "staff password 1").await;
        b.on_page("account").await;
        for (path, name) in [
            ("/desk/reports", "desk-reports"),
            ("/desk/reports/satisfaction", "desk-survey-report"),
            ("/help/edit", "help-edit"),
            ("/desk/announcements", "desk-announcements"),
        ] {
            b.goto(path).await;
            b.on_page(name).await;
            fits(b, name, window).await;
            in_own_words(b, name, lang).await;
            b.shot(&format!("{window}-{name}")).await;
        }
        b.click("#nav-sign-out").await;
        b.on_page("signin").await;
    }
}

/// The organization console's pages as an owner whose organization has
/// a second member, a pending invitation and an access review under way,
/// at both widths.
async fn org_tour(t: &TestApp, b: &mut Browser, lang: &str) {
    let owner_email = "org-owner@example.com";
    let owner = t.signed_up_in(owner_email, PASSWORD, Some(lang)).await;
    let (status, created) = t
        .post_as(&owner, "/api/v1/orgs", json!({ "name": "Koban Trading" }))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    let org = created["organization"]["id"].as_i64().expect("id");
    for (contact, roles) in [
        ("tour-member@example.com", ["auditor"]),
        ("tour-invited@example.com", ["member"]),
    ] {
        let (status, body) = t
            .post_as(
                &owner,
                &format!("/api/v1/orgs/{org}/invites"),
                json!({ "contact": contact, "roles": roles }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    }
    let body = t
        .newest_delivery_of("org_invite", "tour-member@example.com")
        .await;
    let token = body
        .split("/invites/")
        .nth(1)
        .and_then(|rest| rest.split(char::is_whitespace).next())
        .expect("a link in the invitation")
        .to_string();
    let joined = t.signed_up("tour-member@example.com", PASSWORD).await;
    let (status, body) = t
        .post_as(&joined, "/api/v1/invites/accept", json!({ "token": token }))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (status, body) = t
        .post_as(
            &owner,
            &format!("/api/v1/orgs/{org}/access-reviews"),
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let pages: Vec<(String, &str)> = [
        ("/orgs".to_string(), "orgs"),
        (format!("/orgs/{org}"), "org-overview"),
        (format!("/orgs/{org}/members"), "org-members"),
        (format!("/orgs/{org}/roles"), "org-roles"),
        (format!("/orgs/{org}/policy"), "org-policy"),
        (format!("/orgs/{org}/devices"), "org-devices"),
        (format!("/orgs/{org}/onboarding"), "org-onboarding"),
        (format!("/orgs/{org}/audit"), "org-audit"),
        (format!("/orgs/{org}/access"), "org-access"),
        (format!("/orgs/{org}/domains"), "org-domains"),
        (format!("/orgs/{org}/support"), "org-support"),
    ]
    .into_iter()
    .collect();
    for (width, height, window) in WINDOWS {
        b.client()
            .set_window_size(width, height)
            .await
            .expect("window size");
        b.goto("/signin").await;
        b.sign_in(owner_email, PASSWORD).await;
        b.on_page("account").await;
        for (path, name) in &pages {
            b.goto(path).await;
            b.on_page(name).await;
            fits(b, name, window).await;
            in_own_words(b, name, lang).await;
            b.shot(&format!("{window}-{name}")).await;
        }
        b.click("#nav-sign-out").await;
        b.on_page("signin").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_english() {
    tour("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_simplified_chinese() {
    tour("zh-CN").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_traditional_chinese() {
    tour("zh-TW").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_japanese() {
    tour("ja").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_in_thai() {
    tour("th").await;
}
