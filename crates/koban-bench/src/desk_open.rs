//! Ticket creation: signed-out web-form tickets through `POST
//! /api/v1/desk/tickets` of a running server, beside its yardstick, the
//! same rows inserted straight into the same database at the same
//! concurrency, each ticket committed in a transaction of its own, as the
//! API must commit one before it answers (`raw.rs`). The same driver sends the same
//! tickets to a peer, Request Tracker's REST 2 API (`--target rt`).

mod raw;
use raw::Rows;

use super::load::{self, Load, MakeRequest, Tally};
use super::summary::{millis, ratio, raw_during, summarize};
use super::wire::Endpoint;
use super::DeskOpen;
use koban::config::Config;
use koban::state::App;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the requesters write: a few real-sounding requests in the desk's
/// languages, none with a pasted secret (masking has its own tests), each
/// with the category triage gives it and the language the browser sends.
const SAMPLES: &[(&str, &str, &str, &str)] = &[
    ("ja", "cannot_sign_in", "新しいスマホでログインできない",
     "機種変更したらログインできなくなりました。アカウントがロックされたと表示されます。昨日までは問題なく使えていました。"),
    ("zh-TW", "code_not_received", "收不到驗證碼",
     "我換了新手機以後一直收不到簡訊驗證碼，已經等了十分鐘，請問要怎麼處理？"),
    ("en", "account_stolen", "Someone changed my password",
     "I got an email saying my password was changed but it was not me. I cannot sign in any more and I am worried someone took my account."),
    ("zh-CN", "cannot_sign_in", "登录不了",
     "今天早上开始一直提示密码错误，但是我确定密码没有改过，重置密码的邮件也没有收到。"),
    ("th", "code_not_received", "ไม่ได้รับรหัสยืนยัน",
     "ฉันกดขอรหัสหลายครั้งแล้วแต่ไม่ได้รับ SMS เลย ใช้เบอร์เดิมมาตลอด ช่วยตรวจสอบให้หน่อยค่ะ"),
    ("en", "other", "Question about my invoice",
     "Hello, the last invoice shows two charges for the same month. Could you check and tell me which one is correct? Thank you."),
];

/// The requester of ticket `seq` of client `client`: a new contact each time.
fn email(tag: &str, client: usize, seq: u64) -> String {
    format!("desk-{tag}-{client}-{seq}@example.com")
}

fn sample(client: usize, seq: u64) -> (&'static str, &'static str, &'static str, &'static str) {
    SAMPLES[(client + seq as usize) % SAMPLES.len()]
}

/// The request a browser's web form sends for a signed-out requester.
fn koban_request(endpoint: &Endpoint, tag: &str, client: usize, seq: u64) -> Vec<u8> {
    let (lang, _, subject, body) = sample(client, seq);
    let json = serde_json::json!({
        "subject": subject,
        "body": body,
        "email": email(tag, client, seq),
        "time_zone": "Asia/Tokyo",
    });
    endpoint.post_json(
        "/api/v1/desk/tickets",
        &[("Accept-Language", lang)],
        json.to_string().as_bytes(),
    )
}

/// The same ticket through Request Tracker's REST 2 API.
fn rt_request(
    endpoint: &Endpoint,
    options: &DeskOpen,
    tag: &str,
    client: usize,
    seq: u64,
) -> Vec<u8> {
    let (_, _, subject, body) = sample(client, seq);
    let json = serde_json::json!({
        "Queue": options.rt_queue,
        "Subject": subject,
        "Requestor": email(tag, client, seq),
        "Content": body,
        "ContentType": "text/plain",
    });
    endpoint.post_json(
        "/REST/2.0/ticket",
        &[(
            "Authorization",
            options.authorization.as_deref().unwrap_or(""),
        )],
        json.to_string().as_bytes(),
    )
}

