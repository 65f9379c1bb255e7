//! The sign-in load driver and its yardstick, raw Argon2id verification.

use super::summary::{
    cpu_ticks, machine_busy_ticks_of, millis, ratio, raw_during, summarize, USER_HZ,
};
use super::wire::{Connection, Endpoint, WireError};
use super::Login;
use koban::accounts::password_hash::PasswordHasher;
use koban::config::Config;
use koban::security::client::DEVICE_HEADER;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one client task saw inside the measured window.
#[derive(Default)]
struct Tally {
    /// Latencies of the 201 answers.
    ok: Vec<Duration>,
    /// Other outcomes: an HTTP status, or the kind of transport error.
    failed: BTreeMap<String, u64>,
}

/// A raw Argon2id measurement, ready to run on a blocking thread.
#[derive(Clone)]
struct RawArgon {
    hasher: PasswordHasher,
    stored: String,
    password: String,
    seconds: u64,
}

/// What a raw measurement found.
struct RawResult {
    threads: usize,
    /// Verifications finished inside the window, per second of it.
    per_second: f64,
    /// Verifications per CPU-second the threads actually got: what the
    /// machine could do if nothing else ran on it.
    per_cpu_second: Option<f64>,
}

/// CPU time of the calling thread, in clock ticks.
fn thread_cpu_ticks() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .as_deref()
        .and_then(cpu_ticks)
}

/// CPU time of process `pid`, in clock ticks.
fn process_cpu_ticks(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .as_deref()
        .and_then(cpu_ticks)
}

/// Busy CPU time of every process on the machine (the database's and this
/// driver's included), in clock ticks.
fn machine_busy_ticks() -> Option<u64> {
    machine_busy_ticks_of(&std::fs::read_to_string("/proc/stat").ok()?)
}

impl RawArgon {
    /// One thread per core, each checking the right password against the hash
    /// for `seconds`. Only verifications that finish inside the window count
    /// towards the rate, and the window is the divisor: the rule the sign-in
    /// load follows too.
    fn measure(self) -> Result<RawResult, String> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut workspace = koban::accounts::password_hash::Workspace::new();
        if !self
            .hasher
            .verify_with(&mut workspace, &self.password, &self.stored)
            .0
        {
            return Err("raw Argon2id: the password does not verify against its own hash".into());
        }
        let window = Duration::from_secs(self.seconds);
        let in_window = AtomicU64::new(0);
        let all = AtomicU64::new(0);
        let ticks = AtomicU64::new(0);
        let ticks_known = std::sync::atomic::AtomicBool::new(true);
        let deadline = Instant::now() + window;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    // Each thread its own working memory, as each hashing
                    // slot of the server has.
                    let mut workspace = koban::accounts::password_hash::Workspace::new();
                    let cpu_start = thread_cpu_ticks();
                    let (mut mine, mut total) = (0, 0);
                    loop {
                        // A failed check would be cheaper work; do not count it.
                        let ok = u64::from(
                            self.hasher
                                .verify_with(&mut workspace, &self.password, &self.stored)
                                .0,
                        );
                        total += ok;
                        if Instant::now() > deadline {
                            break;
                        }
                        mine += ok;
                    }
                    in_window.fetch_add(mine, Ordering::Relaxed);
                    all.fetch_add(total, Ordering::Relaxed);
                    match (cpu_start, thread_cpu_ticks()) {
                        (Some(a), Some(b)) => {
                            ticks.fetch_add(b.saturating_sub(a), Ordering::Relaxed);
                        }
                        _ => ticks_known.store(false, Ordering::Relaxed),
                    }
                });
            }
        });
        let cpu_seconds = ticks.load(Ordering::Relaxed) as f64 / USER_HZ;
        Ok(RawResult {
            threads,
            per_second: in_window.load(Ordering::Relaxed) as f64 / window.as_secs_f64(),
            // Every verification the threads ran, over all the CPU they used.
            per_cpu_second: (ticks_known.load(Ordering::Relaxed) && cpu_seconds > 0.0)
                .then(|| all.load(Ordering::Relaxed) as f64 / cpu_seconds),
        })
    }
}

