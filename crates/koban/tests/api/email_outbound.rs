//! What the desk mails out, as a real SMTP server (aiosmtpd) receives it:
//! an agent's reply carries its files as MIME attachments (names in
//! Japanese and Thai, the bytes as stored); files over the per-mail cap
//! are left out, the mail says so in the requester's language and the
//! agent is told on the ticket. A permanent bounce marks the requester's
//! address: the agent is warned on the ticket (API and console page),
//! automatic notices to it are held and written to the delivery log, the
//! agent's own reply still goes, and a mail from the address clears it.

use crate::email_case3::Mailbox;
use crate::support::{eventually, TestApp};
use koban::channels::email::inbound::{accept, Accepted, Envelope};
use koban::web::i18n::{t as say, Lang};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const DESK: &str = "support@desk.example";
const USER: &str = "taro@example.jp";

/// Mail goes out live to `sink`, with at most `cap` bytes of files a mail.
fn configure(sink: u16, cap: u64) -> impl FnOnce(&mut koban::config::Config) {
    move |c| {
        c.email_addresses = DESK.into();
        c.delivery_mode = "live".into();
        c.smtp_host = "127.0.0.1".into();
        c.smtp_port = sink;
        c.smtp_tls = "none".into();
        c.email_attachments_max_bytes = cap;
    }
}

/// A scenario on both databases, each with its own sink.
macro_rules! with_sink {
    ($scenario:ident, $cap:expr) => {
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("dir");
                let Some(sink) = Mailbox::start(dir.path()).await else {
                    return;
                };
                let t =
                    TestApp::start(crate::support::Db::Sqlite, configure(sink.port, $cap)).await;
                super::$scenario(t, sink).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let dir = tempfile::tempdir().expect("dir");
                let Some(sink) = Mailbox::start(dir.path()).await else {
                    return;
                };
                let Some(t) = TestApp::start_if_postgres(configure(sink.port, $cap)).await else {
                    return;
                };
                super::$scenario(t, sink).await;
            }
        }
    };
}

