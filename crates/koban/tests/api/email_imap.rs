//! IMAP polling against a real Dovecot the test starts itself
//! (`email_imap/dovecot.rs`), with mail put in by Python's imaplib: mails
//! become tickets and the UID advances; a restart neither skips nor
//! repeats; IDLE brings a mail at once; a recreated mailbox is read again
//! without duplicates; two nodes poll a mailbox once; wrong passwords, a
//! server that is down, an oversized mail and a missing mailbox are
//! reported and survived.

mod dovecot;

use crate::support::{eventually, scalar, test_config, Db, TestApp};
use dovecot::{have_dovecot, Dovecot, PASSWORD, USER};
use koban::channels::email::imap::{self, MailboxStatus};
use koban::config::Config;
use sqlx::Row;
use std::time::{Duration, Instant};

const DESK: &str = "support@desk.example";

fn settings(c: &mut Config, d: &Dovecot) {
    c.email_addresses = format!("{DESK}, security@desk.example=security");
    c.email_imap_host = "127.0.0.1".into();
    c.email_imap_port = d.port;
    c.email_imap_security = "none".into();
    c.email_imap_user = USER.into();
    c.email_imap_password = PASSWORD.into();
    c.email_imap_poll_seconds = 2;
    c.email_imap_lease_seconds = 3;
}

fn mail(subject: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Yamada Taro <taro@example.jp>\r\nTo: {DESK}\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0900\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         新しい端末でログインできません。\r\n"
    )
    .into_bytes()
}

/// A database for a test that starts Koban more than once on it.
async fn database(db: Db) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("koban.db").display()),
        Db::Postgres => {
            let server = crate::support::postgres_url().expect("postgres configured");
            crate::support::fresh_postgres_database(&server).await
        }
    };
    (url, dir)
}

/// Starts Koban on `url` polling `d`, with `configure` applied after.
async fn koban(db: Db, url: &str, d: &Dovecot, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(url, dir.path());
    settings(&mut config, d);
    configure(&mut config);
    TestApp::start_with_config(db, config, dir).await
}

fn status(t: &TestApp, mailbox: &str) -> MailboxStatus {
    imap::part(&t.app).expect("IMAP is on").status(mailbox)
}

/// The stored mail with this Message-ID once ingested: status and ticket.
async fn ingested(t: &TestApp, message_id: &str) -> (String, Option<i64>) {
    eventually(&format!("{message_id} to be ingested"), || async {
        let row = sqlx::query("SELECT status, ticket_id FROM email_inbound WHERE message_id = $1")
            .bind(message_id)
            .fetch_optional(t.app.store.read())
            .await
            .expect("query")?;
        let status: String = row.get("status");
        (status != "received").then(|| (status, row.get("ticket_id")))
    })
    .await
}

/// UIDVALIDITY and the last UID recorded for `mailbox`.
async fn progress(t: &TestApp, mailbox: &str) -> (i64, i64) {
    let key = format!("{USER}@127.0.0.1/{mailbox}");
    let row =
        sqlx::query("SELECT uid_validity, last_uid FROM email_imap_mailboxes WHERE mailbox = $1")
            .bind(key)
            .fetch_one(t.app.store.read())
            .await
            .expect("progress row");
    (row.get("uid_validity"), row.get("last_uid"))
}

async fn last_uid_reaches(t: &TestApp, mailbox: &str, uid: i64) {
    eventually(
        &format!("the last UID of {mailbox} to reach {uid}"),
        || async { (progress(t, mailbox).await.1 >= uid).then_some(()) },
    )
    .await;
}

async fn count(t: &TestApp, sql: &str) -> i64 {
    scalar(t, sql).await
}

