//! How an email's quoted history shows in the console: folded under a
//! label, while the stored message keeps every line the sender sent.

use crate::security_pages::Pages;
use crate::support::{eventually, TestApp};
use koban::channels::email::inbound::{accept, Accepted, Envelope};
use sqlx::Row;

const DESK: &str = "support@desk.example";

fn configure(c: &mut koban::config::Config) {
    c.email_addresses = DESK.into();
}

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/mail/{name}.eml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Delivers `raw` as the SMTP listener does; the ticket it opened.
async fn deliver(t: &TestApp, raw: &[u8]) -> (String, String) {
    let envelope = Envelope {
        source: "smtp".into(),
        mail_from: String::new(),
        recipients: vec![DESK.to_string()],
    };
    let Accepted::Stored(id) = accept(&t.app, &envelope, raw).await.expect("accept") else {
        panic!("stored as a duplicate");
    };
    let ticket: i64 = eventually("the mail to open a ticket", || async {
        sqlx::query("SELECT ticket_id FROM email_inbound WHERE id = $1")
            .bind(id)
            .fetch_one(t.app.store.read())
            .await
            .ok()
            .and_then(|r| r.get::<Option<i64>, _>("ticket_id"))
    })
    .await;
    let row = sqlx::query(
        "SELECT t.reference, m.body FROM desk_tickets t
         JOIN desk_messages m ON m.ticket_id = t.id WHERE t.id = $1",
    )
    .bind(ticket)
    .fetch_one(t.app.store.read())
    .await
    .expect("ticket");
    (row.get("reference"), row.get("body"))
}

async fn the_quoted_history_is_folded_and_kept(t: TestApp) {
    t.staff("reader@example.com", "agent").await;
    let mut p = Pages::new(&t).await;
    p.sign_in("reader@example.com", "staff password 1").await;
    for (file, new, quoted) in [
        ("gmail-alternative", "Still broken.", "Please try again."),
        (
            "outlook-reply",
            "It works now, thank you.",
            "-----Original Message-----",
        ),
        (
            "signature",
            "The CSV export fails with error 500.",
            "Acme Ltd.",
        ),
        (
            "iso-2022-jp",
            "ログインできません。",
            "パスワードを再設定してください。",
        ),
    ] {
        let (reference, stored) = deliver(&t, &sample(file)).await;
        assert!(
            stored.contains(new) && stored.contains(quoted),
            "{file}: the stored body is whole: {stored}"
        );
        let html = p
            .get(&format!("/desk/tickets/{reference}"))
            .await
            .text()
            .await
            .expect("page");
        let details = html
            .split_once(r#"<details class="message-quoted">"#)
            .unwrap_or_else(|| panic!("{file}: no folded history in {html}"))
            .1;
        let (folded, _) = details.split_once("</details>").expect("closed");
        assert!(folded.contains("Quoted text and signature"), "{folded}");
        assert!(folded.contains(&escaped(quoted)), "{file}: {folded}");
        let before = html
            .split(r#"<details class="message-quoted">"#)
            .next()
            .unwrap_or("");
        assert!(before.contains(new), "{file}");
        assert!(!before.contains(&escaped(quoted)), "{file}: shown unfolded");
    }
    // A mail with no history has nothing to fold.
    let (reference, _) = deliver(&t, &sample("big5")).await;
    let html = p
        .get(&format!("/desk/tickets/{reference}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(html.contains("我無法登入帳戶") && !html.contains("message-quoted"));
}
both!(the_quoted_history_is_folded_and_kept, super::configure);

/// What the template engine makes of text (`<` and `>` become entities).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
