//! A supervisor publishes a maintenance announcement in Thai and Japanese
//! from the desk's pages; a Thai reader sees it in the banner on the
//! sign-in page and on /announcements, dismisses it, and it stays
//! dismissed — in a real headless Chromium.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a_maintenance_announcement_reaches_a_thai_reader() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("announcements", "th", &t.base).await else {
        return;
    };
    t.staff("sup@example.com", "supervisor").await;

    b.goto("/signin").await;
    b.sign_in("sup@example.com", "staff password 1").await;
    b.goto("/desk/announcements").await;
    b.on_page("desk-announcements").await;
    b.fill("#title_th", "ปิดปรับปรุงระบบคืนนี้ 02:00–04:00").await;
    b.fill("#body_th", "ระหว่างนี้จะส่งข้อความ**ไม่ได้**").await;
    b.fill("#title_ja", "今夜 2:00〜4:00 にメンテナンスを行います")
        .await;
    b.fill("#body_ja", "この間はメッセージを送信できません。")
        .await;
    b.fill("#regions", "").await;
    b.shot("new-announcement").await;
    b.click("#create-submit").await;
    b.on_page("desk-announcement").await;
    assert!(!b.text("#notice").await.is_empty());
    b.click("#publish").await;
    b.on_page("desk-announcement").await;
    assert_eq!(
        b.attr("#announcement-status", "data-status")
            .await
            .as_deref(),
        Some("published")
    );
    b.shot("published").await;
    b.click("#nav-sign-out").await;

    // A Thai reader, signed out: the banner on the sign-in page.
    b.goto("/signin").await;
    b.on_page("signin").await;
    let banner = b.text("#announcement-banner").await;
    assert!(banner.contains("ปิดปรับปรุงระบบคืนนี้"), "{banner}");
    assert!(
        banner.contains("ปิดปรับปรุงระบบ"),
        "the kind in Thai: {banner}"
    );
    b.shot("banner-signin").await;

    b.goto("/announcements").await;
    b.on_page("announcements").await;
    assert!(b.text("#current").await.contains("ปิดปรับปรุงระบบคืนนี้"));
    assert!(b.has("#announcement-banner").await);
    b.shot("announcements").await;

    b.click(".announcement-banner-item button[type=submit]")
        .await;
    b.on_page("announcements").await;
    assert!(!b.has("#announcement-banner").await, "dismissed");
    assert!(
        b.text("#current").await.contains("ปิดปรับปรุงระบบคืนนี้"),
        "still listed"
    );
    b.goto("/signin").await;
    b.on_page("signin").await;
    assert!(!b.has("#announcement-banner").await, "stays dismissed");
    b.shot("dismissed").await;
    b.close().await;
}
