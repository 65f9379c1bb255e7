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
