//! The SMTP listener spoken to by real clients: Python's `smtplib`
//! (`email_smtp/send.py`) and Debian's `swaks`, and raw sockets for what
//! no polite client does (pipelining without reading, slow senders,
//! errors on purpose). Every case ends with a normal mail going through:
//! the process stayed up.

use crate::support::{eventually, scalar, Db, TestApp};
use koban::channels::email::inbound::inflate;
use koban::channels::email::listener::Listener;
use serde_json::{json, Value};
use sqlx::Row;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod spill;

const DESK: &str = "support@desk.example";
const SEND_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/email_smtp/send.py");

fn configure(c: &mut koban::config::Config) {
    c.email_addresses = DESK.into();
    c.email_smtp_listen = "127.0.0.1:0".into();
    c.email_max_message_bytes = 2 * 1024 * 1024;
    c.email_smtp_timeout_seconds = 2;
    c.email_smtp_data_timeout_seconds = 3;
}

fn configure_small(c: &mut koban::config::Config) {
    configure(c);
    c.email_max_message_bytes = 64 * 1024;
}

/// Whether `program` runs; without it the test is skipped, or fails under CI.
fn have(program: &str) -> bool {
    // `openssl` alone has no --version.
    let ask = if program == "openssl" {
        "version"
    } else {
        "--version"
    };
    let found = Command::new(program)
        .arg(ask)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but `{program}` is missing: the SMTP listener tests must run in CI"
        );
        eprintln!("`{program}` is not installed: skipping");
    }
    found
}

async fn smtp_addr(t: &TestApp) -> SocketAddr {
    eventually("the SMTP listener to bind", || async {
        t.app.part::<Listener>().bound.get().copied()
    })
    .await
}

fn mail(subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Yamada Taro <taro@example.jp>\r\nTo: {DESK}\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0900\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Sends `raw` through smtplib; what each step answered.
pub(crate) async fn smtplib(t: &TestApp, raw: &[u8], extra: Value) -> Value {
    let addr = smtp_addr(t).await;
    let file = t
        .dir
        .path()
        .join(format!("mail-{}.eml", koban::crypto::random_token(6)));
    std::fs::write(&file, raw).expect("write mail");
    let mut args = json!({
        "port": addr.port(),
        "from": "taro@example.jp",
        "to": [DESK],
        "message": file.display().to_string(),
    });
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(SEND_PY)
            .arg(args.to_string())
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "send.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("send.py prints JSON")
}

async fn stored(t: &TestApp) -> i64 {
    scalar(t, "SELECT COUNT(*) FROM email_inbound").await
}

/// The stored mail with this Message-ID once ingested: status, ticket, raw.
async fn ingested(t: &TestApp, message_id: &str) -> (String, Option<i64>, Vec<u8>) {
    eventually("the mail to be ingested", || async {
        let row = sqlx::query(
            "SELECT status, ticket_id, raw_deflated FROM email_inbound WHERE message_id = $1",
        )
        .bind(message_id)
        .fetch_optional(t.app.store.read())
        .await
        .expect("query")?;
        let status: String = row.get("status");
        let raw: Vec<u8> = row.get("raw_deflated");
        (status != "received").then(|| {
            let raw = inflate(&raw, 4 * 1024 * 1024).expect("inflates");
            (status, row.get("ticket_id"), raw)
        })
    })
    .await
}

/// A normal mail still goes through and opens a ticket.
async fn still_receives(t: &TestApp) {
    let id = format!("after-{}@example.jp", koban::crypto::random_token(6));
    let answer = smtplib(t, &mail("Still there?", &id, "One more."), json!({})).await;
    assert_eq!(answer["data"][0], 250, "{answer}");
    let (status, ticket, _) = ingested(t, &id).await;
    assert_eq!(status, "opened");
    assert!(ticket.is_some());
}

/// Writes `input` at once and reads every answer until the server closes
/// (or `limit` passes).
async fn raw_session(addr: SocketAddr, input: &[u8], limit: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(input).await.expect("write");
    read_to_close(&mut stream, limit).await
}

async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> String {
    let mut answers = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut answers)).await;
    String::from_utf8_lossy(&answers).into_owned()
}

/// The codes of the final line of each answer, in order.
fn codes(answers: &str) -> Vec<&str> {
    answers
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect()
}

