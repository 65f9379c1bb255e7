//! A signed-in requester, reading Thai, opens a request on `/support`,
//! finds it under "my requests", sees when to expect an answer and
//! escalates it once: an empty reason is refused and changes nothing, a
//! reason raises the priority, and the form is gone after; a second tab
//! still showing the form is refused.

use super::requester::send_request;
use super::*;

/// Whether `text` is written in Thai (not a message key or English).
fn thai(text: &str) -> bool {
    text.chars().any(|c| ('\u{0e01}'..='\u{0e5b}').contains(&c))
}

/// The ticket's priority, as stored.
async fn priority_of(t: &TestApp, reference: &str) -> String {
    use sqlx::Row;
    let row = sqlx::query("SELECT priority FROM desk_tickets WHERE reference = $1")
        .bind(reference.replace('-', ""))
        .fetch_one(t.app.store.read())
        .await
        .expect("the ticket");
    row.try_get("priority").expect("priority")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_requester_escalates_their_request_once() {
    let t = TestApp::start(Db::Sqlite, |_| {}).await;
    let Some(mut b) = Browser::start("escalate", "th-TH", &t.base).await else {
        return;
    };
    let owner = "somchai@example.co.th";
    // Signed up from a Thai phone: the account's own language is Thai.
    t.signed_up_in(owner, PASSWORD, Some("th")).await;
    b.goto("/signin").await;
    b.on_page("signin").await;
    b.sign_in(owner, PASSWORD).await;
    b.on_page("account").await;
    b.find("html[lang=\"th\"]").await;

    b.click("#nav-support").await;
    let subject = "เปลี่ยนชื่อที่แสดงในโปรไฟล์ไม่ได้";
    let body = "ลองเปลี่ยนชื่อในหน้าตั้งค่าแล้ว แต่กดบันทึกแล้วชื่อเดิมกลับมาทุกครั้ง";
    let reference = send_request(&mut b, subject, body, None).await;

    // "My requests" lists it; its page says when an answer is due.
    b.goto("/support").await;
    b.on_page("support").await;
    b.click("#my-requests").await;
    b.on_page("support-tickets").await;
    let link = format!("#tickets a.ticket-link[href=\"/support/tickets/{reference}\"]");
    assert!(b.text(&link).await.contains(subject));
    b.shot("my-requests").await;
    b.click(&link).await;
    b.on_page("support-ticket").await;
    assert_eq!(b.text("#ticket-reference").await, reference);
    let due = b.attr("#ticket-expected time", "datetime").await;
    assert!(
        due.as_deref()
            .is_some_and(|d| d.parse::<jiff::Timestamp>().is_ok()),
        "an instant to expect a reply by: {due:?}"
    );
    assert!(!b.text("#ticket-expected").await.trim().is_empty());
    assert!(!b.has("#ticket-escalated").await);
    let before = priority_of(&t, &reference).await;
    assert_eq!(before, "normal", "nothing urgent was said");
    b.shot("ticket").await;

    // A second tab on the same page, left open with the form.
    let first = b.client().window().await.expect("this tab");
    let second = b.client().new_window(true).await.expect("a second tab");
    b.client()
        .switch_to_window(second.handle.clone())
        .await
        .expect("to the second tab");
    b.goto(&format!("/support/tickets/{reference}")).await;
    b.on_page("support-ticket").await;
    b.find("#escalate-form").await;
    b.client()
        .switch_to_window(first)
        .await
        .expect("back to the first tab");

    // Without a reason: refused next to the field, in Thai, nothing changed.
    b.fill("#reason", "   ").await;
    b.click("#escalate-submit").await;
    b.on_page("support-ticket").await;
    let error = b.text("#reason-error").await;
    assert!(thai(&error), "{error}");
    // The refused field has the focus, so the page scrolls to it.
    let focused = b.script("return document.activeElement.id").await;
    assert_eq!(focused, "reason");
    b.find("#escalate-form").await;
    assert!(!b.has("#ticket-escalated").await);
    b.shot("reason-missing").await;
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 0);
    assert_eq!(priority_of(&t, &reference).await, before, "unchanged");

    let reason = "ต้องใช้ชื่อใหม่ในงานสัมมนาวันศุกร์นี้";
    b.fill("#reason", reason).await;
    b.click("#escalate-submit").await;
    b.on_page("support-ticket").await;
    let said = b.text("#ticket-escalated").await;
    assert!(thai(&said), "{said}");
    assert!(!b.has("#escalate-form").await, "one escalation only");
    b.shot("escalated").await;
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 1);
    assert_eq!(priority_of(&t, &reference).await, "high", "one step up");

    // The stale tab tries again: refused with words, the form gone.
    b.client()
        .switch_to_window(second.handle)
        .await
        .expect("to the second tab");
    b.fill("#reason", "ขอเร่งอีกครั้ง").await;
    b.click("#escalate-submit").await;
    b.on_page("support-ticket").await;
    let alert = b.text("#alert").await;
    assert!(thai(&alert), "{alert}");
    b.find("#ticket-escalated").await;
    assert!(!b.has("#escalate-form").await);
    b.shot("escalated-again").await;
    assert_eq!(t.count("desk_events WHERE kind = 'escalated'").await, 1);
    assert_eq!(priority_of(&t, &reference).await, "high", "once only");
    b.close().await;
}
