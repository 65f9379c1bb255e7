//! The real binary: two nodes on one PostgreSQL, graceful shutdown, the
//! server-key check, JSON logs with request ids, `koban config`,
//! `koban admin create-user`, and a first start with no configuration.

use crate::support::{free_port, fresh_postgres_database, postgres_url};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "plum blossom 2026";

/// `koban` with no `KOBAN_…` variables from the test's own environment
/// (so a developer's settings cannot leak in), run in `cwd`.
pub(crate) fn koban(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koban"));
    command.current_dir(cwd);
    for (name, _) in std::env::vars() {
        if name.starts_with("KOBAN_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs a short command to completion, killing it after 60 s.
pub(crate) fn run(mut command: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn koban");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("koban did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// A running `koban serve`, killed when dropped.
pub(crate) struct Node {
    child: Child,
    base: String,
    stderr: PathBuf,
}

impl Node {
    /// Starts `koban serve` in `cwd` with `env` on a free port; waits for /readyz.
    pub(crate) async fn start(cwd: &Path, env: &[(&str, &str)]) -> Node {
        let port = free_port();
        let stderr = cwd.join(format!("koban-{port}.stderr"));
        let mut command = koban(cwd);
        command
            .arg("serve")
            .env("KOBAN_LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let child = command.spawn().expect("spawn koban serve");
        let mut node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        node.wait_ready().await;
        node
    }

    async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "koban serve exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if let Ok(response) = http.get(format!("{}/readyz", self.base)).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("koban serve was not ready within 60 s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What it wrote to stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends SIGTERM and waits up to `limit` for the exit; returns the status and how long it took.
    fn terminate(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed());
            }
            if started.elapsed() > limit {
                panic!(
                    "koban serve still running {limit:?} after SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Writes a private server key into each folder: every node of one
/// deployment must share it (codes are keyed-hashed and outbox bodies
/// sealed with it).
pub(crate) fn shared_key(dirs: &[&Path]) {
    use std::os::unix::fs::PermissionsExt;
    let first = dirs[0];
    koban::crypto::ServerKey::load_or_create(first).expect("create key");
    for dir in &dirs[1..] {
        std::fs::create_dir_all(dir).expect("data dir");
        let to = dir.join("server.key");
        std::fs::copy(first.join("server.key"), &to).expect("copy key");
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// Reads the newest code sent to `destination` from the outbox in `database_url`.
async fn code_from_outbox(database_url: &str, data_dir: &Path, destination: &str) -> String {
    use sqlx::Row;
    let store = koban::store::Store::connect(database_url, 2)
        .await
        .expect("connect");
    let key = koban::crypto::ServerKey::load_or_create(data_dir).expect("key");
    let sealed: Vec<u8> = crate::support::eventually("the code in the outbox", || async {
        let row = sqlx::query(
            "SELECT status, body_sealed FROM deliveries WHERE destination = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(destination)
        .fetch_optional(store.read())
        .await
        .expect("query")?;
        let status: String = row.try_get("status").expect("status");
        (status == "sent").then(|| row.try_get("body_sealed").expect("body"))
    })
    .await;
    store.close().await;
    let body = koban::delivery::open_body(&key, Some(sealed)).expect("the outbox body opens");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body:?}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_share_sessions() {
    let Some(server) = postgres_url() else {
        return;
    };
    let database_url = fresh_postgres_database(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    shared_key(&[&data_a, &data_b]);
    let (dir_a, dir_b) = (data_a.display().to_string(), data_b.display().to_string());
    let a = Node::start(
        dir.path(),
        &[
            ("KOBAN_DATABASE_URL", &database_url),
            ("KOBAN_DATA_DIR", &dir_a),
        ],
    )
    .await;
    let b = Node::start(
        dir.path(),
        &[
            ("KOBAN_DATABASE_URL", &database_url),
            ("KOBAN_DATA_DIR", &dir_b),
        ],
    )
    .await;
    let http = reqwest::Client::new();

    // Sign up on A; the code (hashed with the shared key) verifies on B.
    let email = "two-nodes@example.com";
    let (status, body) = send(
        http.post(a.url("/api/v1/accounts"))
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = code_from_outbox(&database_url, &data_a, email).await;
    let (status, body) = send(
        http.post(b.url("/api/v1/verifications"))
            .json(&json!({ "identifier": email, "code": code })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Sign in on A, use the session on B, sign out on B: A refuses it at once.
    let (status, body) = send(
        http.post(a.url("/api/v1/sessions"))
            .json(&json!({ "identifier": email, "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, me) = send(http.get(b.url("/api/v1/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["email"], email);
    let (status, _) = send(http.get(a.url("/api/v1/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        http.delete(b.url("/api/v1/sessions/current"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(http.get(a.url("/api/v1/me")).bearer_auth(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = Node::start(dir.path(), &[]).await;
    let (status, _) = send(reqwest::Client::new().get(node.url("/healthz"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, took) = node.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status}:\n{}", node.log());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(node.log().contains("stopped"), "{}", node.log());
}

/// An SMTP port that another program holds stops `koban serve` with the
/// port's name, as a busy HTTP port does: a server that started but took
/// no mail would lose nothing yet tell nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_smtp_port_stops_the_start_and_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let smtp = held.local_addr().expect("address").to_string();
    let mut command = koban(dir.path());
    command
        .arg("serve")
        .env("KOBAN_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("KOBAN_EMAIL_ADDRESSES", "support@desk.example")
        .env("KOBAN_EMAIL_SMTP_LISTEN", &smtp);
    let output = run(command, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&smtp), "names the address: {stderr}");
    assert!(
        stderr.contains("email_smtp_listen"),
        "names the setting: {stderr}"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_readable_server_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("koban-data");
    koban::crypto::ServerKey::load_or_create(&data).expect("key");
    std::fs::set_permissions(
        data.join("server.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let mut command = koban(dir.path());
    command
        .arg("serve")
        .env("KOBAN_LISTEN", format!("127.0.0.1:{}", free_port()));
    let output = run(command, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("koban-data/server.key"),
        "names the file: {stderr}"
    );
    assert!(stderr.contains("chmod 600"), "says how to fix it: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Request lines come from tower_http's trace layer at debug level; the
    // rest stays at info, as an operator would set it.
    let mut node = Node::start(
        dir.path(),
        &[
            ("KOBAN_LOG_FORMAT", "json"),
            ("KOBAN_LOG_LEVEL", "info,tower_http=debug"),
        ],
    )
    .await;
    let response = reqwest::Client::new()
        .get(node.url("/api/v1/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id")
        .to_string();
    let (status, _) = node.terminate(Duration::from_secs(10));
    assert!(status.success());
    let log = node.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(parsed.is_object(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains(&request_id)),
        "no log line carries request id {request_id}:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_masks_secrets_and_names_bad_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = koban(dir.path());
    command
        .arg("config")
        .env("KOBAN_SMTP_PASSWORD", "hunter2")
        .env("KOBAN_SMS_SECRET", "sms-secret-value")
        .env("KOBAN_SMTP_PORT", "2525");
    let output = run(command, None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("sms-secret-value"),
        "{stdout}"
    );
    assert!(stdout.contains("smtp_password = \"********\""), "{stdout}");
    assert!(stdout.contains("smtp_port = 2525"), "{stdout}");
    assert!(stdout.contains("listen = \"127.0.0.1:8080\""), "{stdout}");

    for (name, value, expected) in [
        ("KOBAN_NO_SUCH_SETTING", "1", "no_such_setting"),
        ("KOBAN_SMTP_PORT", "many", "smtp_port"),
        ("KOBAN_LOG_FORMAT", "xml", "log_format"),
        ("KOBAN_LISTEN", "everywhere", "listen"),
    ] {
        let mut command = koban(dir.path());
        command.arg("config").env(name, value);
        let output = run(command, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}={value} accepted");
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // `serve` refuses a bad setting before doing anything.
    let mut command = koban(dir.path());
    command
        .arg("serve")
        .env("KOBAN_DELIVERY_MODE", "carrier-pigeon");
    let output = run(command, None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("delivery_mode"));
    assert!(!dir.path().join("koban.db").exists());
    // Live delivery with nowhere to deliver, or an unsigned SMS provider: refused at start.
    for (env, expected) in [
        (vec![("KOBAN_DELIVERY_MODE", "live")], "smtp_host"),
        (
            vec![
                ("KOBAN_DELIVERY_MODE", "live"),
                ("KOBAN_SMS_URL", "https://sms.example/send"),
            ],
            "sms_secret",
        ),
        (
            vec![("KOBAN_SMS_URL", "not a url"), ("KOBAN_SMS_SECRET", "s")],
            "sms_url",
        ),
    ] {
        let mut command = koban(dir.path());
        command
            .arg("serve")
            .env("KOBAN_LISTEN", format!("127.0.0.1:{}", free_port()))
            .envs(env.iter().copied());
        let output = run(command, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{env:?} started");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_user_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let create = |password: &str| {
        let mut command = koban(dir.path());
        command.args([
            "admin",
            "create-user",
            "--role",
            "admin",
            "--identifier",
            "admin@example.com",
        ]);
        run(command, Some(&format!("{password}\n")))
    };
    // A weak password is refused, and nothing is created.
    let output = create("password");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("password"));
    let output = create("quiet harbour lantern 42");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("created admin account"));
    // Twice is a clear error.
    let output = create("another harbour lantern 43");
    assert!(!output.status.success());

    let node = Node::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let (status, body) = send(http.post(node.url("/api/v1/sessions")).json(
        &json!({ "identifier": "admin@example.com", "password": "quiet harbour lantern 42" }),
    ))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account"]["role"], "admin");
    let token = body["session"]["token"].as_str().expect("token");
    let (status, _) = send(
        http.get(node.url("/api/v1/admin/outbox"))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_in_an_empty_folder() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    // Only the port differs from the defaults (8080 may be taken on a test machine).
    let node = Node::start(dir.path(), &[]).await;
    let (status, body) = send(reqwest::Client::new().get(node.url("/readyz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(dir.path().join("koban.db").is_file(), "creates ./koban.db");
    let key = dir.path().join("koban-data").join("server.key");
    let mode = std::fs::metadata(&key)
        .expect("creates ./koban-data/server.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&key).expect("key").len(), 32);
}