async fn mails_become_tickets_and_the_uid_advances(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    d.append("INBOX", &mail("ログインできません", "i1@example.jp"))
        .await;
    d.append("INBOX", &mail("端末の上限", "i2@example.jp"))
        .await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |_| {}).await;
    for id in ["i1@example.jp", "i2@example.jp"] {
        let (status, ticket) = ingested(&t, id).await;
        assert_eq!(status, "opened");
        assert!(ticket.is_some());
    }
    last_uid_reaches(&t, "INBOX", 2).await;
    let source: String =
        sqlx::query("SELECT source FROM email_inbound WHERE message_id = 'i1@example.jp'")
            .fetch_one(t.app.store.read())
            .await
            .expect("row")
            .get("source");
    assert_eq!(source, "imap:INBOX");
    d.append("INBOX", &mail("三通目", "i3@example.jp")).await;
    assert_eq!(ingested(&t, "i3@example.jp").await.0, "opened");
    last_uid_reaches(&t, "INBOX", 3).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM desk_tickets").await, 3);
    let s = status(&t, "INBOX");
    assert_eq!((s.stored, s.duplicates, s.failures), (3, 0, 0), "{s:?}");
}
both_db!(mails_become_tickets_and_the_uid_advances);

async fn a_restart_neither_skips_nor_repeats(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(db).await;
    let first = koban(db, &url, &d, |_| {}).await;
    d.append("INBOX", &mail("one", "r1@example.jp")).await;
    d.append("INBOX", &mail("two", "r2@example.jp")).await;
    ingested(&first, "r2@example.jp").await;
    last_uid_reaches(&first, "INBOX", 2).await;
    let app = first.app.clone();
    drop(first);
    eventually("the first Koban to stop polling", || async {
        (!imap::part(&app)
            .expect("IMAP is on")
            .status("INBOX")
            .polling)
            .then_some(())
    })
    .await;
    // Mail that arrives while Koban is down.
    d.append("INBOX", &mail("three", "r3@example.jp")).await;
    d.append("INBOX", &mail("four", "r4@example.jp")).await;
    let second = koban(db, &url, &d, |_| {}).await;
    ingested(&second, "r4@example.jp").await;
    ingested(&second, "r3@example.jp").await;
    last_uid_reaches(&second, "INBOX", 4).await;
    assert_eq!(
        count(&second, "SELECT COUNT(*) FROM email_inbound").await,
        4
    );
    assert_eq!(count(&second, "SELECT COUNT(*) FROM desk_tickets").await, 4);
    let s = status(&second, "INBOX");
    assert_eq!(
        (s.stored, s.duplicates),
        (2, 0),
        "nothing fetched twice: {s:?}"
    );
}
both_db!(a_restart_neither_skips_nor_repeats);

async fn idle_brings_a_mail_without_waiting_for_the_poll(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(db).await;
    // Polling alone would take ten minutes.
    let t = koban(db, &url, &d, |c| c.email_imap_poll_seconds = 600).await;
    eventually("the mailbox to be watched with IDLE", || async {
        let s = status(&t, "INBOX");
        (s.polling && s.idle).then_some(())
    })
    .await;
    // Let the first pass finish and IDLE begin.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = Instant::now();
    d.append("INBOX", &mail("idle", "idle1@example.jp")).await;
    assert_eq!(ingested(&t, "idle1@example.jp").await.0, "opened");
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "{:?}",
        sent.elapsed()
    );
}
both_db!(idle_brings_a_mail_without_waiting_for_the_poll);

