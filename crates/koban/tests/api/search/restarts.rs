//! The index on disk across restarts of the real binary: a killed server
//! comes back on the same data folder and finds what it found before
//! without a rebuild (and follows the log from there); a folder a killed
//! `koban search reindex` left behind is ignored; index files cut short
//! are noticed at the start, and the server rebuilds and finds again.

use super::{q, refs, PASSWORD};
use crate::process::{koban, run, send, Node};
use crate::support::{fresh_postgres_database, postgres_url, Db};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// Searches through `node` until an answer holds `reference`; the first
/// 200 answer must already hold it when `at_once`.
async fn found(node: &Node, token: &str, query: &str, reference: &str, at_once: bool) -> Value {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let (status, body) = send(
            http.get(node.url(&format!("/api/v1/search?{}", q(query))))
                .bearer_auth(token),
        )
        .await;
        if status == StatusCode::OK {
            if refs(&body).contains(&reference.to_string()) {
                return body;
            }
            assert!(!at_once, "the restarted server lost {reference}: {body}");
        } else {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{reference} never found: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_on(node: &Node, subject: &str, body: &str, email: &str) -> String {
    let (status, opened) = send(
        reqwest::Client::new()
            .post(node.url("/api/v1/desk/tickets"))
            .json(&json!({
                "subject": subject, "body": body, "email": email,
            })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    opened["reference"].as_str().expect("reference").to_string()
}

fn generation(root: &Path) -> String {
    std::fs::read_to_string(root.join("current"))
        .expect("current")
        .trim()
        .to_string()
}

/// The generation folders under the index root.
fn generations(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .expect("index root")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

async fn the_index_survives_restarts_and_rebuilds_when_broken(db: Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}", data.join("koban.db").display()),
        Db::Postgres => fresh_postgres_database(&postgres_url().expect("postgres")).await,
    };
    let data_dir = data.display().to_string();
    let env = [
        ("KOBAN_DATABASE_URL", database_url.as_str()),
        ("KOBAN_DATA_DIR", data_dir.as_str()),
        ("KOBAN_RATE_LIMIT_IP_PER_MINUTE", "100000"),
    ];
    let mut create = koban(dir.path());
    create
        .args([
            "admin",
            "create-user",
            "--role",
            "agent",
            "--identifier",
            "restart-agent@example.com",
        ])
        .envs(env.iter().copied());
    let output = run(create, Some(&format!("{PASSWORD}\n")));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let node = Node::start(dir.path(), &env).await;
    let (status, body) = send(
        reqwest::Client::new()
            .post(node.url("/api/v1/sessions"))
            .json(&json!({ "identifier": "restart-agent@example.com", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let first = open_on(
        &node,
        "再起動のテスト",
        "再起動しても検索できること",
        "restart-1@example.com",
    )
    .await;
    found(&node, &token, "再起動", &first, false).await;
    let root = data.join("search");
    let before = generation(&root);

    // Killed (no shutdown at all), and a reindex killed halfway left its
    // unpublished folder behind.
    drop(node);
    let leftover = root.join("g-0killedreindex");
    std::fs::create_dir_all(&leftover).expect("leftover");
    std::fs::write(leftover.join("meta.json"), b"{\"segments\": [").expect("half a file");
    let node = Node::start(dir.path(), &env).await;
    found(&node, &token, "再起動", &first, true).await;
    assert_eq!(generation(&root), before, "no rebuild after a restart");
    let second = open_on(
        &node,
        "รีสตาร์ตแล้ว",
        "ค้นหาได้หลังรีสตาร์ต",
        "restart-2@example.com",
    )
    .await;
    found(&node, &token, "รีสตาร์ต", &second, false).await;
    assert_eq!(generation(&root), before);

    // Every segment file of the index in use cut to half its length, as
    // a disk that lost its last writes would leave it; `meta.json` (with
    // the schema version and the log position) is left whole, so only
    // reading the segments can tell.
    drop(node);
    let mut cut = 0;
    for entry in std::fs::read_dir(root.join(&before)).expect("generation") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if path.is_file() && !name.starts_with('.') && name != "meta.json" {
            cut += 1;
            let bytes = std::fs::read(&path).expect("read");
            std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
        }
    }
    assert!(cut > 0, "no segment files to cut");
    let node = Node::start(dir.path(), &env).await;
    found(&node, &token, "再起動", &first, false).await;
    found(&node, &token, "รีสตาร์ต", &second, false).await;
    let after = generation(&root);
    assert_ne!(after, before, "rebuilt into a new generation");
    assert!(
        !generations(&root).contains(&before),
        "the broken generation is removed"
    );
    drop(node);
}
both_db!(the_index_survives_restarts_and_rebuilds_when_broken);
