//! A satisfaction survey in Chromium, in Japanese: a requester whose ticket
//! was solved opens the survey link from the mail in the outbox, signed
//! out, gives 5 with a comment and is thanked; a supervisor then sees the
//! answer in the satisfaction report.

use super::*;
use crate::chromium::{ADMIN_PASSWORD, WAIT};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_requester_rates_a_solved_ticket_in_japanese() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("survey_in_japanese", "ja", &t.base).await else {
        return;
    };
    let email = "haruka@example.jp";
    let requester = t.signed_up_in(email, PASSWORD, Some("ja")).await;
    let agent = t.staff("tanaka.agent@example.jp", "agent").await;
    t.staff(ADMIN, "admin").await;
    t.staff("sato.supervisor@example.jp", "supervisor").await;
    let (status, opened) = t
        .post_as(
            &requester,
            "/api/v1/desk/tickets",
            serde_json::json!({ "subject": "機種変更後にログインできない", "body": "新しいiPhoneで認証コードが届きません。" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = opened["reference"].as_str().expect("reference").to_string();
    let (status, solved) = t
        .send(
            t.http
                .patch(t.url(&format!("/api/v1/desk/tickets/{reference}")))
                .bearer_auth(&agent)
                .json(&serde_json::json!({ "claim": true, "status": "solved" })),
        )
        .await;
    assert!(status.is_success(), "{solved}");

    // The survey mail, read off the outbox as the administrator.
    b.goto("/signin?next=/admin/outbox").await;
    b.on_page("signin").await;
    b.sign_in(ADMIN, ADMIN_PASSWORD).await;
    b.on_page("outbox").await;
    let row = format!("tr.msg[data-to=\"{email}\"] pre.body");
    let deadline = Instant::now() + WAIT;
    let link = loop {
        if let Ok(body) = b.client().find(Locator::Css(&row)).await {
            if let Ok(text) = body.text().await {
                if let Some(at) = text.find("/support/surveys/") {
                    let path: String = text[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    break path;
                }
            }
        }
        assert!(Instant::now() < deadline, "no survey mail in the outbox");
        b.client().refresh().await.expect("reload");
        b.on_page("outbox").await;
    };
    b.shot("outbox").await;
    b.click("#nav-sign-out").await;
    b.on_page("signin").await;

    // Signed out, the link opens the survey, in Japanese.
    b.goto(&link).await;
    b.on_page("desk-survey").await;
    b.find("html[lang=\"ja\"]").await;
    assert!(b.body_text().await.contains("サポートの評価"));
    assert_eq!(b.text("#survey-reference").await, reference);
    b.shot("survey").await;
    // Sent without a score: said next to the scores, nothing recorded.
    b.click("#survey-send").await;
    b.on_page("desk-survey").await;
    b.find("#score-error").await;
    b.click("#score-5").await;
    b.fill(
        "#comment",
        "丁寧に対応していただき、すぐにログインできました。",
    )
    .await;
    b.click("#survey-send").await;
    b.on_page("desk-survey").await;
    let thanks = b.text("#survey-thanks").await;
    assert!(thanks.contains("ありがとうございました"), "{thanks}");
    assert!(b.text("#survey-answer").await.contains('5'));
    b.shot("thanks").await;

    // The supervisor sees it in the report.
    b.goto("/signin?next=/desk/reports/satisfaction").await;
    b.on_page("signin").await;
    b.sign_in("sato.supervisor@example.jp", ADMIN_PASSWORD)
        .await;
    b.on_page("desk-survey-report").await;
    let table = b.text("#survey-table").await;
    assert!(table.contains("tanaka.agent@example.jp"), "{table}");
    assert!(b.text("#survey-csat").await.contains("100"));
    b.find("#survey-distribution").await;
    b.shot("report").await;
    b.close().await;
}