/// The sign-in requests of accounts 0 to `options.accounts` - 1, each built
/// once, whole, as its bytes go on the wire: the driver shares the machine
/// with the server, and every microsecond it spends formatting a request is
/// taken from the server it measures. Each account presents one stable
/// device, as an app presents its own id: a fresh device on every sign-in
/// would be a risk signal, and the benchmark would measure step-up
/// challenges instead of sign-ins.
fn sign_in_requests(options: &Login, endpoint: &Endpoint) -> Result<Vec<Vec<u8>>, String> {
    (0..options.accounts)
        .map(|account| {
            let body = serde_json::json!({
                "identifier": super::identifier(&options.prefix, account),
                "password": options.password,
            });
            let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
            let device = super::device_id(account);
            Ok(endpoint.post_json(SIGN_IN_PATH, &[(DEVICE_HEADER, &device)], &body))
        })
        .collect()
}

const SIGN_IN_PATH: &str = "/api/v1/sessions";

/// How long one sign-in may take before it counts as a timeout.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// What every client of a slice shares.
struct Target {
    addr: std::net::SocketAddr,
    requests: Vec<Vec<u8>>,
    clients: usize,
}

/// One client: signs in again and again, one request in flight on one
/// keep-alive connection (a new one after a failure or a `close`), until
/// the deadline; keeps only what completed inside [measure_from, deadline].
async fn client_loop(
    target: Arc<Target>,
    index: usize,
    measure_from: Instant,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Connection> = None;
    // Spread the clients over the accounts, so no account sees two at once
    // unless there are more clients than accounts.
    let mut n = index;
    while Instant::now() < deadline {
        let request = &target.requests[n % target.requests.len()];
        n += target.clients;
        let sent = Instant::now();
        let outcome = async {
            let mut open = match connection.take() {
                Some(open) => open,
                None => Connection::open(target.addr, EXCHANGE_TIMEOUT).await?,
            };
            let status = open.exchange(request, EXCHANGE_TIMEOUT).await?;
            // A failed exchange dropped its connection above; so does a `close`.
            if open.reusable() {
                connection = Some(open);
            }
            Ok::<_, WireError>(status)
        }
        .await;
        let finished = Instant::now();
        if finished < measure_from || finished > deadline {
            continue;
        }
        match outcome {
            Ok(201) => tally.ok.push(finished - sent),
            Ok(status) => *tally.failed.entry(status.to_string()).or_default() += 1,
            Err(e) => *tally.failed.entry(e.kind().to_string()).or_default() += 1,
        }
    }
    tally
}

/// One slice of load: what the clients saw, and the CPU time the server and
/// the whole machine used inside its measured window.
struct Slice {
    tally: Tally,
    server_cpu_seconds: Option<f64>,
    machine_cpu_seconds: Option<f64>,
}

/// Runs the clients for a warm-up plus `length` measured, and returns once
/// every request in flight has finished, so that the raw measurement after
/// it has the machine to itself.
async fn load_slice(
    target: &Arc<Target>,
    options: &Login,
    length: Duration,
) -> Result<Slice, String> {
    let measure_from = Instant::now() + Duration::from_secs(options.warmup_seconds);
    let deadline = measure_from + length;
    // The server's and the whole machine's CPU time at both ends of the
    // window, read on time by a task of its own, so the count and the CPU
    // cover the same interval.
    let server_pid = options.server_pid;
    let cpu_in_window = tokio::spawn(async move {
        let seconds = |from: Option<u64>, to: Option<u64>| {
            from.zip(to)
                .map(|(a, b)| b.saturating_sub(a) as f64 / USER_HZ)
        };
        tokio::time::sleep_until(measure_from.into()).await;
        let server_from = server_pid.and_then(process_cpu_ticks);
        let machine_from = machine_busy_ticks();
        tokio::time::sleep_until(deadline.into()).await;
        let server_to = server_pid.and_then(process_cpu_ticks);
        let machine_to = machine_busy_ticks();
        (
            seconds(server_from, server_to),
            seconds(machine_from, machine_to),
        )
    });
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..options.clients {
        tasks.spawn(client_loop(target.clone(), index, measure_from, deadline));
    }
    let mut tally = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        let mine = joined.map_err(|e| e.to_string())?;
        tally.ok.extend(mine.ok);
        for (kind, count) in mine.failed {
            *tally.failed.entry(kind).or_default() += count;
        }
    }
    let (server_cpu_seconds, machine_cpu_seconds) =
        cpu_in_window.await.map_err(|e| e.to_string())?;
    Ok(Slice {
        tally,
        server_cpu_seconds,
        machine_cpu_seconds,
    })
}

