//! What a relay and the mail system say about a mail: a forged sender
//! marked only on a trusted relay's word, and a bounce that fails the
//! delivery it returns and tells the agent.

use super::{configure, deliver, mail, DESK};
use crate::support::{eventually, TestApp};
use sqlx::Row;

fn configure_trusted_relay(c: &mut koban::config::Config) {
    configure(c);
    c.email_trusted_authserv_ids = "mx.desk.example".into();
}

async fn a_forged_sender_is_marked_only_on_a_trusted_relays_word(t: TestApp) {
    let forged = deliver(
        &t,
        DESK,
        &mail(
            "ceo@example.com",
            "urgent transfer",
            "f1@example.net",
            "Authentication-Results: mx.desk.example; spf=fail smtp.mailfrom=example.com; dkim=none\r\n",
            "please reset my two-factor",
        ),
    )
    .await;
    assert_eq!(forged.status, "opened");
    assert_eq!(forged.detail["spoofed"], true);
    // Anyone can write the header: a relay not trusted is not believed.
    let claimed = deliver(
        &t,
        DESK,
        &mail(
            "cfo@example.com",
            "hello",
            "f2@example.net",
            "Authentication-Results: evil.example; spf=fail\r\n",
            "hi",
        ),
    )
    .await;
    assert_eq!(claimed.detail["spoofed"], false);
    let marked = |id: i64| {
        let t = &t;
        async move {
            crate::support::scalar(
                t,
                &format!("SELECT COUNT(*) FROM desk_events WHERE ticket_id = {id} AND kind = 'email_authentication_failed'"),
            )
            .await
        }
    };
    assert_eq!(marked(forged.ticket_id.expect("ticket")).await, 1);
    assert_eq!(marked(claimed.ticket_id.expect("ticket")).await, 0);
}
both!(
    a_forged_sender_is_marked_only_on_a_trusted_relays_word,
    super::configure_trusted_relay
);

async fn delivery_status(t: &TestApp, delivery: i64) -> (String, String) {
    let row =
        sqlx::query("SELECT status, COALESCE(error, '') AS error FROM deliveries WHERE id = $1")
            .bind(delivery)
            .fetch_one(t.app.store.read())
            .await
            .expect("delivery");
    (row.get("status"), row.get("error"))
}

fn dsn(recipient: &str, returned_id: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.jp>\r\nTo: {DESK}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{message_id}>\r\nAuto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{returned_id}>\r\nSubject: Re: help\r\n--r--\r\n"
    )
    .into_bytes()
}

async fn a_bounce_fails_the_delivery_and_tells_the_agent(t: TestApp) {
    let opened = deliver(
        &t,
        DESK,
        &mail("Taro@example.jp", "help", "b-open@example.jp", "", "please"),
    )
    .await;
    let ticket = opened.ticket_id.expect("ticket");
    // The acknowledgement went out (the development outbox records it sent).
    let (delivery, message_id): (i64, String) = eventually("the acknowledgement", || async {
        let row = sqlx::query(
            "SELECT d.id, m.external_id FROM deliveries d JOIN desk_channel_messages m
               ON m.ticket_id = $1 AND m.direction = 'out'
             WHERE d.destination = 'taro@example.jp' AND d.status = 'sent' ORDER BY d.id DESC",
        )
        .bind(ticket)
        .fetch_optional(t.app.store.read())
        .await
        .expect("query")?;
        Some((row.get("id"), row.get("external_id")))
    })
    .await;
    assert_eq!(
        message_id,
        format!("koban-delivery-{delivery}@desk.example")
    );

    // A forged bounce for another address changes nothing.
    let forged = deliver(
        &t,
        DESK,
        &dsn("someone@else.example", &message_id, "dsn-0@mx.example.jp"),
    )
    .await;
    assert_eq!(forged.status, "bounce");
    assert_eq!(delivery_status(&t, delivery).await.0, "sent");

    let bounced = deliver(
        &t,
        DESK,
        &dsn("taro@example.jp", &message_id, "dsn-1@mx.example.jp"),
    )
    .await;
    assert_eq!(bounced.status, "bounce");
    let (state, error) = delivery_status(&t, delivery).await;
    assert_eq!(state, "failed");
    assert!(
        error.contains("5.1.1") && error.contains("User unknown"),
        "{error}"
    );
    let events = crate::support::scalar(
        &t,
        &format!("SELECT COUNT(*) FROM desk_events WHERE ticket_id = {ticket} AND kind = 'email_bounced'"),
    )
    .await;
    assert_eq!(events, 1);
    assert_eq!(
        t.count("desk_tickets").await,
        1,
        "a bounce never opens a ticket"
    );
}
both!(
    a_bounce_fails_the_delivery_and_tells_the_agent,
    super::configure
);
