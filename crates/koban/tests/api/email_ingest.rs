//! Inbound mail from the moment it is stored to the ticket it ends on:
//! threading by reply address, headers and subject, strangers kept off
//! other people's tickets, machines' mail kept without answering it,
//! duplicates stored once, floods held. Mails are handed to the channel
//! as the SMTP listener hands them (`inbound::accept`); the listener's own
//! tests speak SMTP to it.

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

async fn a_kept_mail_is_read_again_from_its_raw_copy(t: TestApp) {
    open_up_to_the_hourly_limit(&t, "busy@example.com", "k").await;
    let held = deliver(
        &t,
        DESK,
        &mail("busy@example.com", "n3", "k3@example.com", "", "the fourth"),
    )
    .await;
    assert_eq!(held.status, "held");
    // Mail on a ticket is never read again; nothing else waits in `review`.
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "opened", None)
            .await
            .expect("replay"),
        0
    );
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "review", None)
            .await
            .expect("replay"),
        0
    );
    // An hour later the sender is under the limit: the held mail, read
    // again, opens its ticket, and only once.
    t.exec("UPDATE email_inbound SET received_at = received_at - 7200000")
        .await;
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "held", None)
            .await
            .expect("replay"),
        1
    );
    eventually("the replayed mail to open a ticket", || async {
        let n = crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE status = 'opened'",
        )
        .await;
        (n == 4).then_some(())
    })
    .await;
    assert_eq!(t.count("desk_tickets").await, 4);
    assert_eq!(
        koban::channels::email::inbound::replay(&t.app, "held", None)
            .await
            .expect("replay"),
        0
    );
}
both!(
    a_kept_mail_is_read_again_from_its_raw_copy,
    super::configure
);

async fn raw_mail_is_kept_for_its_retention_then_dropped(t: TestApp) {
    let kept = deliver(
        &t,
        DESK,
        &mail("old@example.com", "old", "old1@example.com", "", "x"),
    )
    .await;
    assert_eq!(kept.status, "opened");
    let fresh = deliver(
        &t,
        DESK,
        &mail("new@example.com", "new", "new1@example.com", "", "y"),
    )
    .await;
    assert_eq!(fresh.status, "opened");
    // 31 days old against a retention of 30: its raw copy goes, its ticket stays.
    t.exec("UPDATE email_inbound SET received_at = received_at - 2678400000 WHERE message_id = 'old1@example.com'")
        .await;
    t.run_job_now("email.prune_raw").await;
    eventually("the old raw copy to be dropped", || async {
        let n = crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE raw_deflated IS NULL",
        )
        .await;
        (n == 1).then_some(())
    })
    .await;
    let kept_raw = crate::support::scalar(
        &t,
        "SELECT COUNT(*) FROM email_inbound WHERE message_id = 'new1@example.com' AND raw_deflated IS NOT NULL",
    )
    .await;
    assert_eq!(kept_raw, 1);
    assert_eq!(t.count("desk_tickets").await, 2);
}
both!(
    raw_mail_is_kept_for_its_retention_then_dropped,
    super::configure
);

