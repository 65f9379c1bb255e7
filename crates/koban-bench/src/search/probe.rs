//! `koban-bench search query` and `koban-bench search fresh`: what an agent
//! sees of a running server's search, through the HTTP API.

use super::super::desk_queue::{mix, token};
use super::super::load::rss_mib;
use super::super::summary::{millis, percentile};
use super::super::wire::{Connection, Endpoint};
use super::corpus::{Corpus, LANGS};
use super::queries::{query_string, PROBES};
use super::{dir_bytes, err, index_dir, SearchFresh, SearchQueries};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn today_days() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0)
}

/// `GET /api/v1/search?…` with the token: its status and body.
async fn ask(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
) -> Result<(u16, serde_json::Value), String> {
    let answer = client
        .get(format!("{base}/api/v1/search?{query}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(err)?;
    let status = answer.status().as_u16();
    let body = answer.json().await.unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

/// Waits until the server answers searches (its index is open).
async fn ready(client: &reqwest::Client, base: &str, token: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let (status, body) = ask(client, base, token, "q=ready").await?;
        match status {
            200 => return Ok(()),
            503 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => return Err(format!("{base}: search answered {status} {body}")),
        }
    }
}

fn line(name: &str, sorted: &[Duration]) {
    let at = |p| percentile(sorted, p).map(millis).unwrap_or(f64::NAN);
    println!("{name}_requests={}", sorted.len());
    println!("{name}_p50_ms={:.2}", at(50.0));
    println!("{name}_p95_ms={:.2}", at(95.0));
    println!("{name}_p99_ms={:.2}", at(99.0));
    eprintln!(
        "bench: {name}: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms over {}",
        at(50.0),
        at(95.0),
        at(99.0),
        sorted.len()
    );
}

/// The key a language's figures are printed under: `zh_cn`, `ja`, ….
fn key(lang: &str) -> String {
    lang.to_ascii_lowercase().replace('-', "_")
}

/// `koban-bench search query`.
pub(super) async fn queries(
    config: koban::config::Config,
    options: SearchQueries,
) -> Result<(), String> {
    if options.samples == 0 {
        return Err("--samples must be at least 1".into());
    }
    let base = options.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let token = token(&base, &options.password).await?;
    ready(&client, &base, &token).await?;
    let today = today_days();
    // Each query once, untimed: what it finds, and that the ones that
    // must find something do.
    for p in PROBES {
        let (status, body) = ask(&client, &base, &token, &query_string(p, today)).await?;
        let total = body["total"].as_u64().unwrap_or(0);
        if status != 200 || (p.finds && total == 0) {
            return Err(format!("{} {} ({}): {status} {body}", p.lang, p.name, p.q));
        }
        println!("hits_{}_{}={total}", key(p.lang), p.name);
    }
    let endpoint = Endpoint::resolve(&base).await?;
    let authorization = format!("Bearer {token}");
    let requests: Vec<Vec<u8>> = PROBES
        .iter()
        .map(|p| {
            endpoint.get(
                &format!("/api/v1/search?{}", query_string(p, today)),
                &[("Authorization", &authorization)],
            )
        })
        .collect();
    let timeout = Duration::from_secs(30);
    let mut connection = Connection::open(endpoint.addr, timeout)
        .await
        .map_err(|e| e.kind().to_string())?;
    let mut by_lang: Vec<Vec<Duration>> = LANGS.iter().map(|_| Vec::new()).collect();
    let mut rss_max = 0f64;
    // One after another, going round the whole set: `samples` per language.
    let total = options.samples * LANGS.len();
    let warmup = PROBES.len();
    for n in 0..warmup + total {
        let which = n % PROBES.len();
        let sent = Instant::now();
        let status = connection
            .exchange(&requests[which], timeout)
            .await
            .map_err(|e| format!("{}: {}", PROBES[which].q, e.kind()))?;
        let took = sent.elapsed();
        if status != 200 {
            return Err(format!("{}: status {status}", PROBES[which].q));
        }
        if n >= warmup {
            let lang = LANGS
                .iter()
                .position(|l| *l == PROBES[which].lang)
                .unwrap_or(0);
            by_lang[lang].push(took);
        }
        if n % 500 == 0 {
            if let Some(rss) = options.server_pid.and_then(rss_mib) {
                rss_max = rss_max.max(rss);
            }
        }
    }
    let mut all = Vec::with_capacity(total);
    for (lang, mut times) in LANGS.iter().zip(by_lang) {
        times.sort_unstable();
        line(&key(lang), &times);
        all.extend(times);
    }
    all.sort_unstable();
    line("all", &all);
    if let Some(rss) = options.server_pid.and_then(rss_mib) {
        println!("server_rss_mib={rss:.1}");
        println!("server_rss_max_mib={:.1}", rss_max.max(rss));
    }
    if let Some(dir) = index_dir(&config.data_dir) {
        println!("index_mib={:.1}", dir_bytes(&dir) as f64 / 1_048_576.0);
    }
    Ok(())
}

/// `koban-bench search fresh`.
pub(super) async fn fresh(options: SearchFresh) -> Result<(), String> {
    if options.tickets == 0 {
        return Err("--tickets must be at least 1".into());
    }
    let write = options.write_url.trim_end_matches('/').to_string();
    let search = options.search_url.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let token = token(&search, &options.password).await?;
    ready(&client, &search, &token).await?;
    let corpus = Corpus::load()?;
    let tag = options
        .tag
        .clone()
        .unwrap_or_else(|| format!("{}", std::process::id()));
    let timeout = Duration::from_secs(options.timeout_seconds);
    let (mut found, mut writes, mut missed) = (Vec::new(), Vec::new(), 0usize);
    for k in 0..options.tickets as u64 {
        let text = corpus.ticket(k, mix(k) ^ 0x5eed);
        // A word no other ticket has: Latin letters and digits, one token.
        let marker = format!("fresh{tag}x{k}");
        let sent = Instant::now();
        let answer = client
            .post(format!("{write}/api/v1/desk/tickets"))
            .header("Accept-Language", text.lang)
            .json(&serde_json::json!({
                "subject": format!("{} {marker}", text.subject),
                "body": text.messages[0].1,
                "email": format!("search-fresh-{tag}-{k}@example.com"),
            }))
            .send()
            .await
            .map_err(err)?;
        let status = answer.status().as_u16();
        if status != 201 {
            let body = answer.text().await.unwrap_or_default();
            return Err(format!("writing ticket {k}: {status} {body}"));
        }
        let written = Instant::now();
        writes.push(written - sent);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &marker)
            .finish();
        loop {
            let (status, body) = ask(&client, &search, &token, &query).await?;
            if status == 200 && body["total"].as_u64().unwrap_or(0) >= 1 {
                found.push(written.elapsed());
                break;
            }
            if status != 200 && status != 503 {
                return Err(format!("searching for ticket {k}: {status} {body}"));
            }
            if written.elapsed() > timeout {
                missed += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(options.poll_ms)).await;
        }
        // Writes land anywhere in the follower's poll, as people's do.
        tokio::time::sleep(Duration::from_millis(mix(k ^ 0xf00d) % 200)).await;
    }
    found.sort_unstable();
    writes.sort_unstable();
    line("found", &found);
    println!(
        "found_max_ms={:.1}",
        found.last().copied().map(millis).unwrap_or(f64::NAN)
    );
    println!(
        "found_under_1s={}",
        found
            .iter()
            .filter(|d| **d < Duration::from_secs(1))
            .count()
    );
    println!("missed={missed}");
    line("write", &writes);
    Ok(())
}
