//! A credential-stuffing run against a running server: wrong passwords over
//! many accounts from a handful of addresses, with legitimate owners signing
//! in from a clean address before, during and after it.
//!
//! Every answer is sorted by its problem `type`: `/problems/sign-in-locked`
//! is an attempt refused by the pre-check or by a lock (no hashing, or the
//! lock decided after it), `/problems/bad-credentials` one whose password
//! was hashed and found wrong. The server's own record (`login_attempts`
//! outcomes) is read back from the database afterwards and printed beside it,
//! since only it tells a pre-check refusal from a lock decided after hashing.

use super::summary::{millis, summarize, USER_HZ};
use super::Stuffing;
use koban::config::Config;
use koban::security::client::DEVICE_HEADER;
use sqlx::Row;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one answer is counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answer {
    /// 201: signed in.
    SignedIn,
    /// 202: a second factor (or a code to a contact) is asked: not a lock.
    StepUp,
    /// 401 `/problems/sign-in-locked`.
    Locked,
    /// 401 `/problems/bad-credentials`.
    BadCredentials,
    /// Anything else: status and problem slug.
    Other(String),
}

impl Answer {
    /// Sorts an answer by status and the last segment of its problem `type`.
    pub fn classify(status: u16, body: &[u8]) -> Answer {
        let slug = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("type")
                    .and_then(|t| t.as_str())
                    .map(|t| t.rsplit('/').next().unwrap_or(t).to_string())
            });
        match (status, slug.as_deref()) {
            (201, _) => Answer::SignedIn,
            (202, _) => Answer::StepUp,
            (401, Some("sign-in-locked")) => Answer::Locked,
            (401, Some("bad-credentials")) => Answer::BadCredentials,
            (s, Some(slug)) => Answer::Other(format!("{s}:{slug}")),
            (s, None) => Answer::Other(s.to_string()),
        }
    }

    fn label(&self) -> String {
        match self {
            Answer::SignedIn => "201".into(),
            Answer::StepUp => "202_step_up".into(),
            Answer::Locked => "401_sign_in_locked".into(),
            Answer::BadCredentials => "401_bad_credentials".into(),
            Answer::Other(s) => s.clone(),
        }
    }
}

/// One answered request.
struct Sample {
    answer: Answer,
    latency: Duration,
    finished: Instant,
}

/// SplitMix64: a fixed, well-spread pseudo-random sequence, so two runs send
/// the same attempts in the same order.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Attempt `i` of the attack: which account, from which attacking address.
/// Accounts are taken round robin (each gets its k-th guess before any gets
/// its k+1-th, as a list-driven tool does); the address is pseudo-random, so
/// every address tries many accounts.
pub fn attack_target(i: usize, accounts: usize, ips: usize) -> (usize, usize) {
    (i % accounts, (mix(i as u64) % ips as u64) as usize)
}

#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    url: String,
}

impl Target {
    async fn sign_in(
        &self,
        identifier: &str,
        password: &str,
        ip: &str,
        device: Option<&str>,
    ) -> Sample {
        let body = serde_json::json!({ "identifier": identifier, "password": password });
        let mut request = self
            .client
            .post(&self.url)
            .header("x-forwarded-for", ip)
            .json(&body);
        if let Some(device) = device {
            request = request.header(DEVICE_HEADER, device);
        }
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => Answer::classify(status, &bytes),
                    Err(_) => Answer::Other("transport".into()),
                }
            }
            Err(e) if e.is_timeout() => Answer::Other("timeout".into()),
            Err(e) if e.is_connect() => Answer::Other("connect".into()),
            Err(_) => Answer::Other("transport".into()),
        };
        let finished = Instant::now();
        Sample {
            answer,
            latency: finished - sent,
            finished,
        }
    }
}

fn tally(samples: &[Sample]) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for s in samples {
        *counts.entry(s.answer.label()).or_default() += 1;
    }
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn process_cpu_seconds(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .as_deref()
        .and_then(super::summary::cpu_ticks)
        .map(|t| t as f64 / USER_HZ)
}

