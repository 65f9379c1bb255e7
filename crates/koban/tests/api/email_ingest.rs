//! Inbound mail from the moment it is stored to the ticket it ends on:
//! threading by reply address, headers and subject, strangers kept off
//! other people's tickets, machines' mail kept without answering it,
//! duplicates stored once, floods held; the raw copy in `raw.rs`, what
//! relays and bounces say in `bounces.rs`. Mails are handed to the channel
//! as the SMTP listener hands them (`inbound::accept`); the listener's own
//! tests speak SMTP to it.

mod bounces;
pub(crate) mod raw;

use crate::support::{eventually, TestApp};
use koban::channels::email::inbound::{accept, Accepted, Envelope};
use serde_json::Value;
use sqlx::Row;

const DESK: &str = "support@desk.example";

fn configure(c: &mut koban::config::Config) {
    c.email_addresses = format!("{DESK}, security@desk.example=security");
    c.email_sender_limit_per_hour = 3;
}

fn configure_review(c: &mut koban::config::Config) {
    configure(c);
    c.email_unknown_sender = "review".into();
}

/// A mail as a simple client writes it, with extra header lines.
fn mail(from: &str, subject: &str, message_id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn envelope(recipient: &str) -> Envelope {
    Envelope {
        source: "smtp".into(),
        mail_from: String::new(),
        recipients: vec![recipient.to_string()],
    }
}

/// Hands `raw` to the channel and waits for its ingest; the stored row.
async fn deliver(t: &TestApp, recipient: &str, raw: &[u8]) -> Inbound {
    let Accepted::Stored(id) = accept(&t.app, &envelope(recipient), raw)
        .await
        .expect("accept")
    else {
        panic!("stored as a duplicate");
    };
    eventually("the mail to be ingested", || async {
        let row = inbound(t, id).await;
        (row.status != "received").then_some(row)
    })
    .await
}

#[derive(Debug)]
struct Inbound {
    status: String,
    ticket_id: Option<i64>,
    detail: Value,
}

async fn inbound(t: &TestApp, id: i64) -> Inbound {
    let row = sqlx::query("SELECT status, ticket_id, detail FROM email_inbound WHERE id = $1")
        .bind(id)
        .fetch_one(t.app.store.read())
        .await
        .expect("inbound row");
    let detail: String = row.get("detail");
    Inbound {
        status: row.get("status"),
        ticket_id: row.get("ticket_id"),
        detail: serde_json::from_str(&detail).expect("detail is JSON"),
    }
}

async fn ticket(t: &TestApp, id: i64) -> (String, String, String, String, i64) {
    let row = sqlx::query(
        "SELECT reference, channel, language, COALESCE(team, '') AS team,
            (SELECT COUNT(*) FROM desk_messages m WHERE m.ticket_id = t.id) AS messages
         FROM desk_tickets t WHERE id = $1",
    )
    .bind(id)
    .fetch_one(t.app.store.read())
    .await
    .expect("ticket");
    (
        row.get("reference"),
        row.get("channel"),
        row.get("language"),
        row.get("team"),
        row.get("messages"),
    )
}

/// Three mails from `sender` (`<prefix><n>@example.com`), each opening a
/// ticket: the hourly limit of `configure`.
async fn open_up_to_the_hourly_limit(t: &TestApp, sender: &str, prefix: &str) {
    for i in 0..3 {
        let id = format!("{prefix}{i}@example.com");
        let opened = deliver(t, DESK, &mail(sender, &format!("n{i}"), &id, "", "x")).await;
        assert_eq!(opened.status, "opened");
    }
}

async fn a_reply_joins_its_ticket_by_every_clue_and_only_from_its_people(t: TestApp) {
    let first = deliver(
        &t,
        DESK,
        &mail(
            "Yamada Taro <Taro@example.jp>",
            "ログインできません",
            "m1@example.jp",
            "",
            "新しい端末でログインすると、端末の上限に達したと表示されます。",
        ),
    )
    .await;
    assert_eq!(first.status, "opened", "{first:?}");
    let ticket_id = first.ticket_id.expect("a ticket");
    let (reference, channel, language, _, messages) = ticket(&t, ticket_id).await;
    assert_eq!(
        (channel.as_str(), language.as_str(), messages),
        ("email", "ja", 1)
    );

    // The same mail again (a resend): stored once.
    let again = accept(
        &t.app,
        &envelope(DESK),
        &mail(
            "taro@example.jp",
            "ログインできません",
            "m1@example.jp",
            "",
            "again",
        ),
    )
    .await
    .expect("accept");
    assert_eq!(again, Accepted::Duplicate);

    // In-Reply-To naming the first mail, from the requester: joins.
    let reply = deliver(
        &t,
        DESK,
        &mail(
            "taro@example.jp",
            "Re: ログイン",
            "m2@example.jp",
            "In-Reply-To: <m1@example.jp>\r\n",
            "追記です",
        ),
    )
    .await;
    assert_eq!(
        (reply.status.as_str(), reply.ticket_id),
        ("joined", Some(ticket_id))
    );
    assert_eq!(reply.detail["clue"], "in_reply_to");
    // Only References (Apple Mail's rewrite keeps an older id), a new subject: joins.
    let reply = deliver(
        &t,
        DESK,
        &mail(
            "TARO@example.jp",
            "別件ではありません",
            "m3@example.jp",
            "References: <x@elsewhere> <m2@example.jp>\r\n",
            "まだです",
        ),
    )
    .await;
    assert_eq!(
        (reply.status.as_str(), reply.ticket_id),
        ("joined", Some(ticket_id))
    );
    // The reference in the subject, check digit valid: joins.
    let formatted = format!(
        "{}-{}-{}",
        &reference[..4],
        &reference[4..8],
        &reference[8..]
    );
    let reply = deliver(
        &t,
        DESK,
        &mail(
            "taro@example.jp",
            &format!("Re: [#{formatted}]"),
            "m4@example.jp",
            "",
            "携帯から",
        ),
    )
    .await;
    assert_eq!(
        (reply.status.as_str(), reply.ticket_id),
        ("joined", Some(ticket_id))
    );
    assert_eq!(ticket(&t, ticket_id).await.4, 4);

    // A stranger with the same subject and headers: a ticket of their own,
    // linked to the other, which they never see.
    let stranger = deliver(
        &t,
        DESK,
        &mail(
            "mallory@example.net",
            &format!("Re: [#{formatted}]"),
            "s1@example.net",
            "In-Reply-To: <m1@example.jp>\r\n",
            "let me in",
        ),
    )
    .await;
    assert_eq!(stranger.status, "opened", "{stranger:?}");
    assert_ne!(stranger.ticket_id, Some(ticket_id));
    assert_eq!(stranger.detail["related"], ticket_id);
    assert_eq!(
        ticket(&t, ticket_id).await.4,
        4,
        "nothing joined the requester's ticket"
    );
    let linked = sqlx::query(
        "SELECT COUNT(*) AS n FROM desk_events WHERE kind = 'email_linked' AND ticket_id IN ($1, $2)",
    )
    .bind(ticket_id)
    .bind(stranger.ticket_id.expect("stranger's ticket"))
    .fetch_one(t.app.store.read())
    .await
    .expect("events");
    assert_eq!(linked.get::<i64, _>("n"), 2);

    // The ticket's own reply address is proof on its own: a colleague the
    // requester forwarded Koban's mail to joins.
    let token = koban::channels::email::reply_token(&t.app, &reference);
    let colleague = deliver(
        &t,
        &format!("support+{token}@desk.example"),
        &mail("hanako@example.jp", "Fwd", "c1@example.jp", "", "同僚です"),
    )
    .await;
    assert_eq!(
        (colleague.status.as_str(), colleague.ticket_id),
        ("joined", Some(ticket_id))
    );
    // Once on the conversation, they take part: their header reply joins too.
    let colleague = deliver(
        &t,
        DESK,
        &mail(
            "hanako@example.jp",
            "Re",
            "c2@example.jp",
            "In-Reply-To: <c1@example.jp>\r\n",
            "補足",
        ),
    )
    .await;
    assert_eq!(colleague.ticket_id, Some(ticket_id));
    // A forged token (another ticket's MAC) points nowhere.
    let forged = format!("{reference}.0000000000000000");
    let nowhere = deliver(
        &t,
        &format!("support+{forged}@desk.example"),
        &mail("eve@example.net", "hi", "e1@example.net", "", "hello"),
    )
    .await;
    assert_eq!(nowhere.status, "opened");
    assert_ne!(nowhere.ticket_id, Some(ticket_id));
    assert!(nowhere.detail["related"].is_null(), "{nowhere:?}");
}
both!(
    a_reply_joins_its_ticket_by_every_clue_and_only_from_its_people,
    super::configure
);

async fn a_strangers_mail_waits_for_review_when_so_configured(t: TestApp) {
    let first = deliver(
        &t,
        DESK,
        &mail("a@example.com", "help", "r1@example.com", "", "my code"),
    )
    .await;
    let stranger = deliver(
        &t,
        DESK,
        &mail(
            "b@example.com",
            "Re: help",
            "r2@example.com",
            "In-Reply-To: <r1@example.com>\r\n",
            "me too",
        ),
    )
    .await;
    assert_eq!(stranger.status, "review");
    assert_eq!(stranger.ticket_id, None);
    assert_eq!(stranger.detail["related"], first.ticket_id.expect("ticket"));
}
both!(
    a_strangers_mail_waits_for_review_when_so_configured,
    super::configure_review
);

async fn machines_are_never_answered_and_floods_are_held(t: TestApp) {
    let tickets_before = t.count("desk_tickets").await;
    let auto = deliver(
        &t,
        DESK,
        &mail(
            "boss@example.com",
            "Out of office",
            "o1@example.com",
            "Auto-Submitted: auto-replied\r\n",
            "I am away",
        ),
    )
    .await;
    assert_eq!(auto.status, "automatic");
    let list = deliver(
        &t,
        DESK,
        &mail(
            "news@example.com",
            "Weekly",
            "l1@example.com",
            "List-Id: <news.example.com>\r\nPrecedence: bulk\r\n",
            "news",
        ),
    )
    .await;
    assert_eq!(list.status, "automatic");
    let bounce = deliver(
        &t,
        DESK,
        &mail(
            "MAILER-DAEMON@mx.example.com",
            "Undelivered Mail",
            "b1@mx.example.com",
            "",
            "could not deliver",
        ),
    )
    .await;
    assert_eq!(bounce.status, "bounce");
    assert_eq!(
        t.count("desk_tickets").await,
        tickets_before,
        "no machine opened a ticket"
    );

    // Three tickets an hour from one sender; the fourth is held, not lost.
    open_up_to_the_hourly_limit(&t, "flood@example.com", "f").await;
    let held = deliver(
        &t,
        DESK,
        &mail("flood@example.com", "n4", "f4@example.com", "", "x"),
    )
    .await;
    assert_eq!(held.status, "held");
    assert_eq!(t.count("desk_tickets").await, tickets_before + 3);
}
both!(
    machines_are_never_answered_and_floods_are_held,
    super::configure
);

async fn the_address_written_to_picks_the_team(t: TestApp) {
    let admin = t.staff("lead@example.com", "admin").await;
    let (status, body) = t
        .post_as(
            &admin,
            "/api/v1/desk/admin/teams",
            serde_json::json!({ "slug": "security", "name": "Security", "categories": ["device_security"], "calendar_id": 1 }),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let opened = deliver(
        &t,
        "Security@Desk.Example",
        &mail(
            "c@example.com",
            "question",
            "t1@example.com",
            "",
            "I forgot my password",
        ),
    )
    .await;
    assert_eq!(opened.status, "opened");
    assert_eq!(
        ticket(&t, opened.ticket_id.expect("ticket")).await.3,
        "security"
    );
}
both!(the_address_written_to_picks_the_team, super::configure);
