//! A supervisor reading Japanese opens the reports from the queue, picks
//! a range, sees the charts drawn on the server (no script draws them),
//! reads a figure from a bar's tooltip, and downloads a report as CSV; at
//! phone width the charts fit the screen.

use super::*;
use crate::chromium::{ADMIN_PASSWORD, DESKTOP, PHONE};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_supervisor_reads_reports_in_japanese_and_downloads_csv() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("reports", "ja-JP", &t.base).await else {
        return;
    };
    let lead = "lead@example.com";
    t.staff(lead, "supervisor").await;
    // Three tickets on 1 March 2026 (UTC), by web and email.
    for (i, channel) in ["web", "web", "email"].iter().enumerate() {
        let (status, opened) = t
            .post(
                "/api/v1/desk/tickets",
                json!({ "subject": format!("ログインできません {i}"), "body": "パスワードを入れても入れません",
                        "email": format!("user{i}@example.jp") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{opened}");
        let reference = opened["reference"]
            .as_str()
            .expect("reference")
            .replace('-', "");
        t.exec(&format!(
            "UPDATE desk_tickets SET created_at = {}, channel = '{channel}' WHERE reference = '{reference}'",
            1_772_330_400_000i64 + i as i64 * 60_000
        ))
        .await;
    }

    b.window(DESKTOP).await;
    b.goto("/signin?next=/desk").await;
    b.on_page("signin").await;
    b.sign_in(lead, ADMIN_PASSWORD).await;
    b.on_page("desk-queue").await;
    b.click("#nav-reports").await;
    b.on_page("desk-reports").await;
    b.find("html[lang=\"ja\"]").await;
    assert!(b.text("h1").await.contains("レポート"));
    b.shot("last-30-days").await;

    // A date input takes keys in the browser's own order; set the values.
    b.script(
        "document.getElementById('from').value = '2026-03-01';
         document.getElementById('to').value = '2026-03-07';
         return true",
    )
    .await;
    b.click("#report-apply").await;
    b.on_page("desk-reports").await;
    assert_eq!(
        b.attr("#from", "value").await.as_deref(),
        Some("2026-03-01")
    );
    assert!(b
        .text("#report-volume")
        .await
        .contains("3 件のチケットが作成されました。"));
    // One column per day; 1 March's tooltip says 3.
    let columns = b
        .script("return document.querySelectorAll('#chart-volume-day rect.bar').length")
        .await;
    assert_eq!(columns, json!(7));
    let tip = b
        .script("return document.querySelector('#chart-volume-day rect.bar title').textContent")
        .await;
    assert_eq!(tip, json!("2026-03-01: 3"));
    let channels = b.text("#table-volume-channel").await;
    assert!(
        channels.contains("Webフォーム") && channels.contains("メール"),
        "{channels}"
    );
    b.find("#chart-backlog polyline.line").await;
    b.shot("first-week-of-march").await;

    // The CSV link downloads the same figures.
    let href = b
        .attr("#csv-volume-channel", "href")
        .await
        .expect("a CSV link");
    assert!(href.starts_with("/desk/reports/volume.csv?"), "{href}");
    let csv = b
        .script(&format!("return fetch({href:?}).then(r => r.text())"))
        .await;
    let csv = csv
        .as_str()
        .expect("text")
        .trim_start_matches('\u{feff}')
        .to_string();
    assert_eq!(csv, "channel,tickets\r\nweb,2\r\nemail,1\r\n");

    // At phone width the charts fit the screen.
    b.window(PHONE).await;
    let wide = b
        .script("return document.getElementById('chart-volume-day').getBoundingClientRect().width <= window.innerWidth")
        .await;
    assert_eq!(wide, json!(true));
    let overflow = b
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(overflow, json!(true), "the page does not scroll sideways");
    b.shot("phone").await;
    b.close().await;
}