/// CPU seconds of the server and of this process between two readings.
struct CpuClock {
    server_pid: Option<u32>,
    server: Option<f64>,
    me: Option<f64>,
}

impl CpuClock {
    fn start(server_pid: Option<u32>) -> CpuClock {
        CpuClock {
            server_pid,
            server: server_pid.and_then(process_cpu_seconds),
            me: process_cpu_seconds(std::process::id()),
        }
    }

    fn stop(&self) -> (Option<f64>, Option<f64>) {
        let server = self
            .server_pid
            .and_then(process_cpu_seconds)
            .zip(self.server)
            .map(|(b, a)| b - a);
        let me = process_cpu_seconds(std::process::id())
            .zip(self.me)
            .map(|(b, a)| b - a);
        (server, me)
    }
}

/// Sends `attempts` wrong passwords from `concurrency` tasks; returns every
/// answer and the wall time from the first send to the last answer.
async fn attack(
    target: &Target,
    options: &Arc<Stuffing>,
    first: usize,
    attempts: usize,
) -> (Vec<Sample>, Duration) {
    let next = Arc::new(AtomicUsize::new(first));
    let end = first + attempts;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (target, options, next) = (target.clone(), options.clone(), next.clone());
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return mine;
                }
                let (account, ip) = attack_target(i, options.accounts, options.ips);
                let identifier = super::identifier(&options.prefix, account);
                let ip = format!("{}{}", options.ip_prefix, ip + 1);
                let guess = format!("stuffed-guess-{i}");
                mine.push(target.sign_in(&identifier, &guess, &ip, None).await);
            }
        });
    }
    let mut samples = Vec::with_capacity(attempts);
    while let Some(joined) = tasks.join_next().await {
        samples.extend(joined.unwrap_or_default());
    }
    (samples, started.elapsed())
}

/// Each legitimate account signs in once, one after the other, with the right
/// password from the clean address and its own device.
async fn legit_round(
    target: &Target,
    options: &Stuffing,
    first: usize,
    count: usize,
) -> Vec<Sample> {
    let mut out = Vec::with_capacity(count);
    for n in first..first + count {
        let identifier = super::identifier(&options.prefix, n);
        out.push(
            target
                .sign_in(
                    &identifier,
                    &options.password,
                    &options.legit_ip,
                    Some(&super::device_id(n)),
                )
                .await,
        );
    }
    out
}

/// Prints the figures of one batch of attack answers.
fn report_attack(phase: &str, samples: &[Sample], wall: Duration, cpu: (Option<f64>, Option<f64>)) {
    println!("{phase}_attempts={}", samples.len());
    println!("{phase}_answers={}", tally(samples));
    println!("{phase}_wall_seconds={:.3}", wall.as_secs_f64());
    println!(
        "{phase}_attempts_per_second={:.1}",
        samples.len() as f64 / wall.as_secs_f64().max(1e-9)
    );
    let locked: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.answer == Answer::Locked)
        .collect();
    let hashed: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.answer == Answer::BadCredentials)
        .collect();
    for (kind, set) in [("locked", &locked), ("bad_credentials", &hashed)] {
        let span = match (
            set.iter().map(|s| s.finished).min(),
            set.iter().map(|s| s.finished).max(),
        ) {
            (Some(a), Some(b)) => b - a,
            _ => Duration::ZERO,
        };
        println!("{phase}_{kind}_count={}", set.len());
        println!("{phase}_{kind}_span_seconds={:.3}", span.as_secs_f64());
        if let Some(s) = summarize(set.iter().map(|s| s.latency).collect(), span) {
            println!("{phase}_{kind}_per_second_over_span={:.1}", s.per_second);
            println!("{phase}_{kind}_p50_ms={:.2}", millis(s.p50));
            println!("{phase}_{kind}_p99_ms={:.2}", millis(s.p99));
        }
    }
    let (server, me) = cpu;
    if let Some(server) = server.filter(|s| *s > 0.0) {
        println!("{phase}_server_cpu_seconds={server:.2}");
        println!(
            "{phase}_attempts_per_server_cpu_second={:.1}",
            samples.len() as f64 / server
        );
    }
    if let Some(me) = me {
        println!("{phase}_client_cpu_seconds={me:.2}");
    }
}

