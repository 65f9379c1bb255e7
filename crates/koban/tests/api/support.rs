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
            "AND purpose NOT IN ('new_device_alert', 'lock_notice', 'risky_sign_in_alert', 'security_reminder')",
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
        let field = if identifier.contains('@') {
            "email"
        } else {
            "phone"
        };
        let (status, body) = self
            .post(
                "/api/v1/accounts",
                serde_json::json!({ field: identifier, "password": password }),
            )
            .await;
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

/// A row of `deliveries`, as the tests look at it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub status: String,
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub has_body: bool,
    pub delivered_at: Option<i64>,
}

/// A row of `jobs`, as the tests look at it.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
}

/// Reads one delivery row by id.
pub async fn delivery_row(store: &Store, id: i64) -> Option<DeliveryRow> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT id, status, provider, provider_message_id, error, attempts, body_sealed, delivered_at
         FROM deliveries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.read())
    .await
    .expect("read delivery")?;
    let body: Option<Vec<u8>> = row.try_get("body_sealed").expect("body");
    Some(DeliveryRow {
        id: row.try_get("id").expect("id"),
        status: row.try_get("status").expect("status"),
        provider: row.try_get("provider").expect("provider"),
        provider_message_id: row.try_get("provider_message_id").expect("pmid"),
        error: row.try_get("error").expect("error"),
        attempts: row.try_get("attempts").expect("attempts"),
        has_body: body.is_some(),
        delivered_at: row.try_get("delivered_at").expect("delivered_at"),
    })
}

/// Reads one job row by its idempotency key.
pub async fn job_row(store: &Store, key: &str) -> Option<JobRow> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT id, status, attempts, max_attempts, run_at, locked_by, last_error
         FROM jobs WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(store.read())
    .await
    .expect("read job")?;
    Some(JobRow {
        id: row.try_get("id").expect("id"),
        status: row.try_get("status").expect("status"),
        attempts: row.try_get("attempts").expect("attempts"),
        max_attempts: row.try_get("max_attempts").expect("max_attempts"),
        run_at: row.try_get("run_at").expect("run_at"),
        locked_by: row.try_get("locked_by").expect("locked_by"),
        last_error: row.try_get("last_error").expect("last_error"),
    })
}

impl TestApp {
    /// The newest delivery to `destination`, once there is one.
    pub async fn newest_delivery(&self, destination: &str) -> DeliveryRow {
        use sqlx::Row;
        self.settle().await;
        let id: i64 = eventually("a delivery", || async {
            sqlx::query("SELECT id FROM deliveries WHERE destination = $1 ORDER BY id DESC LIMIT 1")
                .bind(destination)
                .fetch_optional(self.app.store.read())
                .await
                .expect("query")
                .map(|r| r.try_get("id").expect("id"))
        })
        .await;
        self.delivery(id).await
    }

    /// The delivery with `id`.
    pub async fn delivery(&self, id: i64) -> DeliveryRow {
        delivery_row(&self.app.store, id)
            .await
            .expect("delivery exists")
    }

    /// The job that sends delivery `id`.
    pub async fn delivery_job(&self, id: i64) -> JobRow {
        job_row(&self.app.store, &format!("delivery:{id}"))
            .await
            .expect("delivery job exists")
    }

    /// Waits until delivery `id` satisfies `check`, and returns it.
    pub async fn delivery_when(
        &self,
        id: i64,
        what: &str,
        check: impl Fn(&DeliveryRow) -> bool,
    ) -> DeliveryRow {
        eventually(what, || async {
            let row = self.delivery(id).await;
            check(&row).then_some(row)
        })
        .await
    }

    /// Waits until delivery `id`'s job satisfies `check` (the worker records
    /// a job's outcome just after the delivery's), and returns it.
    pub async fn delivery_job_when(
        &self,
        id: i64,
        what: &str,
        check: impl Fn(&JobRow) -> bool,
    ) -> JobRow {
        eventually(what, || async {
            let row = self.delivery_job(id).await;
            check(&row).then_some(row)
        })
        .await
    }

