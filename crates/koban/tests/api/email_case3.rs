//! The product source's third case by mail, end to end, with real mail
//! software on both sides: a user at the device limit mails support a
//! screenshot through Koban's SMTP listener (Python's smtplib); the mail
//! becomes a ticket triaged as device security, with the screenshot; the
//! agent verifies the user (a code Koban mails, read back), reads the
//! account's devices, removes the abnormal one and replies; the reply
//! arrives at a real SMTP server standing in for the user's mailbox
//! (aiosmtpd), threaded under the user's mail; the user answers it and the
//! answer joins the same ticket; the user signs in on the new device.

use crate::support::{eventually, free_port, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const DESK: &str = "support@desk.example";
const USER: &str = "taro@example.jp";
const PASSWORD: &str = "correct horse battery";
const AIOSMTPD: &str = "/var/tmp/koban-aiosmtpd/bin/python";
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// aiosmtpd receiving every mail Koban sends into a Maildir.
pub(crate) struct Mailbox {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Mailbox {
    /// Starts it, or `None` (the test skips; under CI it fails) without aiosmtpd.
    pub(crate) async fn start(dir: &Path) -> Option<Mailbox> {
        if !Path::new(AIOSMTPD).exists() {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but aiosmtpd is missing ({AIOSMTPD}): run scripts/test"
            );
            eprintln!("aiosmtpd is not installed: skipping");
            return None;
        }
        let port = free_port();
        let dir = dir.join("maildir");
        let child = Command::new(AIOSMTPD)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        eventually("aiosmtpd to listen", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(drop)
        })
        .await;
        Some(Mailbox { child, port, dir })
    }

    /// Every mail received, oldest first.
    pub(crate) fn all(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("new"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    /// Waits for a mail to `to` whose subject contains `subject`.
    pub(crate) async fn wait_for(&self, to: &str, subject: &str) -> Vec<u8> {
        eventually(&format!("a mail to {to} about {subject}"), || async {
            self.all().into_iter().find(|raw| {
                let parsed = mail_parser::MessageParser::default().parse(raw);
                parsed.is_some_and(|m| {
                    m.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some(to)
                        && m.subject().is_some_and(|s| s.contains(subject))
                })
            })
        })
        .await
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `raw` from the user to the desk through the listener with smtplib.
async fn send(t: &TestApp, raw: String) {
    let answer = crate::email_smtp::smtplib(t, raw.as_bytes(), json!({})).await;
    assert_eq!(answer["data"][0], 250, "{answer}");
}

async fn sign_in_on(t: &TestApp, device: &str) -> (StatusCode, Value) {
    t.send(
        t.http
            .post(t.url("/api/v1/sessions"))
            .header("x-koban-device", device)
            .json(&json!({ "identifier": USER, "password": PASSWORD })),
    )
    .await
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The six-digit code in the newest mail to the user about verification.
fn code_in(raw: &[u8]) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("mail");
    let text = parsed.body_text(0).expect("text").to_string();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a code")
        .to_string()
}

/// Mail goes out live to `sink`; the listener takes mail on any port.
fn configure(sink: u16) -> impl FnOnce(&mut koban::config::Config) {
    move |c| {
        c.email_addresses = DESK.into();
        c.email_smtp_listen = "127.0.0.1:0".into();
        c.delivery_mode = "live".into();
        c.smtp_host = "127.0.0.1".into();
        c.smtp_port = sink;
        c.smtp_tls = "none".into();
        c.max_devices = 2;
        c.risk_device_churn_count = 0;
    }
}

async fn a_device_conflict_by_mail_is_solved_and_answered_in_the_thread(t: TestApp, sink: Mailbox) {
    let contact = koban_policy::contact::parse_identifier(USER, None).expect("contact");
    koban::accounts::service::create_verified(&t.app, &contact, PASSWORD, "user")
        .await
        .expect("account");
    assert_eq!(
        sign_in_on(&t, "phone-000000000000001").await.0,
        StatusCode::CREATED
    );
    let (_, stolen) = sign_in_on(&t, "unknown-0000000000002").await;
    let abnormal = stolen["device_id"].as_i64().expect("device id");
    // The new laptop: the device limit.
    let (status, conflict) = sign_in_on(&t, "laptop-00000000000003").await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");

    // The user mails support with a screenshot.
    send(
        &t,
        format!(
            "From: Yamada Taro <{USER}>\r\nTo: {DESK}\r\nSubject: 新しいパソコンでログインできません\r\n\
             Message-ID: <case3-1@example.jp>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             新しいパソコンでログインしようとすると、端末の上限に達したと表示されます。\r\n\
             端末一覧に見覚えのない端末があります。スクリーンショットを添付します。\r\n\
             --b\r\nContent-Type: image/png; name=\"screenshot.png\"\r\nContent-Disposition: attachment; filename=\"screenshot.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PNG_1X1}\r\n--b--\r\n"
        ),
    )
    .await;
    let agent = t.staff("agent@example.com", "agent").await;
    let reference: String = eventually("the mail to become a ticket", || async {
        let (_, queue) = t.get(Some(&agent), "/api/v1/desk/tickets?view=all").await;
        queue["items"].as_array()?.first()?["reference"]
            .as_str()
            .map(digits)
    })
    .await;
    let base = format!("/api/v1/desk/tickets/{reference}");
    let (_, ticket) = t.get(Some(&agent), &base).await;
    assert_eq!(ticket["channel"], "email", "{ticket}");
    assert_eq!(ticket["category"], "device_security", "{ticket}");
    let (_, files) = t.get(Some(&agent), &format!("{base}/attachments")).await;
    assert_eq!(files[0]["file_name"], "screenshot.png", "{files}");
    // The acknowledgement, threaded, marked automatic.
    let ack = sink.wait_for(USER, "新しいパソコン").await;
    let ack = mail_parser::MessageParser::default()
        .parse(&ack)
        .expect("mail");
    assert_eq!(ack.in_reply_to().as_text(), Some("case3-1@example.jp"));
    assert_eq!(
        ack.header("Auto-Submitted").and_then(|h| h.as_text()),
        Some("auto-replied")
    );

    // The agent verifies the user with a code Koban mails them.
    let (status, started) = t
        .post_as(&agent, &format!("{base}/verifications"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["id"].as_i64().expect("id");
    // In the ticket's language (Japanese) when the account names none.
    let code_mail = eventually("the verification code mail", || async {
        sink.all().into_iter().find(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .is_some_and(|m| {
                    m.subject().is_some_and(|s| {
                        s.contains("本人確認コード") || s.contains("verification code")
                    })
                })
        })
    })
    .await;
    let (status, _) = t
        .post_as(
            &agent,
            &format!("{base}/verifications/{id}/check"),
            json!({ "code": code_in(&code_mail) }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The security context with the device list, and the abnormal device removed.
    let (status, context) = t
        .get(Some(&agent), &format!("{base}/security-context"))
        .await;
    assert_eq!(status, StatusCode::OK, "{context}");
    assert!(
        context.to_string().contains(&abnormal.to_string()),
        "{context}"
    );
    let (status, done) = t
        .post_as(
            &agent,
            &format!("{base}/account-actions"),
            json!({ "action": "remove_device", "device_id": abnormal, "reason": "the user does not know this device" }),
        )
        .await;
    assert!(status.is_success(), "{status} {done}");
    let (status, _) = t
        .post_as(
            &agent,
            &format!("{base}/messages"),
            json!({ "body": "見覚えのない端末を削除しました。新しいパソコンでもう一度ログインしてください。", "public": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The reply arrives threaded under the user's mail.
    let reply = eventually("the agent's reply", || async {
        sink.all().into_iter().find(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .is_some_and(|m| {
                    m.body_text(0)
                        .is_some_and(|b| b.contains("見覚えのない端末を削除"))
                })
        })
    })
    .await;
    let reply = mail_parser::MessageParser::default()
        .parse(&reply)
        .expect("mail");
    assert_eq!(reply.in_reply_to().as_text(), Some("case3-1@example.jp"));
    assert!(reply.subject().is_some_and(|s| s.contains(&format!(
        "{}-{}-{}",
        &reference[..4],
        &reference[4..8],
        &reference[8..]
    ))));
    let reply_id = reply.message_id().expect("message id").to_string();
    let reply_to = reply
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .expect("reply-to")
        .to_string();
    assert!(reply_to.starts_with("support+"), "{reply_to}");

    // The user answers it (to its Reply-To, In-Reply-To its id): same ticket.
    let answer = format!(
        "From: Yamada Taro <{USER}>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\nMessage-ID: <case3-2@example.jp>\r\n\
         In-Reply-To: <{reply_id}>\r\nReferences: <case3-1@example.jp> <{reply_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nログインできました。ありがとうございます。\r\n",
        reply.subject().unwrap_or("")
    );
    crate::email_smtp::smtplib(&t, answer.as_bytes(), json!({ "to": [reply_to] })).await;
    eventually("the answer to join the ticket", || async {
        let (_, ticket) = t.get(Some(&agent), &base).await;
        ticket["messages"]
            .as_array()?
            .iter()
            .any(|m| {
                m["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("ログインできました"))
            })
            .then_some(())
    })
    .await;
    assert_eq!(t.count("desk_tickets").await, 1, "no second ticket");

    // And the user signs in on the new laptop.
    let (status, body) = sign_in_on(&t, "laptop-00000000000003").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

mod case_3_by_mail {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("dir");
        let Some(sink) = Mailbox::start(dir.path()).await else {
            return;
        };
        let t = TestApp::start(crate::support::Db::Sqlite, configure(sink.port)).await;
        a_device_conflict_by_mail_is_solved_and_answered_in_the_thread(t, sink).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let dir = tempfile::tempdir().expect("dir");
        let Some(sink) = Mailbox::start(dir.path()).await else {
            return;
        };
        let Some(t) = TestApp::start_if_postgres(configure(sink.port)).await else {
            return;
        };
        a_device_conflict_by_mail_is_solved_and_answered_in_the_thread(t, sink).await;
    }
}
