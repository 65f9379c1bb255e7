//! Preparing a benchmark: accounts to sign in to, a free port, and the time a
//! server takes to become ready.

use super::{CreateUsers, Ready};
use koban::accounts::{service, AccountError};
use koban::config::Config;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Creates the benchmark accounts through the same service call as
/// `koban admin create-user`, one task per core so the Argon2 hashes run in
/// parallel on the blocking pool. Accounts that exist already are kept, so a
/// second run against the same database is harmless.
pub(super) async fn create_users(config: Config, options: CreateUsers) -> Result<(), String> {
    let started = Instant::now();
    let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(options.count.max(1));
    let next = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicUsize::new(0));
    let existing = Arc::new(AtomicUsize::new(0));
    let options = Arc::new(options);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (app, next, created, existing, options) = (
            app.clone(),
            next.clone(),
            created.clone(),
            existing.clone(),
            options.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= options.count {
                    return Ok(());
                }
                let id = super::identifier(&options.prefix, n);
                let contact = koban_policy::contact::parse_identifier(&id, None)
                    .map_err(|p| format!("{id}: {p}"))?;
                match service::create_verified(&app, &contact, &options.password, "user").await {
                    Ok(_) => created.fetch_add(1, Ordering::Relaxed),
                    Err(AccountError::Duplicate(_)) => existing.fetch_add(1, Ordering::Relaxed),
                    Err(e) => return Err(format!("{id}: {e}")),
                };
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| e.to_string())??;
    }
    app.store.close().await;
    let created = created.load(Ordering::Relaxed);
    let existing = existing.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("bench: {created} account(s) created, {existing} already there, in {seconds:.2} s");
    println!("accounts_created={created}");
    println!("accounts_existing={existing}");
    println!("create_seconds={seconds:.3}");
    Ok(())
}

/// Polls `/readyz` every few milliseconds. The clock starts at the timestamp
/// the caller took before spawning the server, not when this process started,
/// so this tool's own start-up is not subtracted from the server's.
pub(super) async fn ready(options: Ready) -> Result<(), String> {
    let now_ns = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    };
    let since = options.since_unix_nanos.unwrap_or_else(now_ns);
    let url = format!("{}/readyz", options.url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(options.timeout_seconds);
    loop {
        let last = match client.get(&url).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                let elapsed_ns = now_ns().saturating_sub(since);
                let ms = elapsed_ns as f64 / 1e6;
                eprintln!("bench: {url} answered 200 after {ms:.1} ms");
                println!("ready_ms={ms:.1}");
                return Ok(());
            }
            Ok(response) => format!("status {}", response.status()),
            // Connection refused until the server listens: the normal case at first.
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "{url} not ready after {} s (last: {last})",
                options.timeout_seconds
            ));
        }
        tokio::time::sleep(Duration::from_millis(options.interval_ms)).await;
    }
}

/// Binds port 0 and reports what the kernel chose. Another process could take
/// it before the server binds it; on a benchmark machine that race is remote.
pub(super) fn free_port() -> Result<(), String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("{port}");
    Ok(())
}