async fn a_recreated_mailbox_is_read_again_without_duplicates(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    d.client(vec![serde_json::json!(["create", "Support"])])
        .await;
    d.append("Support", &mail("one", "v1@example.jp")).await;
    d.append("Support", &mail("two", "v2@example.jp")).await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| c.email_imap_mailboxes = "Support".into()).await;
    ingested(&t, "v2@example.jp").await;
    last_uid_reaches(&t, "Support", 2).await;
    let (before, _) = progress(&t, "Support").await;
    d.client(vec![
        serde_json::json!(["delete", "Support"]),
        serde_json::json!(["create", "Support"]),
    ])
    .await;
    d.append("Support", &mail("one", "v1@example.jp")).await;
    d.append("Support", &mail("two", "v2@example.jp")).await;
    d.append("Support", &mail("three", "v3@example.jp")).await;
    assert_eq!(ingested(&t, "v3@example.jp").await.0, "opened");
    eventually("the new UIDVALIDITY to be recorded", || async {
        let (now, last) = progress(&t, "Support").await;
        (now != before && last == 3).then_some(())
    })
    .await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM email_inbound").await, 3);
    assert_eq!(count(&t, "SELECT COUNT(*) FROM desk_tickets").await, 3);
    assert_eq!(status(&t, "Support").duplicates, 2);
}
both_db!(a_recreated_mailbox_is_read_again_without_duplicates);

/// Two nodes on one PostgreSQL: one polls, every mail is stored once, and
/// when that node stops the other takes the mailbox over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_poll_a_mailbox_once_and_hand_it_over() {
    if crate::support::postgres_url().is_none() || !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(Db::Postgres).await;
    let a = koban(Db::Postgres, &url, &d, |_| {}).await;
    let b = koban(Db::Postgres, &url, &d, |_| {}).await;
    for i in 0..6 {
        d.append(
            "INBOX",
            &mail(&format!("n{i}"), &format!("two{i}@example.jp")),
        )
        .await;
    }
    for i in 0..6 {
        ingested(&a, &format!("two{i}@example.jp")).await;
    }
    let (sa, sb) = (status(&a, "INBOX"), status(&b, "INBOX"));
    assert_eq!(sa.stored + sb.stored, 6, "{sa:?} {sb:?}");
    assert_eq!(sa.duplicates + sb.duplicates, 0, "fetched by one node only");
    assert!(sa.polling != sb.polling, "one polls: {sa:?} {sb:?}");
    let (holder, other) = if sa.polling { (a, b) } else { (b, a) };
    drop(holder);
    d.append("INBOX", &mail("after", "two-after@example.jp"))
        .await;
    assert_eq!(ingested(&other, "two-after@example.jp").await.0, "opened");
    eventually("the other node to poll", || async {
        status(&other, "INBOX").polling.then_some(())
    })
    .await;
    assert_eq!(count(&other, "SELECT COUNT(*) FROM email_inbound").await, 7);
}

/// A node that died holding the lease: the mailbox waits until the lease
/// runs out, then this node takes it over.
async fn a_dead_nodes_lease_is_taken_over_when_it_expires(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(db).await;
    {
        let store = koban::store::Store::connect(&url, 2)
            .await
            .expect("connect");
        koban::app::migrate(&store).await.expect("migrate");
        let until = koban::store::now_ms() + 4_000;
        sqlx::query(
            "INSERT INTO email_imap_mailboxes (mailbox, lease_holder, lease_until, updated_at)
             VALUES ($1, 'dead-node', $2, 0)",
        )
        .bind(format!("{USER}@127.0.0.1/INBOX"))
        .bind(until)
        .execute(store.write())
        .await
        .expect("dead lease");
        store.close().await;
    }
    d.append("INBOX", &mail("waiting", "dead1@example.jp"))
        .await;
    let t = koban(db, &url, &d, |_| {}).await;
    eventually("the node to stand by", || async {
        status(&t, "INBOX").standing_by.then_some(())
    })
    .await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM email_inbound").await, 0);
    assert_eq!(ingested(&t, "dead1@example.jp").await.0, "opened");
    assert!(status(&t, "INBOX").polling);
}
both_db!(a_dead_nodes_lease_is_taken_over_when_it_expires);

async fn a_wrong_password_is_reported_and_retried(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| c.email_imap_password = "wrong".into()).await;
    let s = eventually("two failed sign-ins", || async {
        let s = status(&t, "INBOX");
        (s.failures >= 2).then_some(s)
    })
    .await;
    let error = s.last_error.unwrap_or_default();
    assert!(
        error.contains("refused to sign in") && error.contains("email_imap_password"),
        "{error}"
    );
    assert_eq!(t.get(None, "/healthz").await.0, reqwest::StatusCode::OK);
}
both_db!(a_wrong_password_is_reported_and_retried);