    /// Makes delivery `id`'s job due now (skipping its back-off).
    pub async fn make_due(&self, id: i64) {
        sqlx::query("UPDATE jobs SET run_at = 0 WHERE idempotency_key = $1")
            .bind(format!("delivery:{id}"))
            .execute(self.app.store.write())
            .await
            .expect("make due");
        self.app.jobs_wakeup.notify_one();
    }
}

/// One message an [`SmtpServer`] accepted.
#[derive(Debug, Clone)]
pub struct SmtpMessage {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, with CRLF line ends.
    pub data: String,
    /// Who authenticated with AUTH PLAIN on that connection, if anyone.
    pub user: Option<String>,
}

impl SmtpMessage {
    /// The first header called `name` (any case), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((key, value)) = line.split_once(':') {
                if key.trim().eq_ignore_ascii_case(name) {
                    found = Some(value.trim().to_string());
                }
            }
        }
        found
    }

    /// The body as text, undoing base64 or quoted-printable transfer encoding.
    pub fn text(&self) -> String {
        use base64::Engine;
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let encoding = self
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .expect("base64 body"),
            "quoted-printable" => {
                let joined = body.replace("=\r\n", "");
                let raw = joined.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < raw.len() {
                    if raw[i] == b'=' && i + 2 < raw.len() {
                        let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("");
                        if let Ok(byte) = u8::from_str_radix(hex, 16) {
                            out.push(byte);
                            i += 3;
                            continue;
                        }
                    }
                    out.push(raw[i]);
                    i += 1;
                }
                out
            }
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The first 6-digit run in the body.
    pub fn code(&self) -> Option<String> {
        self.text()
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .map(str::to_string)
    }
}

#[derive(Default)]
struct SmtpState {
    messages: Vec<SmtpMessage>,
    /// Answer to RCPT TO instead of 250, e.g. `451 4.3.0 try again later`.
    reject_rcpt: Option<String>,
    /// When set, AUTH PLAIN with these is required before MAIL FROM.
    credentials: Option<(String, String)>,
}

/// A small SMTP server speaking enough of RFC 5321 for a real client:
/// greeting, EHLO, optional AUTH PLAIN, MAIL, RCPT, DATA with dot-stuffing,
/// RSET, NOOP, QUIT. It records what it accepts.
pub struct SmtpServer {
    pub port: u16,
    state: Arc<std::sync::Mutex<SmtpState>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on a free port, accepting anyone.
    pub async fn start() -> SmtpServer {
        SmtpServer::start_with(None).await
    }

    /// Starts on a free port, requiring AUTH PLAIN with `user` and `password`.
    pub async fn with_auth(user: &str, password: &str) -> SmtpServer {
        SmtpServer::start_with(Some((user.to_string(), password.to_string()))).await
    }