fn mail(subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Yamada Taro <{USER}>\r\nTo: {DESK}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Fri, 04 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Hands `raw` to the channel as the listener does; waits for its ingest.
async fn deliver(t: &TestApp, raw: &[u8]) -> (String, Option<i64>) {
    let envelope = Envelope {
        source: "smtp".into(),
        mail_from: String::new(),
        recipients: vec![DESK.to_string()],
    };
    let Accepted::Stored(id) = accept(&t.app, &envelope, raw).await.expect("accept") else {
        panic!("stored as a duplicate");
    };
    eventually("the mail to be ingested", || async {
        let row = sqlx::query("SELECT status, ticket_id FROM email_inbound WHERE id = $1")
            .bind(id)
            .fetch_one(t.app.store.read())
            .await
            .expect("inbound row");
        let status: String = row.get("status");
        (status != "received").then(|| (status, row.get("ticket_id")))
    })
    .await
}

/// Opens a ticket by mail from the user; its reference (digits).
async fn ticket_by_mail(t: &TestApp, agent: &str, message_id: &str) -> String {
    let (status, ticket) = deliver(
        t,
        &mail(
            "添付ファイルを送ってください",
            message_id,
            "ログインの記録を見せていただけますか。よろしくお願いします。",
        ),
    )
    .await;
    assert_eq!(status, "opened");
    let id = ticket.expect("a ticket");
    let reference: String = sqlx::query("SELECT reference FROM desk_tickets WHERE id = $1")
        .bind(id)
        .fetch_one(t.app.store.read())
        .await
        .expect("ticket")
        .get("reference");
    let (status, view) = t
        .get(Some(agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["language"], "ja", "{view}");
    reference
}

/// The first mail the sink received whose text contains `words`, parsed.
async fn mail_saying(sink: &Mailbox, words: &str) -> Vec<u8> {
    eventually(&format!("a mail saying {words}"), || async {
        sink.all().into_iter().find(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .is_some_and(|m| m.body_text(0).is_some_and(|b| b.contains(words)))
        })
    })
    .await
}

fn png(width: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, 20, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

/// Uploads a file as the agent; its token.
async fn upload(t: &TestApp, agent: &str, name: &str, bytes: Vec<u8>) -> String {
    let (status, uploaded) =
        crate::desk_attachments::upload(t, Some(agent), name, bytes, "attachment").await;
    assert_eq!(status, StatusCode::CREATED, "{uploaded}");
    uploaded["token"].as_str().expect("token").to_string()
}

/// The stored bytes of each file on the ticket, by name.
async fn stored_files(t: &TestApp, agent: &str, reference: &str) -> Vec<(String, Vec<u8>)> {
    let base = format!("/api/v1/desk/tickets/{reference}/attachments");
    let (_, listed) = t.get(Some(agent), &base).await;
    let mut files = Vec::new();
    for file in listed.as_array().expect("files") {
        let id = file["id"].as_i64().expect("id");
        let bytes = t
            .http
            .get(t.url(&format!("{base}/{id}")))
            .bearer_auth(agent)
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("bytes");
        let name = file["file_name"].as_str().expect("name").to_string();
        files.push((name, bytes.to_vec()));
    }
    files
}

async fn reply(t: &TestApp, agent: &str, reference: &str, body: &str, files: Vec<String>) {
    let (status, answer) = t
        .post_as(
            agent,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": body, "public": true, "attachments": files }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn an_agents_reply_carries_its_files_as_attachments(t: TestApp, sink: Mailbox) {
    let agent = t.staff("agent@example.com", "agent").await;
    let reference = ticket_by_mail(&t, &agent, "files-1@example.jp").await;
    let log = "2026-12-04 10:00 ログイン失敗 / เข้าสู่ระบบไม่สำเร็จ\n".repeat(50);
    let files = vec![
        upload(&t, &agent, "ログイン画面のスクリーンショット.png", png(40)).await,
        upload(&t, &agent, "บันทึกการเข้าสู่ระบบ.txt", log.clone().into_bytes()).await,
        upload(
            &t,
            &agent,
            "plain-name.log",
            b"line one\nline two\n".to_vec(),
        )
        .await,
    ];
    reply(
        &t,
        &agent,
        &reference,
        "記録を添付します。ご確認ください。",
        files,
    )
    .await;

    let raw = mail_saying(&sink, "記録を添付します").await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("mail");
    assert_eq!(parsed.in_reply_to().as_text(), Some("files-1@example.jp"));
    let stored = stored_files(&t, &agent, &reference).await;
    assert_eq!(stored.len(), 3);
    assert_eq!(
        parsed.attachment_count(),
        3,
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let wanted_types = [("image", "png"), ("text", "plain"), ("text", "plain")];
    for (i, (name, bytes)) in stored.iter().enumerate() {
        let part = parsed.attachment(i as u32).expect("attachment");
        assert_eq!(part.attachment_name(), Some(name.as_str()));
        assert_eq!(part.contents(), &bytes[..], "{name}");
        let kind = part.content_type().expect("content type");
        assert_eq!(
            (kind.ctype(), kind.subtype()),
            (wanted_types[i].0, Some(wanted_types[i].1))
        );
        assert!(
            part.content_disposition()
                .is_some_and(|d| d.is_attachment()),
            "{name}"
        );
    }
    assert_eq!(stored[1].1, log.as_bytes(), "a text file is stored as sent");
    // Both the plain text and the HTML part are still there, and the
    // delivery row keeps references, not bytes.
    assert!(parsed.body_html(0).is_some());
    let (status, deliveries) = t
        .get(
            Some(&agent),
            &format!("/api/v1/deliveries?destination={USER}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let sent = deliveries["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["purpose"] == "desk_replied")
        .expect("the reply's delivery")
        .clone();
    assert_eq!(sent["status"], "sent", "{sent}");
    let kept: String = sqlx::query("SELECT mail_attachments FROM deliveries WHERE id = $1")
        .bind(sent["id"].as_i64().expect("id"))
        .fetch_one(t.app.store.read())
        .await
        .expect("delivery")
        .get("mail_attachments");
    assert!(kept.len() < 1000, "{kept}");
    assert!(kept.contains("บันทึกการเข้าสู่ระบบ.txt"), "{kept}");
}
with_sink!(
    an_agents_reply_carries_its_files_as_attachments,
    20 * 1024 * 1024
);

async fn files_over_the_cap_are_left_out_and_both_sides_are_told(t: TestApp, sink: Mailbox) {
    let agent = t.staff("agent@example.com", "agent").await;
    let reference = ticket_by_mail(&t, &agent, "cap-1@example.jp").await;
    let big = "大きなログの行です。\n".repeat(200); // 6,000 bytes
    let small = b"small log\n".repeat(30); // 300 bytes
    let files = vec![
        upload(&t, &agent, "大きなログ.txt", big.into_bytes()).await,
        upload(&t, &agent, "small.txt", small.clone()).await,
    ];
    reply(&t, &agent, &reference, "二つのファイルを送ります。", files).await;

    let raw = mail_saying(&sink, "二つのファイルを送ります").await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("mail");
    assert_eq!(parsed.attachment_count(), 1);
    let part = parsed.attachment(0).expect("attachment");
    assert_eq!(part.attachment_name(), Some("small.txt"));
    assert_eq!(part.contents(), &small[..]);
    // The note, in the requester's language, names the file and has no link.
    let note = say(
        Lang::Ja,
        "desk-replied-files-left-out",
        &[("files", "大きなログ.txt".into())],
    );
    assert!(!note.contains("http"), "{note}");
    let text = parsed.body_text(0).expect("text").to_string();
    assert!(text.contains(&note), "{text}");

    // The agent reads it on the ticket.
    let (_, view) = t
        .get(Some(&agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    let event = view["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "email_files_left_out")
        .expect("the event")
        .clone();
    assert_eq!(
        event["detail"]["files"],
        json!(["大きなログ.txt"]),
        "{event}"
    );
    assert_eq!(event["detail"]["limit_bytes"], 4096, "{event}");
}
with_sink!(
    files_over_the_cap_are_left_out_and_both_sides_are_told,
    4096
);

/// A permanent bounce (RFC 3464) of the mail `returned_id`.
fn dsn(returned_id: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.jp>\r\nTo: {DESK}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{message_id}>\r\nAuto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n\r\n\
         Final-Recipient: rfc822; {USER}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{USER}>: Recipient address rejected: User unknown\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{returned_id}>\r\nSubject: Re: help\r\n--r--\r\n"
    )
    .into_bytes()
}

/// The user's deliveries of `purpose`, newest first.
async fn deliveries(t: &TestApp, agent: &str, purpose: &str) -> Vec<Value> {
    let (status, page) = t
        .get(
            Some(agent),
            &format!("/api/v1/deliveries?destination={USER}&limit=100"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|d| d["purpose"] == purpose)
        .cloned()
        .collect()
}

async fn a_bounced_address_warns_the_agent_and_holds_automatic_notices(t: TestApp, sink: Mailbox) {
    let agent = t.staff("agent@example.com", "agent").await;
    let mut pages = crate::security_pages::Pages::new(&t).await;
    let signed_in = pages.sign_in("agent@example.com", "staff password 1").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let reference = ticket_by_mail(&t, &agent, "bounce-1@example.jp").await;
    // The acknowledgement reached the user's server; then it bounces.
    let ack = eventually("the acknowledgement to be sent", || async {
        deliveries(&t, &agent, "desk_received")
            .await
            .into_iter()
            .find(|d| d["status"] == "sent")
    })
    .await;
    let ack_id = ack["id"].as_i64().expect("id");
    let ack_raw = mail_saying(&sink, "受付番号").await;
    let ack_mail = mail_parser::MessageParser::default()
        .parse(&ack_raw)
        .expect("mail");
    let returned = ack_mail.message_id().expect("message id").to_string();
    let (status, _) = deliver(&t, &dsn(&returned, "dsn-1@mx.example.jp")).await;
    assert_eq!(status, "bounce");

    // The ticket tells the agent: the API view and the console page.
    let base = format!("/api/v1/desk/tickets/{reference}");
    let (_, view) = t.get(Some(&agent), &base).await;
    let bounce = &view["requester_bounce"];
    assert_eq!(bounce["address"], USER, "{view}");
    assert_eq!(bounce["status"], "5.1.1", "{view}");
    assert_eq!(bounce["delivery_id"], ack_id, "{view}");
    assert!(
        bounce["reason"]
            .as_str()
            .is_some_and(|r| r.contains("User unknown")),
        "{view}"
    );
    assert!(bounce["bounced_at"].as_i64().is_some(), "{view}");
    let formatted = format!(
        "{}-{}-{}",
        &reference[..4],
        &reference[4..8],
        &reference[8..]
    );
    let page = pages.get(&format!("/desk/tickets/{formatted}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let warning = html
        .split("id=\"address-bounced\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("no warning in {html}"));
    assert!(
        warning.contains(USER) && warning.contains("User unknown"),
        "{warning}"
    );
    assert!(warning.contains("bounced on"), "{warning}");
    // In the agent's language.
    let html = pages
        .http
        .get(t.url(&format!("/desk/tickets/{formatted}")))
        .header(
            reqwest::header::COOKIE,
            format!("{}; koban_lang=th", pages.cookie_header()),
        )
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("ถูกตีกลับเมื่อ"), "{html}");

    // A new request from the same address on the web: its
    // acknowledgement is held and logged, never sent.
    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "もう一度", "body": "メールが届きません。", "email": USER }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let held = deliveries(&t, &agent, "desk_received").await;
    let held = held.first().expect("the new acknowledgement");
    assert_eq!(held["provider"], "held", "{held}");
    assert_eq!(held["status"], "failed", "{held}");
    let why = held["error"].as_str().unwrap_or("");
    assert!(
        why.contains("bounced on") && why.contains("User unknown"),
        "{why}"
    );
    // A status notice too: the web ticket merged into the mailed one.
    let web = opened["reference"].as_str().expect("reference");
    let (status, merged) = t
        .post_as(
            &agent,
            &format!("/api/v1/desk/tickets/{web}/merge"),
            json!({ "into": formatted, "confirm_different_requester": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let notice = deliveries(&t, &agent, "desk_merged").await;
    assert_eq!(notice.len(), 1, "{notice:?}");
    assert_eq!(notice[0]["provider"], "held", "{notice:?}");

    // The agent was warned and replies anyway: that goes out.
    reply(
        &t,
        &agent,
        &reference,
        "別のアドレスはお持ちですか。",
        Vec::new(),
    )
    .await;
    mail_saying(&sink, "別のアドレスはお持ちですか").await;

    // The user writes from the address: it works, the mark goes, and
    // notices go out again.
    let (status, _) = deliver(
        &t,
        &mail(
            "メール届きました",
            "bounce-2@example.jp",
            "受信箱を直しました。",
        ),
    )
    .await;
    assert_eq!(status, "opened");
    let (_, view) = t.get(Some(&agent), &base).await;
    assert!(view.get("requester_bounce").is_none(), "{view}");
    let newest = eventually("the next acknowledgement to be sent", || async {
        let acks = deliveries(&t, &agent, "desk_received").await;
        acks.first().filter(|d| d["status"] == "sent").cloned()
    })
    .await;
    assert_eq!(newest["provider"], "smtp", "{newest}");
}
with_sink!(
    a_bounced_address_warns_the_agent_and_holds_automatic_notices,
    20 * 1024 * 1024
);