async fn a_mail_sent_with_smtplib_becomes_a_ticket(t: TestApp) {
    if !have("python3") {
        return;
    }
    let raw = mail(
        "ログインできません",
        "first@example.jp",
        "Hello.\r\n.A line that starts with a dot.\r\n..two",
    );
    let answer = smtplib(&t, &raw, json!({})).await;
    let features = &answer["features"];
    assert_eq!(features["size"], "2097152", "{answer}");
    for feature in ["8bitmime", "pipelining", "smtputf8", "enhancedstatuscodes"] {
        assert!(features.get(feature).is_some(), "{feature} in {answer}");
    }
    assert!(
        features.get("starttls").is_none(),
        "no certificate: {answer}"
    );
    assert_eq!(answer["rcpt"][0][0], 250, "{answer}");
    assert_eq!(answer["data"][0], 250, "{answer}");

    let (status, ticket, stored_raw) = ingested(&t, "first@example.jp").await;
    assert_eq!(status, "opened");
    // Stored as written: smtplib's dot-stuffing is undone, nothing else.
    assert_eq!(stored_raw, raw);
    let row = sqlx::query("SELECT channel, subject FROM desk_tickets WHERE id = $1")
        .bind(ticket.expect("a ticket"))
        .fetch_one(t.app.store.read())
        .await
        .expect("ticket");
    assert_eq!(row.get::<String, _>("channel"), "email");
    assert_eq!(row.get::<String, _>("subject"), "ログインできません");

    // The same mail again is answered 250 and stored once.
    let again = smtplib(&t, &raw, json!({})).await;
    assert_eq!(again["data"][0], 250, "{again}");
    assert_eq!(stored(&t).await, 1);
}
both!(a_mail_sent_with_smtplib_becomes_a_ticket, super::configure);

/// The listener deflates DATA as it arrives: a mail that comes in many
/// small reads, the last line break of the final dot split between two of
/// them, is stored byte for byte as sent, dots unstuffed.
async fn a_mail_arriving_in_small_pieces_is_stored_as_sent(t: TestApp) {
    let addr = smtp_addr(&t).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let body: String = (0..200).map(|n| format!("line {n} ログ\r\n")).collect();
    let sent =
        format!("Message-ID: <pieces@example.jp>\r\nSubject: pieces\r\n\r\n{body}..dot\r\nend\r\n");
    let stored_as = sent.replace("\r\n..dot", "\r\n.dot");
    let session = format!(
        "EHLO pieces.example\r\nMAIL FROM:<taro@example.jp>\r\nRCPT TO:<{DESK}>\r\nDATA\r\n{sent}.\r"
    );
    for piece in session.as_bytes().chunks(7) {
        stream.write_all(piece).await.expect("write");
        stream.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(b"\nQUIT\r\n").await.expect("write");
    let answers = read_to_close(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(
        codes(&answers),
        ["220", "250", "250", "250", "354", "250", "221"],
        "{answers}"
    );
    let (status, _, raw) = ingested(&t, "pieces@example.jp").await;
    assert_eq!(status, "opened");
    assert_eq!(String::from_utf8(raw).expect("utf-8"), stored_as);
}
both!(
    a_mail_arriving_in_small_pieces_is_stored_as_sent,
    super::configure
);

async fn unknown_recipients_are_refused_and_nothing_is_stored(t: TestApp) {
    if !have("python3") {
        return;
    }
    let answer = smtplib(
        &t,
        &mail("Hi", "stranger@example.jp", "Hello."),
        json!({ "to": ["nobody@desk.example", "support+forged@elsewhere.example"] }),
    )
    .await;
    assert_eq!(answer["rcpt"][0][0], 550, "{answer}");
    assert!(answer["rcpt"][0][1]
        .as_str()
        .unwrap_or("")
        .starts_with("5.1.1"));
    assert_eq!(answer["rcpt"][1][0], 550, "{answer}");
    assert!(answer.get("data").is_none(), "{answer}");
    assert_eq!(stored(&t).await, 0);
    still_receives(&t).await;
}
both!(
    unknown_recipients_are_refused_and_nothing_is_stored,
    super::configure
);

async fn mails_over_the_size_limit_are_refused_and_nothing_is_stored(t: TestApp) {
    if !have("python3") {
        return;
    }
    let big = mail(
        "Big",
        "big@example.jp",
        &"0123456789abcde\r\n".repeat(8 * 1024),
    );
    let declared = smtplib(&t, &big, json!({ "size": big.len() })).await;
    assert_eq!(declared["features"]["size"], "65536", "{declared}");
    assert_eq!(declared["mail"][0], 552, "{declared}");
    assert!(declared["mail"][1]
        .as_str()
        .unwrap_or("")
        .starts_with("5.3.4"));

    // Not declared: read to its end, refused, nothing kept.
    let undeclared = smtplib(&t, &big, json!({})).await;
    assert_eq!(undeclared["data"][0], 552, "{undeclared}");
    assert_eq!(stored(&t).await, 0);
    still_receives(&t).await;
}
both!(
    mails_over_the_size_limit_are_refused_and_nothing_is_stored,
    super::configure_small
);

async fn a_header_line_of_a_megabyte_is_contained(t: TestApp) {
    if !have("python3") {
        return;
    }
    let long = "x".repeat(1024 * 1024);
    let raw = mail("Long", "long@example.jp", "Body.");
    let mut with_header = format!("X-Long: {long}\r\n").into_bytes();
    with_header.extend_from_slice(&raw);
    let answer = smtplib(&t, &with_header, json!({})).await;
    assert_eq!(answer["data"][0], 250, "{answer}");
    let (status, _, stored_raw) = ingested(&t, "long@example.jp").await;
    assert_ne!(status, "received");
    assert_eq!(stored_raw.len(), with_header.len());
    still_receives(&t).await;
}
both!(a_header_line_of_a_megabyte_is_contained, super::configure);

async fn starttls_with_a_self_signed_certificate(t: TestApp) {
    if !have("python3") {
        return;
    }
    let raw = mail("Secret", "tls@example.jp", "Over TLS.");
    let answer = smtplib(&t, &raw, json!({ "starttls": true })).await;
    assert!(answer["features"].get("starttls").is_some(), "{answer}");
    assert!(
        answer["tls"].as_str().unwrap_or("").starts_with("TLSv1."),
        "{answer}"
    );
    assert!(
        answer["features_after_tls"].get("starttls").is_none(),
        "{answer}"
    );
    assert_eq!(answer["data"][0], 250, "{answer}");
    let (status, _, _) = ingested(&t, "tls@example.jp").await;
    assert_eq!(status, "opened");

    // A command written in the clear behind STARTTLS is never run inside
    // TLS: the MAIL sent after the handshake is the first, so it is taken.
    let port = smtp_addr(&t).await.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/api/email_smtp/starttls_injection.py"
            ))
            .arg(port)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("join");
    let answers = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{answers} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let codes: Vec<&str> = answers.lines().map(|l| &l[..l.len().min(3)]).collect();
    assert_eq!(codes, ["220", "250", "250", "221"], "{answers}");
}