    async fn start_with(credentials: Option<(String, String)>) -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(std::sync::Mutex::new(SmtpState {
            credentials,
            ..SmtpState::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, state).await;
                });
            }
        });
        SmtpServer { port, state, task }
    }

    /// Points `config` at this server in live mode (with its credentials).
    pub fn configure(&self, config: &mut Config) {
        config.delivery_mode = "live".into();
        config.smtp_host = "127.0.0.1".into();
        config.smtp_port = self.port;
        config.smtp_tls = "none".into();
        if let Some((user, password)) = &self.state.lock().expect("smtp state").credentials {
            config.smtp_username = user.clone();
            config.smtp_password = password.clone();
        }
    }

    /// From now on, answer RCPT TO with `reply` (None: accept again).
    pub fn reject_recipients_with(&self, reply: Option<&str>) {
        self.state.lock().expect("smtp state").reject_rcpt = reply.map(str::to_string);
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<SmtpMessage> {
        self.state.lock().expect("smtp state").messages.clone()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<SmtpMessage> {
        eventually(&format!("{n} SMTP message(s)"), || async {
            let messages = self.messages();
            (messages.len() >= n).then_some(messages)
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<String>> {
    use tokio::io::AsyncBufReadExt;
    let mut raw = Vec::new();
    if reader.read_until(b'\n', &mut raw).await? == 0 {
        return Ok(None);
    }
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
}

fn smtp_address(argument: &str) -> String {
    let argument = argument.trim();
    match (argument.find('<'), argument.find('>')) {
        (Some(open), Some(close)) if open < close => argument[open + 1..close].to_string(),
        _ => argument.split_whitespace().next().unwrap_or("").to_string(),
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    state: Arc<std::sync::Mutex<SmtpState>>,
) -> std::io::Result<()> {
    use base64::Engine;
    use tokio::io::AsyncWriteExt;
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    write.write_all(b"220 koban-test ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut user: Option<String> = None;
    while let Some(line) = smtp_line(&mut reader).await? {
        let upper = line.to_ascii_uppercase();
        let credentials = state.lock().expect("smtp state").credentials.clone();
        let reply: String = if upper.starts_with("EHLO ") {
            let auth = if credentials.is_some() {
                "250-AUTH PLAIN\r\n"
            } else {
                ""
            };
            format!("250-koban-test greets you\r\n250-8BITMIME\r\n{auth}250 SIZE 10485760\r\n")
        } else if upper.starts_with("HELO ") {
            "250 koban-test\r\n".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = line[10..].trim().to_string();
            let encoded = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                smtp_line(&mut reader).await?.unwrap_or_default()
            } else {
                initial
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            match (&credentials, parts.as_slice()) {
                (Some((u, p)), [_, offered_user, offered_password])
                    if offered_user == u && offered_password == p =>
                {
                    user = Some(u.clone());
                    "235 2.7.0 Authentication successful\r\n".into()
                }
                _ => "535 5.7.8 Authentication credentials invalid\r\n".into(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if credentials.is_some() && user.is_none() {
                "530 5.7.0 Authentication required\r\n".into()
            } else {
                from = Some(smtp_address(&line[10..]));
                rcpts.clear();
                "250 2.1.0 OK\r\n".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let reject = state.lock().expect("smtp state").reject_rcpt.clone();
            match (&from, reject) {
                (None, _) => "503 5.5.1 MAIL first\r\n".into(),
                (Some(_), Some(reply)) => format!("{reply}\r\n"),
                (Some(_), None) => {
                    rcpts.push(smtp_address(&line[8..]));
                    "250 2.1.5 OK\r\n".into()
                }
            }
        } else if upper == "DATA" {
            if from.is_none() || rcpts.is_empty() {
                "503 5.5.1 RCPT first\r\n".into()
            } else {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    let Some(line) = smtp_line(&mut reader).await? else {
                        return Ok(());
                    };
                    if line == "." {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 4.5.2).
                    let line = line.strip_prefix('.').map(str::to_string).unwrap_or(line);
                    data.push_str(&line);
                    data.push_str("\r\n");
                }
                let mut guard = state.lock().expect("smtp state");
                guard.messages.push(SmtpMessage {
                    mail_from: from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpts),
                    data,
                    user: user.clone(),
                });
                format!("250 2.0.0 OK queued as {}\r\n", guard.messages.len())
            }
        } else if upper == "RSET" {
            from = None;
            rcpts.clear();
            "250 2.0.0 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK\r\n".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Command not recognized\r\n".into()
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// One message the [`SmsProvider`] accepted.
#[derive(Debug, Clone)]
pub struct SmsReceived {
    pub id: String,
    pub to: String,
    pub from: String,
    pub text: String,
    pub reference: String,
    pub idempotency_key: String,
}

#[derive(Default)]
struct SmsState {
    messages: Vec<SmsReceived>,
    /// Requests refused for a missing or wrong signature.
    bad_signatures: usize,
    /// Requests repeated with a key already seen (answered, not re-sent).
    repeats: usize,
    /// Answer every send with this status instead of accepting it.
    fail_with: Option<u16>,
}

/// A mock SMS provider speaking Koban's protocol: JSON POST signed with
/// HMAC-SHA256 in `X-Koban-Signature: sha256=<hex>`, deduplicated on
/// `Idempotency-Key`, answering `{"id": …}`.
pub struct SmsProvider {
    pub url: String,
    pub secret: String,
    state: Arc<std::sync::Mutex<SmsState>>,
    task: tokio::task::JoinHandle<()>,
}

/// The `X-Koban-Signature` value for `body` under `secret`.
pub fn sms_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        koban::crypto::hmac_hex(secret.as_bytes(), body)
    )
}

impl SmsProvider {
    /// Starts on a free port with `secret`.
    pub async fn start(secret: &str) -> SmsProvider {
        use axum::http::{HeaderMap, StatusCode as Code};
        let state = Arc::new(std::sync::Mutex::new(SmsState::default()));
        let shared = state.clone();
        let key = secret.to_string();
        let router = axum::Router::new().route(
            "/messages",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let state = shared.clone();
                let key = key.clone();
                async move {
                    let signed = headers
                        .get("x-koban-signature")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v == sms_signature(&key, &body));
                    let mut state = state.lock().expect("sms state");
                    if !signed {
                        state.bad_signatures += 1;
                        return (
                            Code::UNAUTHORIZED,
                            r#"{"error":"bad signature"}"#.to_string(),
                        );
                    }
                    let Some(idempotency_key) = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                    else {
                        return (
                            Code::BAD_REQUEST,
                            r#"{"error":"Idempotency-Key required"}"#.into(),
                        );
                    };
                    if let Some(status) = state.fail_with {
                        let code = Code::from_u16(status).unwrap_or(Code::INTERNAL_SERVER_ERROR);
                        return (code, r#"{"error":"provider says no"}"#.into());
                    }
                    if let Some(seen) = state
                        .messages
                        .iter()
                        .find(|m| m.idempotency_key == idempotency_key)
                    {
                        let id = seen.id.clone();
                        state.repeats += 1;
                        return (Code::OK, serde_json::json!({ "id": id }).to_string());
                    }
                    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
                        return (Code::BAD_REQUEST, r#"{"error":"not JSON"}"#.into());
                    };
                    let field = |k: &str| json[k].as_str().unwrap_or_default().to_string();
                    let id = format!("prov-{}", state.messages.len() + 1);
                    state.messages.push(SmsReceived {
                        id: id.clone(),
                        to: field("to"),
                        from: field("from"),
                        text: field("text"),
                        reference: field("reference"),
                        idempotency_key,
                    });
                    (Code::OK, serde_json::json!({ "id": id }).to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sms");
        let url = format!("http://{}/messages", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        SmsProvider {
            url,
            secret: secret.to_string(),
            state,
            task,
        }
    }

    /// Points `config` at this provider in live mode.
    pub fn configure(&self, config: &mut Config) {
        config.delivery_mode = "live".into();
        config.sms_url = self.url.clone();
        config.sms_secret = self.secret.clone();
        config.sms_sender_id = "KobanTest".into();
    }

    /// Answer every send with `status` (None: accept again).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().expect("sms state").fail_with = status;
    }

    /// Every message accepted so far (each idempotency key once).
    pub fn messages(&self) -> Vec<SmsReceived> {
        self.state.lock().expect("sms state").messages.clone()
    }

    /// Requests refused for their signature.
    pub fn bad_signatures(&self) -> usize {
        self.state.lock().expect("sms state").bad_signatures
    }

    /// Sends repeated with a key already seen.
    pub fn repeats(&self) -> usize {
        self.state.lock().expect("sms state").repeats
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<SmsReceived> {
        eventually(&format!("{n} SMS message(s)"), || async {
            let messages = self.messages();
            (messages.len() >= n).then_some(messages)
        })
        .await
    }
}

impl Drop for SmsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
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
