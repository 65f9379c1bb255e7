//! Starting the real application against a fresh database, and helpers to talk to it.

#![allow(dead_code)]

use koban::app::App;
use koban::config::Config;
use koban::crypto::ServerKey;
use koban::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

mod rows;
mod sms;
mod smtp;

pub use rows::*;
pub use sms::*;
pub use smtp::*;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs `$scenario(app: TestApp)` on both databases as `<name>::sqlite` and `<name>::postgres`.
macro_rules! both {
    ($scenario:ident) => {
        both!($scenario, |_c: &mut koban::config::Config| {});
    };
    ($scenario:ident, $configure:expr) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::support::TestApp::start($crate::support::Db::Sqlite, $configure).await;
                super::$scenario(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::start_if_postgres($configure).await
                else {
                    return;
                };
                super::$scenario(app).await;
            }
        }
    };
}

/// A running Koban on a random port with its own database and data folder.
pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub http: reqwest::Client,
    pub db: Db,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The PostgreSQL server for tests, if configured; panics under CI when absent.
pub fn postgres_url() -> Option<String> {
    match std::env::var("KOBAN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but KOBAN_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI"
            )
        }
        _ => {
            eprintln!("KOBAN_TEST_POSTGRES_URL not set: skipping the PostgreSQL variant");
            None
        }
    }
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!(
        "koban_t_{}",
        koban::crypto::random_token(9)
            .to_ascii_lowercase()
            .replace(['-', '_'], "x")
    );
    let mut admin = sqlx::AnyConnection::connect(server_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {server_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server_url, String::new()),
    };
    let without_db = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    format!("{without_db}/{name}{query}")
}

/// The configuration tests start from: fast job polling, generous limits.
pub fn test_config(database_url: &str, data_dir: &std::path::Path) -> Config {
    Config {
        database_url: database_url.to_string(),
        data_dir: data_dir.display().to_string(),
        listen: "127.0.0.1:0".into(),
        job_poll_milliseconds: 50,
        rate_limit_ip_per_minute: 100_000,
        rate_limit_account_per_minute: 1_000,
        ..Config::default()
    }
}