/// 64 random bits from the process's hasher seeds, enough for a reference
/// draw without a random-number crate in the driver.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// Jobs due and not yet run (the acknowledgements the API queued); the
/// tickets' SLA looks, due hours later, are not a backlog.
async fn backlog(app: &App) -> Result<i64, String> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE status IN ('pending', 'running') AND run_at <= $1",
    )
    .bind(koban::store::now_ms())
    .fetch_one(app.store.read())
    .await
    .map_err(|e| e.to_string())?;
    row.try_get("n").map_err(|e| e.to_string())
}

/// Waits (at most 60 s) until the server's worker has sent the
/// acknowledgements queued during a slice, so a raw measurement does not
/// share the database with them; the seconds it waited.
async fn drain(app: &App) -> Result<f64, String> {
    let start = Instant::now();
    while backlog(app).await? > 0 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Each slice's rate against the two raw measurements around it.
fn each_slice(rates: &[f64], raw: &[f64]) -> Vec<f64> {
    rates
        .iter()
        .enumerate()
        .filter_map(|(i, rate)| {
            raw.get(i..i + 2)
                .and_then(|ends| raw_during(ends, 1))
                .and_then(|r| ratio(*rate, r))
        })
        .collect()
}

/// Waits (at most 30 s) until the server is idle, under 5 % of a core
/// over a quarter of a second: the search index has taken in the last
/// tickets and merged its segments, so neither measurement pays for the
/// other's leftovers.
async fn settle(server_pid: Option<u32>) {
    let Some(pid) = server_pid else { return };
    let quarter = Duration::from_millis(250);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let Some(before) = load::process_cpu_ticks(pid) else {
            return;
        };
        tokio::time::sleep(quarter).await;
        let Some(after) = load::process_cpu_ticks(pid) else {
            return;
        };
        // Ticks are hundredths of a second: 5 % of 250 ms is 1.25 ticks.
        if after.saturating_sub(before) <= 1 {
            return;
        }
    }
}

