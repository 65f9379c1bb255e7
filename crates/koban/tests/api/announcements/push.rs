//! A security notice pushed to the security reminders of the accounts in
//! its regions, by a job that adds nobody twice.

use super::{now, published, PASSWORD};
use crate::support::{eventually, TestApp};
use reqwest::StatusCode;
use serde_json::json;

fn notice(regions: serde_json::Value) -> serde_json::Value {
    json!({
        "kind": "security",
        "texts": {
            "en": { "title": "Beware of fake sign-in pages", "body": "We never ask for your code." },
            "th": { "title": "ระวังหน้าเข้าสู่ระบบปลอม", "body": "เราไม่เคยขอรหัสของคุณ" }
        },
        "regions": regions,
        "starts_at": now() - 1_000,
    })
}

async fn reminders(t: &TestApp, token: &str) -> Vec<serde_json::Value> {
    let (status, body) = t.get(Some(token), "/api/v1/me/reminders").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "security_notice")
        .cloned()
        .collect()
}

async fn a_security_notice_reaches_the_reminders_of_the_accounts_it_concerns(t: TestApp) {
    let sup = t.staff("sup@example.com", "supervisor").await;
    let thai = t.signed_up_in("+66812345678", PASSWORD, Some("th")).await;
    let japanese = t.signed_up("+819012345678", PASSWORD).await;
    let id = published(&t, &sup, notice(json!(["TH"]))).await;
    assert!(reminders(&t, &thai).await.is_empty(), "not before the push");

    let (status, body) = t
        .post_as(&sup, &format!("/api/v1/announcements/{id}/push"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let got = eventually("the notice among the Thai account's reminders", || async {
        let r = reminders(&t, &thai).await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(got[0]["detail"], "ระวังหน้าเข้าสู่ระบบปลอม");
    assert_eq!(got[0]["link"], format!("/announcements/{id}"));
    assert!(
        reminders(&t, &japanese).await.is_empty(),
        "not in its regions"
    );

    // Run again, by the API and by the job itself: nobody twice.
    let recipients = t.count("announcement_recipients").await;
    assert_eq!(recipients, 1);
    assert_eq!(
        koban::announcements::push::push(&t.app, id).await.unwrap(),
        0
    );
    assert_eq!(t.count("announcement_recipients").await, 1);

    // The account page shows it; withdrawn, it is gone.
    let mut pages = crate::security_pages::Pages::new(&t).await;
    pages.sign_in("+66812345678", PASSWORD).await;
    let html = pages.get("/account").await.text().await.unwrap();
    assert!(html.contains("data-kind=\"security_notice\""), "{html}");
    assert!(html.contains("ระวังหน้าเข้าสู่ระบบปลอม"));
    let (status, _) = t
        .post_as(
            &sup,
            &format!("/api/v1/announcements/{id}/withdraw"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(reminders(&t, &thai).await.is_empty());
}
both!(a_security_notice_reaches_the_reminders_of_the_accounts_it_concerns);

async fn a_notice_for_everywhere_reaches_everyone(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let user = t.signed_up("user@example.com", PASSWORD).await;
    let id = published(&t, &admin, notice(json!([]))).await;
    assert!(koban::announcements::push::push(&t.app, id).await.unwrap() >= 2);
    assert_eq!(reminders(&t, &user).await.len(), 1);
    // Not mailed: the periodic reminders skip notices.
    t.run_job_now("security_reminders").await;
    assert_eq!(
        koban::announcements::push::push(&t.app, id).await.unwrap(),
        0
    );
}
both!(a_notice_for_everywhere_reaches_everyone);