impl TestApp {
    /// Starts on `db` with `configure` applied to the test configuration.
    pub async fn start(db: Db, configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("koban.db").display()),
            Db::Postgres => {
                fresh_postgres_database(&postgres_url().expect("postgres configured")).await
            }
        };
        let mut config = test_config(&database_url, dir.path());
        configure(&mut config);
        TestApp::start_with_config(db, config, dir).await
    }

    /// Starts on PostgreSQL, or returns None where it is not configured.
    pub async fn start_if_postgres(configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        postgres_url()?;
        Some(TestApp::start(Db::Postgres, configure).await)
    }

    /// Starts with a full configuration.
    pub async fn start_with_config(db: Db, config: Config, dir: tempfile::TempDir) -> TestApp {
        // Server-side errors show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .try_init();
        let database_url = config.database_url.clone();
        let store = Store::connect(&config.database_url, 8)
            .await
            .expect("connect");
        koban::app::migrate(&store).await.expect("migrate");
        let key = ServerKey::load_or_create(dir.path()).expect("server key");
        let app = koban::app::assemble(config, store, key).expect("assemble");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(koban::app::run(app.clone(), listener, async move {
            let _ = stopped.await;
        }));
        // Like an app, the test client names its device, so repeated sign-ins
        // are one device rather than a churn of new ones.
        let mut headers = reqwest::header::HeaderMap::new();
        let device = format!("test-device-{}", koban::crypto::random_token(12));
        headers.insert(
            "x-koban-device",
            reqwest::header::HeaderValue::from_str(&device).expect("device id"),
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("client");
        TestApp {
            base,
            app,
            http,
            db,
            database_url,
            dir,
            stop: Some(stop),
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs JSON; returns status and parsed body (Null when empty).
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    /// POSTs JSON with a bearer token.
    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// GETs with an optional bearer token.
    pub async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request).await
    }

    /// DELETEs with a bearer token.
    pub async fn delete(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(self.url(path)).bearer_auth(token))
            .await
    }

    /// Sends any request; returns status and parsed body.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// Waits for what the server writes after answering: refusals answered
    /// from memory reach the login history just after their response, and
    /// codes asked for are issued by a job.
    pub async fn settle(&self) {
        koban::security::state(&self.app)
            .attempt_log
            .flush()
            .await
            .expect("login history written");
        self.requested_codes_done().await;
    }

    /// Queues a job of `kind` with no payload to run at once, as its
    /// schedule would later, and wakes the worker.
    pub async fn run_job_now(&self, kind: &str) {
        koban::jobs::enqueue(
            self.app.store.write(),
            kind,
            &serde_json::json!({}),
            None,
            koban::store::now_ms(),
        )
        .await
        .expect("enqueue");
        self.app.jobs_wakeup.notify_one();
    }

    /// Counts rows of a table (to prove that a refused request wrote nothing).
    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        self.settle().await;
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.app.store.read())
            .await
            .expect("count");
        row.try_get("n").expect("n")
    }

    /// Runs SQL directly (to age a code or a session in a test).
    pub async fn exec(&self, sql: &str) {
        self.settle().await;
        sqlx::query(sql)
            .execute(self.app.store.write())
            .await
            .expect("exec");
    }

    /// Waits for the newest message to `destination` to leave the queue and
    /// returns the 6-digit code in it (read from the development outbox).
    pub async fn latest_code(&self, destination: &str) -> String {
        let body = self.latest_message(destination).await;
        let digits: Vec<&str> = body
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| s.len() == 6)
            .collect();
        digits
            .first()
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_string()
    }

    /// The body of the newest sent outbox message carrying a code to
    /// `destination` (security notices are passed over).
    /// Steps the session `token` up with a code sent to `contact`, its
    /// account's verified contact (an account without 2FA).
    pub async fn stepped_up(&self, token: &str, contact: &str) {
        let (status, _) = self
            .post_as(token, "/api/v1/me/step-up/code", serde_json::json!({}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let code = self.latest_code(contact).await;
        let (status, body) = self
            .post_as(
                token,
                "/api/v1/me/step-up",
                serde_json::json!({ "method": "code", "code": code }),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// The body of the newest message of `purpose` to `destination`, once
    /// it has left the queue.
    pub async fn newest_delivery_of(&self, purpose: &str, destination: &str) -> String {
        self.newest_sent_body(destination, "AND purpose = $2", Some(purpose))
            .await
            .unwrap_or_else(|| panic!("no {purpose} message to {destination} was sent"))
    }

    /// Waits for the newest message to `destination` that carries a code
    /// (not a notice) to leave the queue and returns its body.
    pub async fn latest_message(&self, destination: &str) -> String {
        self.newest_sent_body(
            destination,
            "AND purpose NOT IN ('new_device_alert', 'lock_notice', 'risky_sign_in_alert', 'security_reminder', 'org_invite')",
            None,
        )
        .await
        .unwrap_or_else(|| panic!("no message to {destination} was sent"))
    }

    /// The body of the newest message to `destination` matching `filter`
    /// (SQL after the destination, with `purpose` as `$2` if given), once it
    /// was sent; None after ten seconds.
    async fn newest_sent_body(
        &self,
        destination: &str,
        filter: &str,
        purpose: Option<&str>,
    ) -> Option<String> {
        use sqlx::Row;
        self.settle().await;
        let sql = format!(
            "SELECT status, body_sealed FROM deliveries WHERE destination = $1 {filter} ORDER BY id DESC LIMIT 1"
        );
        for _ in 0..200 {
            let mut query = sqlx::query(&sql).bind(destination);
            if let Some(purpose) = purpose {
                query = query.bind(purpose);
            }
            let row = query
                .fetch_optional(self.app.store.read())
                .await
                .expect("query");
            if let Some(row) = row {
                let status: String = row.try_get("status").expect("status");
                if status == "sent" {
                    let sealed: Option<Vec<u8>> = row.try_get("body_sealed").expect("body");
                    return Some(
                        koban::delivery::open_body(&self.app.key, sealed)
                            .expect("outbox body opens"),
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Waits until every code asked for through `POST /api/v1/codes` (or the
    /// pages) was issued: they are issued by a job after the answer.
    pub async fn requested_codes_done(&self) {
        for _ in 0..200 {
            use sqlx::Row;
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM jobs WHERE kind IN ('send_code', 'send_unlock_code') AND status IN ('pending', 'running')",
            )
            .fetch_one(self.app.store.read())
            .await
            .expect("count send_code jobs");
            let waiting: i64 = row.try_get("n").expect("n");
            if waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("requested codes were not issued within five seconds");
    }

    /// Registers and verifies an account; returns its bearer token.
    pub async fn signed_up(&self, identifier: &str, password: &str) -> String {
        self.signed_up_in(identifier, password, None).await
    }

    /// Registers and verifies an account whose own language is `locale`
    /// (pages follow it over the browser's); returns its bearer token.
    pub async fn signed_up_in(
        &self,
        identifier: &str,
        password: &str,
        locale: Option<&str>,
    ) -> String {
        let field = if identifier.contains('@') {
            "email"
        } else {
            "phone"
        };
        let mut account = serde_json::json!({ field: identifier, "password": password });
        if let Some(locale) = locale {
            account["locale"] = locale.into();
        }
        let (status, body) = self.post("/api/v1/accounts", account).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let code = self.latest_code(identifier).await;
        let (status, body) = self
            .post(
                "/api/v1/verifications",
                serde_json::json!({ "identifier": identifier, "code": code }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["session"]["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// Creates a verified account with a role and signs it in.
    pub async fn staff(&self, identifier: &str, role: &str) -> String {
        let contact =
            koban_policy::contact::parse_identifier(identifier, None).expect("identifier");
        koban::accounts::service::create_verified(&self.app, &contact, "staff password 1", role)
            .await
            .expect("create staff");
        let (status, body) = self
            .post(
                "/api/v1/sessions",
                serde_json::json!({ "identifier": identifier, "password": "staff password 1" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["session"]["token"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    /// Waits for a code different from `previous` to `destination`.
    pub async fn latest_code_after(&self, previous: &str, destination: &str) -> String {
        for _ in 0..100 {
            let code = self.latest_code(destination).await;
            if code != previous {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new code reached {destination}")
    }
}

// ---------------------------------------------------------------------------
// Delivery, jobs and process tests: outside servers Koban talks to, direct
// access to the queue, and the real binary.

/// Runs `$scenario(db: Db)` on both databases as `<name>::sqlite` and
/// `<name>::postgres`, for scenarios that must start something (an SMTP
/// server, an SMS provider) before Koban, or that start Koban themselves.
macro_rules! both_db {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::support::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::postgres_url().is_none() {
                    return;
                }
                super::$scenario($crate::support::Db::Postgres).await;
            }
        }
    };
}

/// Polls `probe` every 50 ms until it gives `Some`, for up to 15 s.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A port nobody listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A migrated store on a fresh database, with no application or worker
/// around it (for exercising the job queue directly). None where PostgreSQL
/// is not configured.
pub async fn fresh_store(db: Db) -> Option<(Store, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("koban.db").display()),
        Db::Postgres => fresh_postgres_database(&postgres_url()?).await,
    };
    let store = Store::connect(&url, 8).await.expect("connect");
    koban::app::migrate(&store).await.expect("migrate");
    Some((store, dir))
}

/// One number from the test database, after the server's late writes.
pub async fn scalar(t: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    t.settle().await;
    let row = sqlx::query(sql)
        .fetch_one(t.app.store.read())
        .await
        .expect("query");
    row.try_get::<i64, _>(0).expect("number")
}