async fn a_server_that_is_down_is_retried_until_it_is_back(db: Db) {
    if !have_dovecot() {
        return;
    }
    let mut d = Dovecot::start().await;
    d.stop().await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |_| {}).await;
    let s = eventually("a failed connection", || async {
        let s = status(&t, "INBOX");
        (s.failures >= 1).then_some(s)
    })
    .await;
    assert!(s.last_error.unwrap_or_default().contains("cannot connect"));
    d.run().await;
    d.append("INBOX", &mail("back", "down1@example.jp")).await;
    assert_eq!(ingested(&t, "down1@example.jp").await.0, "opened");
    eventually("the failures to be forgotten", || async {
        let s = status(&t, "INBOX");
        (s.failures == 0 && s.last_error.is_none()).then_some(())
    })
    .await;
}
both_db!(a_server_that_is_down_is_retried_until_it_is_back);

async fn an_oversized_mail_is_recorded_for_review_and_passed(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let mut big = mail("大きな添付", "big1@example.jp");
    big.extend(b"x".repeat(8 * 1024));
    big.extend(b"\r\n");
    d.append("INBOX", &big).await;
    d.append("INBOX", &mail("small", "small1@example.jp")).await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| c.email_max_message_bytes = 4096).await;
    assert_eq!(ingested(&t, "small1@example.jp").await.0, "opened");
    let row = sqlx::query(
        "SELECT status, sender, detail, raw_size, raw_deflated IS NULL AS no_raw FROM email_inbound
         WHERE message_id = 'big1@example.jp'",
    )
    .fetch_one(t.app.store.read())
    .await
    .expect("the oversized mail is recorded");
    assert_eq!(row.get::<String, _>("status"), "unreadable");
    assert_eq!(
        row.get::<Option<String>, _>("sender").as_deref(),
        Some("taro@example.jp")
    );
    assert!(row.get::<i64, _>("raw_size") > 8 * 1024);
    let detail: serde_json::Value =
        serde_json::from_str(&row.get::<String, _>("detail")).expect("JSON");
    let error = detail["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("email_max_message_bytes") && error.contains("UID 1"),
        "{error}"
    );
    assert_eq!(detail["subject"], "大きな添付");
    last_uid_reaches(&t, "INBOX", 2).await;
    assert_eq!(status(&t, "INBOX").too_large, 1);
}
both_db!(an_oversized_mail_is_recorded_for_review_and_passed);

async fn a_missing_mailbox_is_named_and_the_others_polled(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| {
        c.email_imap_mailboxes = "INBOX, Nope".into()
    })
    .await;
    d.append("INBOX", &mail("fine", "mb1@example.jp")).await;
    assert_eq!(ingested(&t, "mb1@example.jp").await.0, "opened");
    let s = eventually("the missing mailbox to be reported", || async {
        let s = status(&t, "Nope");
        s.last_error.is_some().then_some(s)
    })
    .await;
    let error = s.last_error.unwrap_or_default();
    assert!(
        error.contains("email_imap_mailboxes") && error.contains("`Nope`"),
        "{error}"
    );
}
both_db!(a_missing_mailbox_is_named_and_the_others_polled);

