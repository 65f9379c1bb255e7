//! The index on disk and across nodes: `koban search reindex` beside a
//! running server, and two `koban serve` processes on one PostgreSQL.

use super::{open, q, refs, until, PASSWORD};
use crate::process::{koban, run, send, shared_key, Node};
use crate::support::{fresh_postgres_database, postgres_url, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

async fn reindex_swaps_in_a_fresh_index_while_serving(t: TestApp) {
    let agent = t.staff("agent4@example.com", "agent").await;
    let mei = t.signed_up("mei4@example.com", PASSWORD).await;
    let before = open(&t, &mei, "Reindex me", "東京タワーの写真が送れない").await;
    until(&t, Some(&agent), &q("東京タワー"), |b| {
        refs(b).contains(&before)
    })
    .await;
    let root = t.dir.path().join("search");
    let old = std::fs::read_to_string(root.join("current")).expect("current generation");
    let mut command = koban(t.dir.path());
    command
        .args(["search", "reindex"])
        .env("KOBAN_DATABASE_URL", &t.database_url)
        .env("KOBAN_DATA_DIR", t.dir.path());
    let output = tokio::task::spawn_blocking(move || run(command, None))
        .await
        .expect("reindex ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("indexed 1 ticket(s)"), "{stdout}");
    let new = std::fs::read_to_string(root.join("current")).expect("current generation");
    assert_ne!(old, new);
    // The server switches to the new generation, drops the old one, and
    // follows the log from where the rebuild stood.
    let deadline = Instant::now() + Duration::from_secs(10);
    while root.join(old.trim()).exists() {
        assert!(
            Instant::now() < deadline,
            "the old generation is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = open(&t, &mei, "After the reindex", "東京タワーから二通目").await;
    let (body, _) = until(&t, Some(&agent), &q("東京タワー"), |b| {
        let r = refs(b);
        r.contains(&before) && r.contains(&after)
    })
    .await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2), "{body}");
}
both!(reindex_swaps_in_a_fresh_index_while_serving);

/// A ticket written through node A is found through node B within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_on_one_node_is_found_on_another() {
    let Some(server) = postgres_url() else {
        return;
    };
    let database_url = fresh_postgres_database(&server).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    shared_key(&[&data_a, &data_b]);
    let (dir_a, dir_b) = (data_a.display().to_string(), data_b.display().to_string());
    let mut create = koban(dir.path());
    create
        .args([
            "admin",
            "create-user",
            "--role",
            "agent",
            "--identifier",
            "agent@example.com",
        ])
        .env("KOBAN_DATABASE_URL", &database_url)
        .env("KOBAN_DATA_DIR", &dir_a);
    let output = run(create, Some(&format!("{PASSWORD}\n")));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let a = Node::start(
        dir.path(),
        &[
            ("KOBAN_DATABASE_URL", &database_url),
            ("KOBAN_DATA_DIR", &dir_a),
            // The probe below asks every 20 ms; the default limit is for people.
            ("KOBAN_RATE_LIMIT_IP_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let b = Node::start(
        dir.path(),
        &[
            ("KOBAN_DATABASE_URL", &database_url),
            ("KOBAN_DATA_DIR", &dir_b),
            // The probe below asks every 20 ms; the default limit is for people.
            ("KOBAN_RATE_LIMIT_IP_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let (status, body) = send(
        http.post(b.url("/api/v1/sessions"))
            .json(&json!({ "identifier": "agent@example.com", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let mut worst = Duration::ZERO;
    for (i, (subject, text, query)) in [
        ("二つのノード", "ノードAで書いたチケット", "ノードA"),
        ("跨节点搜索", "在节点A写入的工单", "节点A"),
        ("ค้นหาข้ามโหนด", "ตั๋วที่เขียนบนโหนดเอ", "โหนดเอ"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, opened) = send(http.post(a.url("/api/v1/desk/tickets")).json(&json!({
            "subject": subject,
            "body": text,
            "email": format!("two-nodes-{i}@example.com"),
        })))
        .await;
        assert_eq!(status, StatusCode::CREATED, "{opened}");
        let written = Instant::now();
        let reference = opened["reference"].as_str().expect("reference").to_string();
        loop {
            let (status, body) = send(
                http.get(b.url(&format!("/api/v1/search?{}", q(query))))
                    .bearer_auth(&token),
            )
            .await;
            if status == StatusCode::OK && refs(&body).contains(&reference) {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "never found on B: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worst = worst.max(written.elapsed());
    }
    println!(
        "search freshness across nodes: worst {} ms",
        worst.as_millis()
    );
    assert!(worst < Duration::from_secs(1), "found on B after {worst:?}");
}
