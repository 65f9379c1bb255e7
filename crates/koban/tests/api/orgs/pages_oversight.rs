//! The organization console's oversight pages at the HTTP level, on both
//! databases: the audit log (entries in words, filters, paging, the
//! chain's verification naming a changed entry, export links for those who
//! may export), the access review (report, schedule, start, decisions,
//! sign-off) and onboarding progress with the security notice editor.
//! Bad input is explained on the page and changes nothing; a member
//! without the permission gets 403; another organization gets 404; a
//! visitor goes to sign in.

use super::*;
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;

mod access;
mod onboarding;

async fn html(pages: &mut Pages, path: &str) -> (StatusCode, String) {
    let response = pages.get(path).await;
    (response.status(), response.text().await.expect("html"))
}

/// A custom role with `permissions`, made by `owner`; returns its key.
async fn custom_role(
    t: &TestApp,
    owner: &str,
    org: i64,
    name: &str,
    permissions: &[&str],
) -> String {
    let (status, role) = t
        .post_as(
            owner,
            &format!("/api/v1/orgs/{org}/roles"),
            json!({ "name": name, "permissions": permissions }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    role["key"].as_str().expect("key").to_string()
}

/// An attribute's text as the browser reads it.
fn unescaped(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn entries_in(t: &TestApp, org: i64) -> i64 {
    t.count(&format!("audit_entries WHERE scope = 'org:{org}'"))
        .await
}

async fn the_audit_log_page_shows_entries_in_words_and_its_verification(t: TestApp) {
    let owner = t.signed_up("ap-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Audited").await;
    let watcher_role = custom_role(&t, &owner, org, "Watcher", &["audit.read"]).await;
    member(&t, &owner, org, "ap-watcher@example.com", &[&watcher_role]).await;
    member(&t, &owner, org, "ap-plain@example.com", &["member"]).await;
    let path = format!("/orgs/{org}/audit");

    // The owner: every entry in words, newest first, the chain intact.
    let mut owner_pages = pages_of(&t, "ap-owner@example.com").await;
    let (status, page) = html(&mut owner_pages, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let count = entries_in(&t, org).await;
    assert!(
        page.contains(&format!(
            "The chain is intact: {count} entries checked, none changed, removed or reordered."
        )),
        "{page}"
    );
    assert!(page.contains("Created the organization"), "{page}");
    assert!(page.contains("Joined the organization"), "{page}");
    assert!(page.contains("Created a custom role"), "{page}");
    assert!(!page.contains(">member.joined<"), "codes are not shown");
    let first = page.find("data-seq=\"1\"").expect("entry 1");
    let last = page.find(&format!("data-seq=\"{count}\"")).expect("newest");
    assert!(last < first, "newest first");
    assert!(page.contains("id=\"export-csv\""), "the owner may export");

    // Filtered by action; the export links carry the filter.
    let (status, page) = html(&mut owner_pages, &format!("{path}?action=member.joined")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("class=\"entry\"").count(), 2, "{page}");
    assert!(
        page.contains("action=member.joined"),
        "export of the filtered entries"
    );
    // By actor: the owner did everything but join twice.
    let owner_id = account_id(&t, &owner).await;
    let (_, page) = html(
        &mut owner_pages,
        &format!("{path}?actor=account:{owner_id}"),
    )
    .await;
    let by_owner = t
        .count(&format!(
            "audit_entries WHERE scope = 'org:{org}' AND actor = 'account:{owner_id}'"
        ))
        .await;
    assert_eq!(page.matches("class=\"entry\"").count() as i64, by_owner);
    // About the organization itself.
    let (_, page) = html(&mut owner_pages, &format!("{path}?target=org:{org}")).await;
    let about_org = t
        .count(&format!(
            "audit_entries WHERE scope = 'org:{org}' AND target = 'org:{org}'"
        ))
        .await;
    assert!(about_org > 0);
    assert_eq!(page.matches("class=\"entry\"").count() as i64, about_org);
    // A time range: today holds everything, the year 2000 nothing.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let (_, page) = html(&mut owner_pages, &format!("{path}?from={today}&to={today}")).await;
    assert_eq!(page.matches("class=\"entry\"").count() as i64, count);
    let (_, page) = html(
        &mut owner_pages,
        &format!("{path}?from=2000-01-01&to=2000-01-02"),
    )
    .await;
    assert!(page.contains("No entries match these filters."), "{page}");

    // Paging: 25 a page, the older ones behind a link.
    for n in 0..25 {
        let (status, _) = put(
            &t,
            &owner,
            &format!("/api/v1/orgs/{org}/access-review-schedule"),
            json!({ "every_days": 30 + n }),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (_, page) = html(&mut owner_pages, &path).await;
    assert_eq!(page.matches("class=\"entry\"").count(), 25);
    let older = page
        .split("id=\"audit-older\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|rest| rest.split('"').next())
        .map(unescaped)
        .expect("a link to older entries");
    let (status, page) = html(&mut owner_pages, &older).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("data-seq=\"1\""),
        "the oldest on the second page"
    );

    // Bad filters are explained and nothing is listed.
    for (query, reason) in [
        ("from=2026-02-30", "This value is not allowed."),
        (
            "from=2026-03-02&to=2026-02-28",
            "This value is not allowed.",
        ),
        ("cursor=nonsense", "This value is not allowed."),
        (
            &format!("actor={}", "x".repeat(201)) as &str,
            "This value is not allowed.",
        ),
    ] {
        let (status, page) = html(&mut owner_pages, &format!("{path}?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.contains(reason), "{query}: {page}");
        assert!(!page.contains("class=\"entry\""), "{query}");
    }

    // The export link works with the session cookie, and is recorded.
    let before = entries_in(&t, org).await;
    let response = owner_pages
        .get(&format!("/api/v1/orgs/{org}/audit/export?format=csv"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .expect("csv")
        .contains("organization.created"));
    assert_eq!(entries_in(&t, org).await, before + 1);

    // A member who may read but not export: no export links.
    let mut watcher = pages_of(&t, "ap-watcher@example.com").await;
    let (status, page) = html(&mut watcher, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Exported the audit log"), "{page}");
    assert!(!page.contains("id=\"export-csv\""), "{page}");
    assert!(!page.contains("/audit/export"), "{page}");

    // Someone edits an entry in the database: the page names it.
    let guard_off = match t.app.store.backend() {
        koban::store::Backend::Sqlite => "DROP TRIGGER audit_entries_no_update",
        koban::store::Backend::Postgres => {
            "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_guard"
        }
    };
    t.exec(guard_off).await;
    t.exec(&format!(
        "UPDATE audit_entries SET action = 'member.left' WHERE scope = 'org:{org}' AND seq = 3"
    ))
    .await;
    let (status, page) = html(&mut watcher, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-intact=\"no\""), "{page}");
    assert!(
        page.contains("Entry 3 was changed after it was recorded."),
        "{page}"
    );
    // An action this build has no words for is shown as its code.
    t.exec(&format!(
        "UPDATE audit_entries SET action = 'mystery.code' WHERE scope = 'org:{org}' AND seq = 4"
    ))
    .await;
    let (_, page) = html(&mut watcher, &format!("{path}?action=mystery.code")).await;
    assert_eq!(page.matches("class=\"entry\"").count(), 1, "{page}");
    assert!(
        page.contains("<td class=\"entry-action\">mystery.code"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"mystery.code\" selected>mystery.code</option>"),
        "the filter shows what it filters by"
    );
}
both!(the_audit_log_page_shows_entries_in_words_and_its_verification);

async fn the_audit_log_page_is_closed_to_others(t: TestApp) {
    let owner = t.signed_up("ac-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Closed").await;
    member(&t, &owner, org, "ac-plain@example.com", &["member"]).await;
    let rival = t.signed_up("ac-rival@example.com", PASSWORD).await;
    new_org(&t, &rival, "Rival").await;
    let path = format!("/orgs/{org}/audit");

    let mut plain = pages_of(&t, "ac-plain@example.com").await;
    let (status, page) = html(&mut plain, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("audit.read"), "the permission named: {page}");

    let mut rival_pages = pages_of(&t, "ac-rival@example.com").await;
    let (status, _) = html(&mut rival_pages, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = html(&mut rival_pages, "/orgs/999999/audit").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut visitor = Pages::new(&t).await;
    let response = visitor.get(&path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin"));
    let entries = scalar(
        &t,
        &format!("SELECT COUNT(*) FROM audit_entries WHERE scope = 'org:{org}'"),
    )
    .await;
    assert!(entries > 0);
}
both!(the_audit_log_page_is_closed_to_others);

/// A form post's status and the page it shows (after one 303).
async fn posted(pages: &mut Pages, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = pages.post(path, form).await;
    page_after(pages, response).await
}
