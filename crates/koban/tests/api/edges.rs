//! The smaller leaks and rough edges: what probes and metrics show, cookies
//! under TLS, the sign-up throttle, code requests that take the same work
//! whoever they name, a SQLite file shared by two processes, and its WAL
//! checkpointed off the writer.

use crate::support::{eventually, scalar, TestApp};
use koban::store::{Store, StoreError};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

const PASSWORD: &str = "plum blossom 2026";

async fn readiness_tells_a_prober_nothing_of_the_database(t: TestApp) {
    let (status, body) = t.get(None, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    t.exec("DROP TABLE schema_migrations").await;
    let (status, body) = t.get(None, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["detail"], "database unavailable");
    let text = body.to_string().to_lowercase();
    for leak in [
        "schema_migrations",
        "no such table",
        "does not exist",
        "error",
    ] {
        assert!(!text.contains(leak), "{text}");
    }
    // The probe only reads: it did not make the table again.
    let (status, _) = t.get(None, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
both!(readiness_tells_a_prober_nothing_of_the_database);

async fn invented_methods_share_one_metrics_label(t: TestApp) {
    for method in ["BREW", "WHEN", "PROPFIND"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        t.http
            .request(method, t.url("/api/v1/me"))
            .send()
            .await
            .expect("request");
    }
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("method=\"other\""), "{text}");
    for invented in ["BREW", "WHEN", "PROPFIND"] {
        assert!(!text.contains(invented), "{invented} became a label");
    }
}
both!(invented_methods_share_one_metrics_label);

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

fn cookie<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

/// Every cookie a browser gets: the CSRF token from a page, the device key
/// and the session from a sign-in.
async fn cookies_of(t: &TestApp) -> Vec<String> {
    t.signed_up("cookie@example.com", PASSWORD).await;
    let browser = reqwest::Client::new();
    let page = browser.get(t.url("/signin")).send().await.expect("page");
    let mut cookies = set_cookies(&page);
    let signed_in = browser
        .post(t.url("/api/v1/sessions"))
        .json(&json!({ "identifier": "cookie@example.com", "password": PASSWORD }))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(signed_in.status(), StatusCode::CREATED);
    cookies.extend(set_cookies(&signed_in));
    cookies
}

async fn cookies_are_secure_under_tls(t: TestApp) {
    let cookies = cookies_of(&t).await;
    for name in ["koban_csrf", "koban_device"] {
        let value = cookie(&cookies, name);
        assert!(value.contains("; Secure"), "{value}");
        assert!(value.contains("HttpOnly"), "{value}");
    }
}
both!(
    cookies_are_secure_under_tls,
    |c: &mut koban::config::Config| {
        c.public_url = "https://koban.example.com".into();
    }
);

async fn cookies_are_not_secure_over_plain_http(t: TestApp) {
    let cookies = cookies_of(&t).await;
    for name in ["koban_csrf", "koban_device"] {
        assert!(!cookie(&cookies, name).contains("Secure"));
    }
}
both!(cookies_are_not_secure_over_plain_http);

async fn sign_up_is_throttled_per_contact(t: TestApp) {
    let body = json!({ "email": "taken@example.com", "password": PASSWORD });
    let (status, _) = t.post("/api/v1/accounts", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..4 {
        let (status, problem) = t.post("/api/v1/accounts", body.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    }
    let (status, problem) = t.post("/api/v1/accounts", body.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    // The same for an address nobody has: the sixth answer is the same.
    let unused = json!({ "email": "unused@example.com", "password": "short" });
    for _ in 0..6 {
        let (status, _) = t.post("/api/v1/accounts", unused.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a refused password costs nothing"
        );
    }
    let (status, _) = t
        .post(
            "/api/v1/accounts",
            json!({ "email": "unused@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(t.count("accounts").await, 2);
}
both!(sign_up_is_throttled_per_contact);

async fn code_requests_do_the_same_work_for_anyone(t: TestApp) {
    t.signed_up("known@example.com", PASSWORD).await;
    let jobs = "SELECT COUNT(*) FROM jobs WHERE kind = 'send_code'";
    let writes_before = scalar(&t, jobs).await;
    for who in ["known@example.com", "nobody@example.com"] {
        let (status, body) = t
            .post(
                "/api/v1/codes",
                json!({ "identifier": who, "purpose": "password_reset" }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body, serde_json::Value::Null);
    }
    // One job each, known or not; only the known one's job sends a code.
    assert_eq!(scalar(&t, jobs).await, writes_before + 2);
    let code = t.latest_code("known@example.com").await;
    assert_eq!(code.len(), 6);
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE destination = 'nobody@example.com'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'send_code' AND status <> 'done'"
        )
        .await,
        0
    );
    let (status, _) = t
        .post(
            "/api/v1/password-resets",
            json!({ "identifier": "known@example.com", "code": code, "new_password": "a new plum 2027" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
both!(code_requests_do_the_same_work_for_anyone);

/// Holds SQLite's write lock from another connection for `hold`.
async fn hold_write_lock(url: &str, hold: Duration) -> tokio::task::JoinHandle<()> {
    let holder = Store::connect(url, 2).await.expect("connect");
    let mut tx = holder.write().begin().await.expect("begin");
    sqlx::query("UPDATE schema_migrations SET version = version WHERE version < 0")
        .execute(&mut *tx)
        .await
        .expect("take the write lock");
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        tx.commit().await.expect("commit");
        holder.close().await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_waits_for_the_sqlite_file_and_says_what_it_waited_for() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("koban.db").display());
    let first = Store::connect(&url, 2).await.expect("connect");
    koban::app::migrate(&first).await.expect("migrate");
    // A server starting holds the file for a moment: the command waits.
    let held = hold_write_lock(&url, Duration::from_millis(1500)).await;
    let second = Store::connect(&url, 2).await.expect("connect");
    koban::app::migrate(&second)
        .await
        .expect("waits for the lock, then finds nothing to do");
    held.await.expect("holder");
    // Held past the busy timeout: a clear error names what it was doing.
    let held = hold_write_lock(&url, Duration::from_secs(8)).await;
    let error = koban::app::migrate(&second).await.expect_err("gives up");
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("bringing the database schema up to date"),
        "{text}"
    );
    assert!(text.contains("another Koban process"), "{text}");
    held.await.expect("holder");
    eventually("the file is free again", || async {
        koban::app::migrate(&second).await.ok()
    })
    .await;
}

async fn unlock_code_requests_do_the_same_work_for_anyone(t: TestApp) {
    t.signed_up("stuck@example.com", PASSWORD).await;
    for i in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": "stuck@example.com", "password": format!("wrong {i} guess") }),
        )
        .await;
    }
    let jobs = "SELECT COUNT(*) FROM jobs WHERE kind = 'send_unlock_code'";
    let before = scalar(&t, jobs).await;
    for who in ["stuck@example.com", "nobody@example.com"] {
        let (status, body) = t.post("/api/v1/unlock", json!({ "identifier": who })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    assert_eq!(scalar(&t, jobs).await, before + 2);
    let unlock = t.newest_delivery_of("unlock", "stuck@example.com").await;
    assert!(crate::chromium::six_digits(&unlock).is_some(), "{unlock}");
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM deliveries WHERE destination = 'nobody@example.com'"
        )
        .await,
        0
    );
}
both!(unlock_code_requests_do_the_same_work_for_anyone);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_wal_is_checkpointed_off_the_writer() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("koban.db");
    let store = Store::connect(&format!("sqlite://{}", file.display()), 2)
        .await
        .expect("connect");
    sqlx::query("CREATE TABLE filler (body BLOB NOT NULL)")
        .execute(store.write())
        .await
        .expect("create");
    // 2 MiB in 64 commits: half of what made SQLite's own writer checkpoint
    // (1,000 pages), a fortieth of the writer's backstop now (20,000).
    for _ in 0..64 {
        sqlx::query("INSERT INTO filler (body) VALUES (randomblob(32768))")
            .execute(store.write())
            .await
            .expect("insert");
    }
    // Only a checkpoint copies the WAL's pages into the database file.
    eventually("the WAL copied into the database file", || async {
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        (size > 2 * 1024 * 1024).then_some(())
    })
    .await;
    store.close().await;
}