/// Figures as one comma-separated report value.
fn joined(values: &[f64], decimals: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Asks the server which database it runs on, for the report.
async fn backend(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let url = format!("{base}/readyz");
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: status {}", response.status()));
    }
    let body: serde_json::Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
    Ok(body
        .get("database")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown")
        .to_string())
}

/// `koban bench login`: the load in slices, with raw Argon2id measured (the
/// server idle) before the first, between each two and after the last.
pub(super) async fn run(config: &Config, options: Login) -> Result<(), String> {
    if options.clients == 0
        || options.accounts == 0
        || options.duration_seconds == 0
        || options.rounds == 0
    {
        return Err(
            "--clients, --accounts, --duration-seconds and --rounds must be at least 1".into(),
        );
    }
    if options.rounds > 1000 {
        return Err("--rounds: at most 1000".into());
    }
    let base = options.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let database = backend(&client, &base).await?;

    let (m, t, p) = (
        config.argon2_memory_kib,
        config.argon2_iterations,
        config.argon2_parallelism,
    );
    println!("database={database}");
    println!("argon2=m={m},t={t},p={p}");
    let raw = if options.raw_seconds > 0 {
        let hasher = PasswordHasher::new(m, t, p)?;
        let stored = hasher.hash(options.password.clone()).await?;
        Some(RawArgon {
            hasher,
            stored,
            password: options.password.clone(),
            seconds: options.raw_seconds,
        })
    } else {
        None
    };
    let measure_raw = |round: usize| {
        let raw = raw.clone();
        async move {
            let Some(raw) = raw else { return Ok(None) };
            eprintln!(
                "bench: raw Argon2id (m={m} KiB, t={t}, p={p}), measurement {}, {} s …",
                round + 1,
                raw.seconds
            );
            let result = tokio::task::spawn_blocking(move || raw.measure())
                .await
                .map_err(|e| e.to_string())??;
            Ok::<_, String>(Some(result))
        }
    };

    let rounds = options.rounds;
    let slice = Duration::from_secs(options.duration_seconds) / rounds as u32;
    eprintln!(
        "bench: {} client(s) signing in to {base} ({database}) for {} s in {rounds} slice(s), \
         each after {} s warm-up and between two raw measurements …",
        options.clients, options.duration_seconds, options.warmup_seconds
    );
    let endpoint = Endpoint::resolve(&base).await?;
    let target = Arc::new(Target {
        addr: endpoint.addr,
        requests: sign_in_requests(&options, &endpoint)?,
        clients: options.clients,
    });
    let mut raw_results = Vec::new();
    let mut slices = Vec::new();
    for round in 0..rounds {
        raw_results.extend(measure_raw(round).await?);
        slices.push(load_slice(&target, &options, slice).await?);
    }
    raw_results.extend(measure_raw(rounds).await?);

    let raw_rates: Vec<f64> = raw_results.iter().map(|r| r.per_second).collect();
    let raw = raw_during(&raw_rates, rounds);
    let raw_per_cpu = raw_results
        .iter()
        .map(|r| r.per_cpu_second)
        .collect::<Option<Vec<f64>>>()
        .and_then(|rates| raw_during(&rates, rounds));
    if let Some(first) = raw_results.first() {
        println!("raw_threads={}", first.threads);
        println!("raw_each_per_second={}", joined(&raw_rates, 1));
    }
    if let Some(raw) = raw {
        println!("raw_verifications_per_second={raw:.1}");
    }
    if let Some(raw) = raw_per_cpu {
        println!("raw_per_cpu_second={raw:.2}");
    }
    let mut latencies = Vec::new();
    let mut failed: BTreeMap<String, u64> = BTreeMap::new();
    let mut server_cpu_seconds = Some(0.0);
    let mut machine_cpu_seconds = Some(0.0);
    let mut ratio_each = Vec::new();
    for (round, done) in slices.into_iter().enumerate() {
        let per_second = done.tally.ok.len() as f64 / slice.as_secs_f64();
        // This slice against the two raw measurements around it.
        let share = raw_rates
            .get(round..round + 2)
            .and_then(|ends| raw_during(ends, 1))
            .and_then(|raw| ratio(per_second, raw));
        eprintln!(
            "bench: slice {}: {per_second:.1} logins/s{}",
            round + 1,
            share
                .map(|s| format!(", {s:.3} of raw"))
                .unwrap_or_default()
        );
        ratio_each.extend(share);
        latencies.extend(done.tally.ok);
        for (kind, count) in done.tally.failed {
            *failed.entry(kind).or_default() += count;
        }
        server_cpu_seconds = server_cpu_seconds
            .zip(done.server_cpu_seconds)
            .map(|(a, b)| a + b);
        machine_cpu_seconds = machine_cpu_seconds
            .zip(done.machine_cpu_seconds)
            .map(|(a, b)| a + b);
    }
    if !ratio_each.is_empty() {
        println!("ratio_each={}", joined(&ratio_each, 3));
    }
    let failures = if failed.is_empty() {
        "none".to_string()
    } else {
        failed
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!("clients={}", options.clients);
    println!("duration_seconds={}", options.duration_seconds);
    println!("rounds={rounds}");
    println!("failures={failures}");
    let Some(summary) = summarize(latencies, slice * rounds as u32) else {
        return Err(format!("no sign-in succeeded (failures: {failures})"));
    };
    println!("logins={}", summary.count);
    println!("logins_per_second={:.1}", summary.per_second);
    println!("p50_ms={:.1}", millis(summary.p50));
    println!("p99_ms={:.1}", millis(summary.p99));
    println!("max_ms={:.1}", millis(summary.max));
    let share = raw.and_then(|raw| ratio(summary.per_second, raw));
    if let Some(share) = share {
        println!("ratio={share:.3}");
    }
    if let Some(busy) = machine_cpu_seconds.filter(|_| summary.count > 0) {
        // What one sign-in costs everything on the machine: the server, the
        // database, this driver and whatever else ran in the window.
        println!(
            "machine_cpu_ms_per_login={:.3}",
            busy * 1000.0 / summary.count as f64
        );
    }
    if let Some(cpu) = server_cpu_seconds.filter(|s| *s > 0.0) {
        let per_cpu = summary.count as f64 / cpu;
        println!("server_cpu_seconds={cpu:.2}");
        println!("logins_per_server_cpu_second={per_cpu:.2}");
        if let Some(cpu_share) = raw_per_cpu.and_then(|raw| ratio(per_cpu, raw)) {
            println!("cpu_ratio={cpu_share:.3}");
        }
    }
    eprintln!(
        "bench: {:.1} logins/s, p50 {:.1} ms, p99 {:.1} ms, failures {failures}{}",
        summary.per_second,
        millis(summary.p50),
        millis(summary.p99),
        share
            .map(|s| format!(", {s:.3} of raw Argon2id"))
            .unwrap_or_default()
    );
    Ok(())
}
