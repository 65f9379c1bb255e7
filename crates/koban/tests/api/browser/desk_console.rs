//! The agent console in a real headless Chromium: an agent opens the
//! queue, opens a ticket whose subject and requester name are XSS
//! payloads, replies with a canned response, and changes the status. No
//! dialog may open on any page (the payloads stay text).

use super::*;
use crate::chromium::{ADMIN_PASSWORD, DESKTOP, PHONE};
use serde_json::json;

/// Fails when a dialog (`alert`, `confirm`, `prompt`) is open: a payload ran.
async fn no_dialog(b: &Browser, page: &str) {
    if let Ok(text) = b.client().get_alert_text().await {
        panic!("{page}: a dialog opened: {text:?}");
    }
}

async fn select(b: &Browser, css: &str, value: &str) {
    b.on_element(css, "select", |el| async move {
        el.select_by_value(value).await
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_replies_with_a_canned_response_and_changes_status() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("desk_console", "en-US", &t.base).await else {
        return;
    };
    let admin = t.staff(ADMIN, "admin").await;
    let agent = "agent@example.com";
    t.staff(agent, "agent").await;
    let (status, canned) = t
        .post_as(
            &admin,
            "/api/v1/desk/canned-responses",
            json!({ "name": "We are looking", "bodies": {
                "en": "Hello {{requester.name}}, we are looking into {{ticket.reference}}." } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{canned}");
    let subject = "<script>alert(1)</script> cannot sign in";
    let name = "\"><img src=x onerror=alert(1)>";
    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": subject, "body": "<svg onload=alert(1)> locked out",
                    "email": "requester@example.com", "name": name }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = opened["reference"].as_str().expect("reference").to_string();

    b.goto("/signin?next=/desk").await;
    b.on_page("signin").await;
    b.sign_in(agent, ADMIN_PASSWORD).await;
    b.on_page("desk-queue").await;
    no_dialog(&b, "queue").await;
    let row = format!("tr[data-reference=\"{reference}\"]");
    assert!(
        b.text(&row).await.contains(subject),
        "the subject shows as text"
    );
    b.shot("queue").await;

    b.click(&format!("{row} a.ticket-link")).await;
    b.on_page("desk-ticket").await;
    no_dialog(&b, "ticket").await;
    assert_eq!(b.text("#ticket-subject").await, subject);
    b.shot("ticket").await;

    // The canned response, filled for this ticket, lands in the composer.
    b.click("#canned-insert").await;
    b.on_page("desk-ticket").await;
    let draft = b
        .script("return document.getElementById('body').value;")
        .await;
    let draft = draft.as_str().unwrap_or_default().to_string();
    assert_eq!(
        draft,
        format!("Hello {name}, we are looking into {reference}.")
    );
    no_dialog(&b, "ticket with the canned response").await;
    select(&b, "#status_after", "pending").await;
    b.shot("composer").await;
    b.click("#reply-submit").await;
    b.find("#notice").await;
    no_dialog(&b, "after the reply").await;
    assert_eq!(
        b.attr("#ticket-status", "data-status").await.as_deref(),
        Some("pending")
    );
    assert!(b
        .text("#conversation")
        .await
        .contains("we are looking into"));

    // The status changed from the fields panel.
    select(&b, "#status", "solved").await;
    b.click("#fields-submit").await;
    b.find("#notice").await;
    assert_eq!(
        b.attr("#ticket-status", "data-status").await.as_deref(),
        Some("solved")
    );
    // On a phone the page still fits.
    b.window(PHONE).await;
    b.shot("solved-phone").await;
    let widths = b
        .script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        )
        .await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "the ticket page overflows a phone: {widths}"
    );
    b.window(DESKTOP).await;
    b.goto("/desk?view=all").await;
    b.on_page("desk-queue").await;
    no_dialog(&b, "queue again").await;
    b.shot("queue-after").await;
    assert_eq!(t.count("desk_tickets WHERE status = 'solved'").await, 1);
    b.close().await;
}