/// A mail with a file that does not compress (its bytes from a simple
/// generator), `kib` KiB of it, as a client writes it: base64 in lines.
pub(crate) fn large_mail(message_id: &str, kib: usize) -> Vec<u8> {
    use base64::Engine;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..kib * 1024).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 32) as u8
    }));
    let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!(
        "From: big@example.com\r\nTo: {DESK}\r\nSubject: scan\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe scan is attached.\r\n\
         --b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// Mail `message_id`'s raw copy as stored: its row's piece and the others
/// in order, inflated; and how many pieces it has.
pub(crate) async fn stored_raw(t: &TestApp, message_id: &str) -> (Vec<u8>, i64) {
    let row = sqlx::query("SELECT id, raw_deflated FROM email_inbound WHERE message_id = $1")
        .bind(message_id)
        .fetch_one(t.app.store.read())
        .await
        .expect("inbound row");
    let id: i64 = row.get("id");
    let mut deflated: Vec<u8> = row.get("raw_deflated");
    let pieces =
        sqlx::query("SELECT bytes FROM email_inbound_chunks WHERE inbound_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(t.app.store.read())
            .await
            .expect("pieces");
    for piece in &pieces {
        deflated.extend_from_slice(&piece.get::<Vec<u8>, _>("bytes"));
    }
    let raw = koban::channels::email::inbound::inflate(&deflated, 64 << 20).expect("inflates");
    (raw, 1 + pieces.len() as i64)
}

/// A mail with neither subject nor text opens a ticket named "no subject"
/// in the language its charset says it was written in.
async fn a_mail_with_nothing_to_name_it_is_named_in_its_language(t: TestApp) {
    let raw = format!(
        "From: quiet@example.jp\r\nTo: {DESK}\r\nSubject:\r\nMessage-ID: <quiet1@example.jp>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\r\n"
    );
    let placed = deliver(&t, DESK, raw.as_bytes()).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let subject: String = sqlx::query("SELECT subject FROM desk_tickets WHERE id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("ticket")
        .get("subject");
    assert_eq!(subject, "（件名なし）");
    let body: String = sqlx::query("SELECT body FROM desk_messages WHERE ticket_id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("message")
        .get("body");
    assert_eq!(body, "（本文なし）");
}
both!(
    a_mail_with_nothing_to_name_it_is_named_in_its_language,
    super::configure
);

/// A large mail is stored as pieces no larger than 256 KiB, read back
/// whole for its ticket, and its pieces go with its raw copy.
async fn a_large_mail_is_stored_in_pieces_and_read_back_whole(t: TestApp) {
    let raw = large_mail("big1@example.com", 900);
    let placed = deliver(&t, DESK, &raw).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let (stored, pieces) = stored_raw(&t, "big1@example.com").await;
    assert!(stored == raw, "stored byte for byte");
    assert!(
        pieces >= 4,
        "900 KiB that does not compress is 4 pieces or more: {pieces}"
    );
    let largest = crate::support::scalar(
        &t,
        "SELECT COALESCE(MAX(LENGTH(bytes)), 0) FROM email_inbound_chunks",
    )
    .await;
    assert!(largest <= 256 * 1024, "{largest}");
    let file = sqlx::query("SELECT file_name, size FROM desk_attachments WHERE ticket_id = $1")
        .bind(placed.ticket_id.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("the file is on the ticket");
    assert_eq!(file.get::<String, _>("file_name"), "scan.pdf");
    assert_eq!(file.get::<i64, _>("size"), 900 * 1024 + 9);

    t.exec("UPDATE email_inbound SET received_at = received_at - 2678400000")
        .await;
    t.run_job_now("email.prune_raw").await;
    eventually("the pieces to go with the raw copy", || async {
        let n = crate::support::scalar(&t, "SELECT COUNT(*) FROM email_inbound_chunks").await;
        (n == 0).then_some(())
    })
    .await;
    assert_eq!(
        crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM email_inbound WHERE raw_deflated IS NULL"
        )
        .await,
        1
    );
}
both!(
    a_large_mail_is_stored_in_pieces_and_read_back_whole,
    super::configure
);

/// A log of about 600 KiB sent as it is (7bit), as Thunderbird sends an
/// `application/octet-stream` file: taken out of the mail before it is
/// parsed, and on the ticket byte for byte, its last line break included.
async fn a_large_7bit_log_reaches_the_ticket_byte_for_byte(t: TestApp) {
    use sha2::Digest;
    let log: String = (0..12_000)
        .map(|i| {
            format!(
                "2026-01-01 10:00:{:02} INFO worker {i}: job -- done\r\n",
                i % 60
            )
        })
        .collect();
    let raw = format!(
        "From: big@example.com\r\nTo: {DESK}\r\nSubject: log\r\nMessage-ID: <log1@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log is attached.\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"app.log\"\r\n\
         Content-Disposition: attachment; filename=\"app.log\"\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{log}\r\n--b--\r\n"
    );
    let placed = deliver(&t, DESK, raw.as_bytes()).await;
    assert_eq!(placed.status, "opened", "{placed:?}");
    let file =
        sqlx::query("SELECT file_name, size, blob_key FROM desk_attachments WHERE ticket_id = $1")
            .bind(placed.ticket_id.expect("a ticket"))
            .fetch_one(t.app.store.read())
            .await
            .expect("the file is on the ticket");
    assert_eq!(file.get::<String, _>("file_name"), "app.log");
    assert_eq!(file.get::<i64, _>("size"), log.len() as i64);
    // Blobs are named by their bytes' SHA-256.
    assert_eq!(
        file.get::<String, _>("blob_key"),
        hex::encode(sha2::Sha256::digest(log.as_bytes()))
    );
}
both!(
    a_large_7bit_log_reaches_the_ticket_byte_for_byte,
    super::configure
);

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