/// Implicit TLS against Dovecot's self-signed certificate, trusted through
/// `email_imap_tls_ca`; without it the certificate is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_checked_against_the_configured_authority() {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start_tls().await;
    let cert = d.cert.clone().expect("cert").display().to_string();
    let (url, _db) = database(Db::Sqlite).await;
    let secure = |c: &mut Config| {
        c.email_imap_host = "localhost".into();
        c.email_imap_security = "tls".into();
    };
    let untrusted = koban(Db::Sqlite, &url, &d, secure).await;
    let s = eventually("the certificate to be refused", || async {
        let s = status(&untrusted, "INBOX");
        (s.failures >= 1).then_some(s)
    })
    .await;
    assert!(s
        .last_error
        .unwrap_or_default()
        .contains("email_imap_tls_ca"));
    drop(untrusted);
    let (url, _db2) = database(Db::Sqlite).await;
    let t = koban(Db::Sqlite, &url, &d, |c| {
        secure(c);
        c.email_imap_tls_ca = cert;
    })
    .await;
    // The mailbox key names the host as configured.
    d.append("INBOX", &mail("tls", "tls1@example.jp")).await;
    assert_eq!(ingested(&t, "tls1@example.jp").await.0, "opened");
}

/// STARTTLS against Dovecot, its certificate trusted through
/// `email_imap_tls_ca`: Koban signs in only on the upgraded connection,
/// as Dovecot's log of the sign-in says. (Dovecot counts 127.0.0.1 as
/// secure, so a refusal of plain text cannot be shown here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_comes_before_the_password() {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start_starttls().await;
    let cert = d.cert.clone().expect("cert").display().to_string();
    let (url, _db) = database(Db::Sqlite).await;
    let t = koban(Db::Sqlite, &url, &d, |c| {
        c.email_imap_host = "localhost".into();
        c.email_imap_security = "starttls".into();
        c.email_imap_tls_ca = cert;
    })
    .await;
    d.append("INBOX", &mail("starttls", "starttls1@example.jp"))
        .await;
    assert_eq!(ingested(&t, "starttls1@example.jp").await.0, "opened");
    let log = d.log();
    let logins: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Login: user=<desk>"))
        .collect();
    assert!(logins.len() >= 2, "{log}");
    assert!(
        logins.iter().all(|l| l.contains(", TLS")),
        "every sign-in after STARTTLS: {log}"
    );
}

/// A folder named in Japanese, as people name them here: selected by its
/// modified UTF-7 name, read like any other.
async fn a_folder_named_in_japanese_is_read(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    d.client(vec![serde_json::json!(["create", "サポート 窓口"])])
        .await;
    d.append("サポート 窓口", &mail("フォルダ", "folder1@example.jp"))
        .await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| {
        c.email_imap_mailboxes = "サポート 窓口".into()
    })
    .await;
    assert_eq!(ingested(&t, "folder1@example.jp").await.0, "opened");
    last_uid_reaches(&t, "サポート 窓口", 1).await;
    let source: String =
        sqlx::query("SELECT source FROM email_inbound WHERE message_id = 'folder1@example.jp'")
            .fetch_one(t.app.store.read())
            .await
            .expect("row")
            .get("source");
    assert_eq!(source, "imap:サポート 窓口");
}
both_db!(a_folder_named_in_japanese_is_read);

/// `email_imap_start = new` on a mailbox that holds years of answered
/// mail: the first poll takes none of it, and what arrives after is taken.
async fn a_first_poll_of_new_mail_leaves_the_old_alone(db: Db) {
    if !have_dovecot() {
        return;
    }
    let d = Dovecot::start().await;
    d.append("INBOX", &mail("古い", "old1@example.jp")).await;
    d.append("INBOX", &mail("古い", "old2@example.jp")).await;
    let (url, _db) = database(db).await;
    let t = koban(db, &url, &d, |c| c.email_imap_start = "new".into()).await;
    eventually("the mailbox to be polled", || async {
        status(&t, "INBOX").polling.then_some(())
    })
    .await;
    last_uid_reaches(&t, "INBOX", 2).await;
    d.append("INBOX", &mail("新しい", "new1@example.jp")).await;
    assert_eq!(ingested(&t, "new1@example.jp").await.0, "opened");
    last_uid_reaches(&t, "INBOX", 3).await;
    assert_eq!(count(&t, "SELECT COUNT(*) FROM email_inbound").await, 1);
}
both_db!(a_first_poll_of_new_mail_leaves_the_old_alone);