/// A self-signed certificate made with the `openssl` CLI; `None` without it.
fn self_signed(dir: &Path) -> Option<(String, String)> {
    if !have("openssl") {
        return None;
    }
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=desk.example", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    Some((cert.display().to_string(), key.display().to_string()))
}

mod starttls {
    use super::*;

    async fn start(db: Db) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = self_signed(dir.path())?;
        let with_tls = move |c: &mut koban::config::Config| {
            configure(c);
            c.email_smtp_tls_cert = cert;
            c.email_smtp_tls_key = key;
        };
        let t = match db {
            Db::Sqlite => TestApp::start(db, with_tls).await,
            Db::Postgres => TestApp::start_if_postgres(with_tls).await?,
        };
        // The certificate is read at start; its folder may go now.
        drop(dir);
        Some(t)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some(t) = start(Db::Sqlite).await {
            starttls_with_a_self_signed_certificate(t).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(t) = start(Db::Postgres).await {
            starttls_with_a_self_signed_certificate(t).await;
        }
    }
}

async fn pipelining_and_abuse_get_answers_in_order_and_the_process_stays_up(t: TestApp) {
    if !have("python3") {
        return;
    }
    let addr = smtp_addr(&t).await;

    // swaks pipelining a whole transaction.
    if have("swaks") {
        let server = addr.to_string();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("swaks")
                .args(["--server", &server, "--pipeline", "--to", DESK])
                .args(["--from", "taro@example.jp", "--helo", "client.example"])
                .args(["--header", "Message-ID: <swaks@example.jp>"])
                .args(["--header", "Subject: Piped", "--body", "Sent pipelined."])
                .output()
                .expect("swaks runs")
        })
        .await
        .expect("join");
        assert!(
            output.status.success(),
            "swaks: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let (status, _, _) = ingested(&t, "swaks@example.jp").await;
        assert_eq!(status, "opened");
    }

    // Everything written at once, the mail right behind DATA: each command
    // answered in order, the refused recipient left out.
    let answers = raw_session(
        addr,
        b"EHLO raw.example\r\nMAIL FROM:<taro@example.jp>\r\nRCPT TO:<support@desk.example>\r\n\
          RCPT TO:<nobody@desk.example>\r\nDATA\r\nMessage-ID: <raw@example.jp>\r\n\
          Subject: raw\r\n\r\nbody\r\n.\r\nNOOP\r\nVRFY someone\r\nHELP\r\nRSET\r\nQUIT\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        codes(&answers),
        ["220", "250", "250", "250", "550", "354", "250", "250", "252", "214", "250", "221"],
        "{answers}"
    );
    ingested(&t, "raw@example.jp").await;

    // Out of sequence, unknown, overlong: refused with enhanced codes, and
    // the session goes on.
    let long = format!("MAIL FROM:<{}@example.jp>\r\n", "a".repeat(100_000));
    let mut input = b"MAIL FROM:<a@example.jp>\r\nEHLO x\r\nDATA\r\nFROB\r\n".to_vec();
    input.extend_from_slice(long.as_bytes());
    input.extend_from_slice(b"AUTH PLAIN AGFAYg==\r\nNOOP\r\nQUIT\r\n");
    let answers = raw_session(addr, &input, Duration::from_secs(10)).await;
    assert_eq!(
        codes(&answers),
        ["220", "503", "250", "503", "500", "500", "502", "250", "221"],
        "{answers}"
    );
    assert!(answers.contains("500 5.5.2"), "{answers}");
    assert!(answers.contains("503 5.5.1"), "{answers}");

    // At most 100 recipients a mail; the 101st is told to come again (452).
    let mut input = b"EHLO many.example\r\nMAIL FROM:<taro@example.jp>\r\n".to_vec();
    for _ in 0..101 {
        input.extend_from_slice(b"RCPT TO:<support@desk.example>\r\n");
    }
    input.extend_from_slice(b"QUIT\r\n");
    let answers = raw_session(addr, &input, Duration::from_secs(10)).await;
    let got = codes(&answers);
    assert_eq!(
        got.iter().filter(|c| **c == "250").count(),
        1 + 1 + 100,
        "{answers}"
    );
    assert_eq!(got[got.len() - 2..], ["452", "221"], "{answers}");

    // Too many errors: 421 and closed.
    let answers = raw_session(addr, &b"FROB\r\n".repeat(30), Duration::from_secs(10)).await;
    let got = codes(&answers);
    // The greeting, ten refusals, then the 421.
    assert_eq!(got.len(), 1 + 10 + 1, "{answers}");
    assert_eq!(got.last(), Some(&"421"), "{answers}");

    // A client that writes a flood of commands and never reads its answers
    // is dropped once it stops reading; it holds nothing.
    let mut flood = TcpStream::connect(addr).await.expect("connect");
    let noops = b"NOOP\r\n".repeat(200_000);
    let started = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(15), flood.write_all(&noops)).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the flood was never cut off"
    );

    // Silent after the greeting: 421 after the command timeout.
    let started = Instant::now();
    let answers = raw_session(addr, b"", Duration::from_secs(10)).await;
    assert_eq!(codes(&answers), ["220", "421"], "{answers}");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // A slow sender inside DATA: cut off at the data timeout, nothing stored.
    let before = stored(&t).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"EHLO slow\r\nMAIL FROM:<a@example.jp>\r\nRCPT TO:<support@desk.example>\r\nDATA\r\n",
    )
    .await
    .expect("write");
    let started = Instant::now();
    let mut cut_off = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if slow.write_all(b"x").await.is_err() {
            cut_off = true;
            break;
        }
    }
    let answers = read_to_close(&mut slow, Duration::from_secs(5)).await;
    assert!(answers.contains("421 4.4.2"), "{answers}");
    assert!(cut_off || started.elapsed() < Duration::from_secs(9));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stored(&t).await, before);

    drop(flood);
    still_receives(&t).await;
}
both!(
    pipelining_and_abuse_get_answers_in_order_and_the_process_stays_up,
    super::configure
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_answered_421() {
    let t = TestApp::start(Db::Sqlite, |c| {
        configure(c);
        c.email_smtp_max_connections = 1;
    })
    .await;
    let addr = smtp_addr(&t).await;
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let mut greeting = [0u8; 64];
    let n = first.read(&mut greeting).await.expect("greeting");
    assert!(greeting[..n].starts_with(b"220 "));
    let answers = raw_session(addr, b"", Duration::from_secs(5)).await;
    assert!(answers.starts_with("421 4.3.2"), "{answers}");
    drop(first);
    // The slot comes back once the first session ends.
    let answers = eventually("the slot to free", || async {
        let answers = raw_session(addr, b"QUIT\r\n", Duration::from_secs(5)).await;
        answers.starts_with("220").then_some(answers)
    })
    .await;
    assert_eq!(codes(&answers), ["220", "221"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_lets_open_sessions_finish() {
    let t = TestApp::start(Db::Sqlite, configure).await;
    let addr = smtp_addr(&t).await;
    let mut open = TcpStream::connect(addr).await.expect("connect");
    open.write_all(b"EHLO before.example\r\n")
        .await
        .expect("write");
    let mut greeting = [0u8; 512];
    let _ = open.read(&mut greeting).await.expect("greeting");
    drop(t);
    eventually("the listener to stop accepting", || async {
        TcpStream::connect(addr).await.is_err().then_some(())
    })
    .await;
    open.write_all(b"NOOP\r\nQUIT\r\n").await.expect("write");
    let answers = read_to_close(&mut open, Duration::from_secs(5)).await;
    assert!(
        answers.ends_with("250 2.0.0 OK\r\n221 2.0.0 Bye\r\n"),
        "{answers}"
    );
}