fn joined(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `koban-bench desk-open`.
pub(super) async fn run(config: Config, options: DeskOpen) -> Result<(), String> {
    if options.clients == 0 || options.rounds == 0 || options.duration_seconds == 0 {
        return Err("--clients, --rounds and --duration-seconds must be at least 1".into());
    }
    let rt = match options.target.as_str() {
        "koban" => false,
        "rt" => true,
        other => return Err(format!("--target {other}: koban or rt")),
    };
    let tag = options
        .tag
        .clone()
        .unwrap_or_else(|| format!("{:x}", rand_u64() & 0xffff_ffff));
    let base = options.url.trim_end_matches('/').to_string();
    let endpoint = Arc::new(Endpoint::resolve(&base).await?);
    let make: Arc<MakeRequest> = {
        let (endpoint, tag, options) = (endpoint.clone(), tag.clone(), Arc::new(options.clone()));
        if rt {
            Arc::new(move |client, seq| rt_request(&endpoint, &options, &tag, client, seq))
        } else {
            Arc::new(move |client, seq| koban_request(&endpoint, &tag, client, seq))
        }
    };
    // The yardstick writes through the store the server uses, configured
    // the same way (its pool and, on SQLite, its one writer).
    let app = if rt || options.raw_seconds == 0 {
        None
    } else {
        Some(koban::app::start(config).await.map_err(|e| e.to_string())?)
    };
    let load = Load {
        addr: endpoint.addr,
        clients: options.clients,
        make,
        expect: 201,
        warmup: Duration::from_secs(options.warmup_seconds),
        server_pid: options.server_pid,
    };
    let rounds = options.rounds;
    let length = Duration::from_secs(options.duration_seconds) / rounds as u32;
    eprintln!(
        "bench: {} client(s) opening tickets at {base} ({}) for {} s in {rounds} slice(s)",
        options.clients, options.target, options.duration_seconds
    );
    let raw_tag = format!("{tag}r");
    let core_tag = format!("{tag}c");
    let mut raw = Vec::new();
    let mut raw_core = Vec::new();
    let mut tally = Tally::default();
    let (mut server_cpu, mut machine_cpu) = (Some(0.0), Some(0.0));
    let mut rates = Vec::new();
    let mut drained = Vec::new();
    let mut backlogs = Vec::new();
    for round in 0..=rounds {
        if let Some(app) = &app {
            drained.push(drain(app).await?);
            settle(options.server_pid).await;
            let first = 1_000_000 * round as u64;
            let (clients, seconds) = (options.clients, options.raw_seconds);
            let rate = raw::rate(app, Rows::Same, &raw_tag, clients, seconds, first).await?;
            eprintln!("bench: raw inserts, {rate:.1} tickets/s");
            raw.push(rate);
            let core = raw::rate(app, Rows::Core, &core_tag, clients, seconds, first).await?;
            eprintln!("bench: raw inserts of the core rows, {core:.1} tickets/s");
            raw_core.push(core);
            // The server indexes the raw tickets for search: not on the
            // slice's time.
            settle(options.server_pid).await;
        }
        if round == rounds {
            break;
        }
        let done = load::slice(&load, length, 1_000_000 * round as u64).await?;
        if let Some(app) = &app {
            backlogs.push(backlog(app).await? as f64);
        }
        let per_second = done.tally.ok.len() as f64 / length.as_secs_f64();
        eprintln!(
            "bench: slice {}: {per_second:.1} tickets/s, failures {}",
            round + 1,
            done.tally.failures()
        );
        server_cpu = server_cpu.zip(done.server_cpu_seconds).map(|(a, b)| a + b);
        machine_cpu = machine_cpu
            .zip(done.machine_cpu_seconds)
            .map(|(a, b)| a + b);
        tally.absorb(done.tally);
        rates.push(per_second);
    }
    let ratio_each = each_slice(&rates, &raw);
    let failures = tally.failures();
    println!("target={}", options.target);
    println!("clients={}", options.clients);
    println!("failures={failures}");
    let summary = summarize(tally.ok, length * rounds as u32)
        .ok_or_else(|| format!("no ticket was created (failures: {failures})"))?;
    println!("tickets={}", summary.count);
    println!("tickets_per_second={:.1}", summary.per_second);
    println!("p50_ms={:.1}", millis(summary.p50));
    println!("p99_ms={:.1}", millis(summary.p99));
    if !raw.is_empty() {
        println!("raw_each_per_second={}", joined(&raw, 1));
        if let Some(during) = raw_during(&raw, rounds) {
            println!("raw_per_second={during:.1}");
            if let Some(share) = ratio(summary.per_second, during) {
                println!("ratio={share:.3}");
            }
        }
        println!("ratio_each={}", joined(&ratio_each, 3));
        println!("raw_core_each_per_second={}", joined(&raw_core, 1));
        if let Some(share) =
            raw_during(&raw_core, rounds).and_then(|r| ratio(summary.per_second, r))
        {
            println!("ratio_core={share:.3}");
        }
        println!(
            "ratio_core_each={}",
            joined(&each_slice(&rates, &raw_core), 3)
        );
        println!("backlog_after_slices={}", joined(&backlogs, 0));
        println!("drain_seconds={}", joined(&drained, 1));
    }
    if let Some(cpu) = server_cpu.filter(|s| *s > 0.0) {
        println!(
            "server_cpu_ms_per_ticket={:.3}",
            cpu * 1000.0 / summary.count as f64
        );
    }
    if let Some(busy) = machine_cpu.filter(|s| *s > 0.0) {
        println!(
            "machine_cpu_ms_per_ticket={:.3}",
            busy * 1000.0 / summary.count as f64
        );
    }
    if let Some(app) = app {
        app.store.close().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_requester_is_new_and_every_sample_a_valid_form() {
        let a = super::email("t", 0, 1);
        assert_ne!(a, super::email("t", 1, 0));
        assert!(koban_policy::contact::parse_email(&a).is_ok());
        for (lang, category, subject, body) in super::SAMPLES {
            assert!(koban::web::i18n::Lang::parse(lang).is_some(), "{lang}");
            assert!(koban_policy::desk::forms::Category::parse(category).is_ok());
            assert!(subject.chars().count() <= 200 && !body.is_empty());
        }
    }
}
