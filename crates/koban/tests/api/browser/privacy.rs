//! Privacy and data in Chromium, in Japanese: an export asked for, watched
//! until ready and downloaded; the account's deletion asked for after a
//! step-up, then cancelled by signing in again.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_privacy_in_japanese() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("privacy_in_japanese", "ja", &t.base).await else {
        return;
    };
    let email = "yuki@example.jp";
    t.signed_up_in(email, PASSWORD, Some("ja")).await;
    b.goto("/signin?next=/account/privacy").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("privacy").await;
    assert!(b.body_text().await.contains("プライバシーとデータ"));
    b.find("#no-exports").await;

    // The export: asked, prepared by the job, ready, downloaded.
    b.click("#ask-export").await;
    b.on_page("privacy").await;
    let status = b
        .text_with("#exports li .export-status", "ダウンロードできます")
        .await;
    assert_eq!(status, "ダウンロードできます");
    b.shot("export-ready").await;
    let href = b
        .attr("#exports li .export-download", "href")
        .await
        .expect("a download link");
    assert!(href.contains("/account/privacy/exports/"), "{href}");
    let archive = b
        .script(&format!(
            "return await (await fetch({href:?}, {{ credentials: 'same-origin' }})).json();"
        ))
        .await;
    assert_eq!(archive["account"]["email"], email, "{archive}");

    // The deletion: a step-up first, then asked for.
    b.click("#ask-deletion").await;
    b.on_page("step-up").await;
    b.click("#step-up-send").await;
    b.find("#step-up-form").await;
    let code = t.latest_code(email).await;
    b.fill("#code", &code).await;
    b.click("#step-up-submit").await;
    b.on_page("privacy").await;
    b.click("#ask-deletion").await;
    b.on_page("privacy").await;
    let pending = b.text_with("#deletion-pending", "削除されます").await;
    assert!(pending.contains("削除されます"), "{pending}");
    b.shot("deletion-pending").await;

    // Signing in again during the grace period cancels it, and says so.
    b.click("#nav-sign-out").await;
    b.goto("/signin?next=/account/privacy").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("privacy").await;
    let cancelled = b
        .text_with("#deletion-cancelled-by-sign-in", "取り消しました")
        .await;
    assert!(cancelled.contains("ログインされたため"), "{cancelled}");
    b.find("#ask-deletion").await;
    b.shot("deletion-cancelled").await;
    assert_eq!(
        t.count("privacy_deletions WHERE status = 'cancelled' AND cancelled_by = 'sign_in'")
            .await,
        1
    );
    b.close().await;
}

/// A region whose tickets may not leave: the privacy page says so before
/// the person asks for the archive, and the satisfaction report says why
/// its CSV leaves that region's answers out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_withheld_tickets_are_said_before_asking() {
    let t = TestApp::start(Db::Sqlite, |c| {
        c.privacy_regional_rules = "JP: export_tickets=false".into();
    })
    .await;
    let Some(mut b) = Browser::start("privacy_withheld", "ja", &t.base).await else {
        return;
    };
    let email = "aoi@example.jp";
    t.signed_up_in(email, PASSWORD, Some("ja")).await;
    t.exec(&format!(
        "UPDATE accounts SET phone = '+81312345678' WHERE email = '{email}'"
    ))
    .await;
    let other = "lee@example.com";
    t.signed_up_in(other, PASSWORD, Some("ja")).await;
    t.staff("sato.supervisor@example.jp", "supervisor").await;

    b.goto("/signin?next=/account/privacy").await;
    b.on_page("signin").await;
    b.sign_in(email, PASSWORD).await;
    b.on_page("privacy").await;
    let note = b.text_with("#export-withheld", "JP").await;
    assert!(note.contains("エクスポートできません"), "{note}");
    b.find("#ask-export").await;
    b.shot("withheld-note").await;

    // Another region's account sees no such note.
    b.click("#nav-sign-out").await;
    b.goto("/signin?next=/account/privacy").await;
    b.on_page("signin").await;
    b.sign_in(other, PASSWORD).await;
    b.on_page("privacy").await;
    b.find("#no-exports").await;
    let absent = b
        .script("return document.querySelector('#export-withheld') === null;")
        .await;
    assert_eq!(absent, serde_json::Value::Bool(true));

    // The satisfaction report says its CSV leaves the region out.
    b.click("#nav-sign-out").await;
    b.goto("/signin?next=/desk/reports/satisfaction").await;
    b.on_page("signin").await;
    b.sign_in(
        "sato.supervisor@example.jp",
        crate::chromium::ADMIN_PASSWORD,
    )
    .await;
    b.on_page("desk-survey-report").await;
    let said = b.text_with("#survey-csv-withheld", "JP").await;
    assert!(said.contains("CSV"), "{said}");
    b.shot("survey-withheld-note").await;
    b.close().await;
}