/// The server's record of the attack: `login_attempts` outcomes of the
/// attacking addresses since `since_ms`.
async fn recorded_outcomes(
    config: &Config,
    ip_prefix: &str,
    since_ms: i64,
    until_ms: i64,
) -> Result<BTreeMap<String, i64>, String> {
    let store = koban::store::Store::connect(&config.database_url, 1)
        .await
        .map_err(|e| e.to_string())?;
    let rows = sqlx::query(
        "SELECT outcome, COUNT(*) AS n FROM login_attempts WHERE ip LIKE $1 AND at >= $2 AND at <= $3 GROUP BY outcome",
    )
    .bind(format!("{ip_prefix}%"))
    .bind(since_ms)
    .bind(until_ms)
    .fetch_all(store.read())
    .await
    .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for r in rows {
        let outcome: String = r.try_get("outcome").map_err(|e| e.to_string())?;
        let n: i64 = r.try_get("n").map_err(|e| e.to_string())?;
        out.insert(outcome, n);
    }
    store.close().await;
    Ok(out)
}

fn print_outcomes(phase: &str, outcomes: &BTreeMap<String, i64>) {
    let joined = outcomes
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(",");
    let refused: i64 = ["locked", "ip_throttled", "ip_blocked"]
        .iter()
        .filter_map(|k| outcomes.get(*k))
        .sum();
    let hashed: i64 = ["wrong_password", "unknown_account"]
        .iter()
        .filter_map(|k| outcomes.get(*k))
        .sum();
    println!("{phase}_db_outcomes={joined}");
    println!("{phase}_db_refused_without_hashing={refused}");
    println!("{phase}_db_hashed={hashed}");
}

/// `koban bench stuffing`.
pub(super) async fn run(config: &Config, options: Stuffing) -> Result<(), String> {
    if options.accounts == 0 || options.ips == 0 || options.concurrency == 0 {
        return Err("--accounts, --ips and --concurrency must be at least 1".into());
    }
    let base = options.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency + 2)
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| e.to_string())?;
    let target = Target {
        client,
        url: format!("{base}/api/v1/sessions"),
    };
    let options = Arc::new(options);
    let (lf, lc) = (options.legit_first, options.legit_count);

    eprintln!(
        "bench: {lc} legitimate sign-in(s) from {} before the attack …",
        options.legit_ip
    );
    let before = legit_round(&target, &options, lf, lc).await;
    println!("legit_before={}", tally(&before));
    // The owners of the accounts about to be attacked have used their own
    // device before (as owners have), so Koban knows it when they come back.
    let owners_before = legit_round(&target, &options, 0, lc.min(options.accounts)).await;
    println!("attacked_owners_before={}", tally(&owners_before));

    // The legitimate owners keep signing in, one at a time, while it lasts.
    let attacking = Arc::new(AtomicBool::new(true));
    let during = {
        let (target, options, attacking) = (target.clone(), options.clone(), attacking.clone());
        tokio::spawn(async move {
            let mut out = Vec::new();
            let mut n = 0;
            while attacking.load(Ordering::Relaxed) {
                let account = lf + n % lc.max(1);
                n += 1;
                let identifier = super::identifier(&options.prefix, account);
                out.push(
                    target
                        .sign_in(
                            &identifier,
                            &options.password,
                            &options.legit_ip,
                            Some(&super::device_id(account)),
                        )
                        .await,
                );
                tokio::time::sleep(Duration::from_millis(options.legit_pause_ms)).await;
            }
            out
        })
    };

    eprintln!(
        "bench: {} attempts over {} accounts from {} addresses ({}1–{}), {} in flight …",
        options.attempts,
        options.accounts,
        options.ips,
        options.ip_prefix,
        options.ips,
        options.concurrency
    );
    let attack_from_ms = koban::store::now_ms();
    let clock = CpuClock::start(options.server_pid);
    let (samples, wall) = attack(&target, &options, 0, options.attempts).await;
    let cpu = clock.stop();
    let attack_until_ms = koban::store::now_ms();
    report_attack("attack", &samples, wall, cpu);

    let mut sustain_range = None;
    if options.sustain_attempts > 0 {
        eprintln!(
            "bench: {} more attempts, every account and address now locked or throttled …",
            options.sustain_attempts
        );
        let from_ms = koban::store::now_ms();
        let clock = CpuClock::start(options.server_pid);
        let (samples, wall) = attack(
            &target,
            &options,
            options.attempts,
            options.sustain_attempts,
        )
        .await;
        let cpu = clock.stop();
        sustain_range = Some((from_ms, koban::store::now_ms()));
        report_attack("sustain", &samples, wall, cpu);
    }

    attacking.store(false, Ordering::Relaxed);
    let during = during.await.map_err(|e| e.to_string())?;
    println!("legit_during={}", tally(&during));
    if let Some(s) = summarize(
        during.iter().map(|s| s.latency).collect(),
        Duration::from_secs(1),
    ) {
        println!("legit_during_p50_ms={:.1}", millis(s.p50));
        println!("legit_during_max_ms={:.1}", millis(s.max));
    }
    let after = legit_round(&target, &options, lf, lc).await;
    println!("legit_after={}", tally(&after));
    // The owners of attacked accounts, from a clean address and the device
    // they used before: the guesses came from unknown clients and counted
    // apart, so the owners get in.
    let owners = legit_round(&target, &options, 0, lc.min(options.accounts)).await;
    println!("attacked_owners_after={}", tally(&owners));

    let legit_all = before.iter().chain(&during).chain(&after);
    let locked_legit = legit_all
        .clone()
        .filter(|s| !matches!(s.answer, Answer::SignedIn | Answer::StepUp))
        .count();
    println!("legit_total={}", legit_all.count());
    println!("legit_not_signed_in={locked_legit}");

    match recorded_outcomes(config, &options.ip_prefix, attack_from_ms, attack_until_ms).await {
        Ok(outcomes) => print_outcomes("attack", &outcomes),
        Err(e) => eprintln!("bench: could not read login_attempts: {e}"),
    }
    if let Some((from, until)) = sustain_range {
        match recorded_outcomes(config, &options.ip_prefix, from, until).await {
            Ok(outcomes) => print_outcomes("sustain", &outcomes),
            Err(e) => eprintln!("bench: could not read login_attempts: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_problem_type() {
        let locked = br#"{"type":"/problems/sign-in-locked","status":401}"#;
        let bad = br#"{"type":"/problems/bad-credentials","status":401}"#;
        assert_eq!(Answer::classify(401, locked), Answer::Locked);
        assert_eq!(Answer::classify(401, bad), Answer::BadCredentials);
        assert_eq!(Answer::classify(201, b"{}"), Answer::SignedIn);
        assert_eq!(Answer::classify(202, b"{}"), Answer::StepUp);
        assert_eq!(
            Answer::classify(429, br#"{"type":"/problems/rate-limited"}"#),
            Answer::Other("429:rate-limited".into())
        );
        assert_eq!(Answer::classify(500, b"oops"), Answer::Other("500".into()));
    }

    #[test]
    fn attack_spreads_over_accounts_and_addresses() {
        let (accounts, ips) = (1000, 50);
        let mut per_account = vec![0u32; accounts];
        let mut per_ip = vec![0u32; ips];
        for i in 0..10_000 {
            let (a, ip) = attack_target(i, accounts, ips);
            per_account[a] += 1;
            per_ip[ip] += 1;
        }
        // Round robin: exactly ten guesses per account.
        assert!(per_account.iter().all(|n| *n == 10));
        // Every address is used, none far from the mean of 200.
        assert!(per_ip.iter().all(|n| (120..=280).contains(n)), "{per_ip:?}");
    }
}
