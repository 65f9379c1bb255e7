//! `koban-bench limiter | cidr | metrics | config-layers`: the hand-written
//! rate limiter, CIDR matching, Prometheus text and layered configuration,
//! each beside the well-kept crate that could replace it (`governor`,
//! `ipnet`, `metrics` with its Prometheus exporter, `figment`), in one run
//! on the same machine. Speeds are printed as ratios crate ÷ hand-written;
//! where the answer is about behaviour the same inputs go through both and
//! what each answers is printed side by side. Results are `key=value` lines.

use koban::config::Config;
use koban::http::metrics::Metrics;
use koban::http::rate_limit::RateLimiter;
use koban_policy::risk::{any_contains, Cidr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// The governor limiter the server would use: keyed by the same strings,
/// Err(ms to wait) as ours answers.
type Governor = governor::DefaultKeyedRateLimiter<String>;

fn governor(per_minute: i64) -> Governor {
    let per_minute = u32::try_from(per_minute.max(1)).unwrap_or(u32::MAX);
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    Governor::keyed(governor::Quota::per_minute(per_minute))
}

fn governor_check(limiter: &Governor, key: &str) -> Result<(), i64> {
    use governor::clock::Clock;
    // The server would bound its keys as ours does.
    if limiter.len() > 100_000 {
        limiter.retain_recent();
    }
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        i64::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX)
    })
}

/// Retry-After seconds as `Problem::rate_limited` computes them.
fn retry_after(wait_ms: i64) -> i64 {
    ((wait_ms.max(0) + 999) / 1000).max(1)
}

/// A cheap deterministic sequence, so both sides see the same inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn ip_keys(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255))
        .collect()
}

/// Runs `f(thread, key index)` `checks` times on each of `threads` threads at
/// once, over random keys; checks per second over all threads.
fn drive(threads: usize, checks: usize, keys: usize, f: &(dyn Fn(usize) + Sync)) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                let mut random = XorShift(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                for _ in 0..checks {
                    f(random.next() as usize % keys);
                }
            });
        }
    });
    rate(threads * checks, started.elapsed())
}

/// `koban-bench limiter`.
pub fn limiter(options: &crate::LimiterBench) -> Result<(), String> {
    // Behaviour first: the limits and Retry-After seconds the API answers.
    for per_minute in [5, 30, 600] {
        let ours = RateLimiter::new(per_minute, per_minute);
        let theirs = governor(per_minute);
        let key = "203.0.113.7".to_string();
        let admitted_ours = (0..per_minute * 2)
            .take_while(|_| ours.check_ip(&key).is_ok())
            .count();
        let admitted_theirs = (0..per_minute * 2)
            .take_while(|_| governor_check(&theirs, &key).is_ok())
            .count();
        let wait_ours = ours.check_ip(&key).err().map(retry_after);
        let wait_theirs = governor_check(&theirs, &key).err().map(retry_after);
        println!(
            "semantics_{per_minute}_per_minute=admitted {admitted_ours} vs {admitted_theirs}, \
             Retry-After {wait_ours:?} s vs {wait_theirs:?} s"
        );
    }
    let keys = ip_keys(options.keys);
    let per_minute = options.per_minute;
    let mut single = Vec::new();
    let mut contended = Vec::new();
    for round in 0..options.rounds {
        let ours = RateLimiter::new(per_minute, per_minute);
        let theirs = governor(per_minute);
        let ours_1 = drive(1, options.checks, keys.len(), &|i| {
            let _ = ours.check_ip(&keys[i]);
        });
        let theirs_1 = drive(1, options.checks, keys.len(), &|i| {
            let _ = governor_check(&theirs, &keys[i]);
        });
        let ours_2 = drive(2, options.checks, keys.len(), &|i| {
            let _ = ours.check_ip(&keys[i]);
        });
        let theirs_2 = drive(2, options.checks, keys.len(), &|i| {
            let _ = governor_check(&theirs, &keys[i]);
        });
        println!(
            "round_{round}=one thread {ours_1:.0}/s ours, {theirs_1:.0}/s governor; \
             two threads {ours_2:.0}/s ours, {theirs_2:.0}/s governor"
        );
        single.push(theirs_1 / ours_1);
        contended.push(theirs_2 / ours_2);
    }
    println!(
        "governor_over_ours_checks_per_s_one_thread={:.2}",
        median(single)
    );
    println!(
        "governor_over_ours_checks_per_s_two_threads={:.2}",
        median(contended)
    );
    // Memory per tracked key, each in a fresh process of its own.
    let mut per_key = Vec::new();
    for side in ["ours", "governor"] {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let output = std::process::Command::new(exe)
            .args(["limiter-memory", "--side", side, "--keys"])
            .arg(options.memory_keys.to_string())
            .output()
            .map_err(|e| format!("limiter-memory: {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let bytes: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("limiter-memory {side} answered {text:?}"))?;
        println!("memory_per_key_{side}={bytes:.0} bytes");
        per_key.push(bytes);
    }
    println!(
        "governor_over_ours_memory_per_key={:.2}",
        per_key[1] / per_key[0]
    );
    Ok(())
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// `koban-bench limiter-memory`: resident bytes per key tracked, printed alone.
pub fn limiter_memory(options: &crate::LimiterMemory) -> Result<(), String> {
    let keys = ip_keys(options.keys);
    let before = resident_bytes();
    match options.side.as_str() {
        "ours" => {
            let ours = RateLimiter::new(600, 600);
            for key in &keys {
                let _ = ours.check_ip(key);
            }
            println!(
                "{}",
                resident_bytes().saturating_sub(before) as f64 / keys.len() as f64
            );
            drop(ours);
        }
        "governor" => {
            let theirs = governor(600);
            for key in &keys {
                let _ = governor_check(&theirs, key);
            }
            println!(
                "{}",
                resident_bytes().saturating_sub(before) as f64 / keys.len() as f64
            );
            drop(theirs);
        }
        other => return Err(format!("--side {other}: ours or governor")),
    }
    Ok(())
}

/// `koban-bench cidr`.
pub fn cidr(options: &crate::CidrBench) -> Result<(), String> {
    let texts = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "100.64.0.0/10",
        "192.0.2.128/25",
        "::ffff:169.254.0.0/112",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "2001:db8:1:2::/64",
        "2a02:1230::/29",
        "2606:4700::/32",
        "64:ff9b::/96",
        "::1",
    ];
    let ours: Vec<Cidr> = texts
        .iter()
        .map(|t| t.parse().map_err(|e| format!("{t}: {e}")))
        .collect::<Result<_, _>>()?;
    let theirs: Vec<ipnet::IpNet> = ours
        .iter()
        .map(|c| ipnet::IpNet::new(c.network(), c.prefix()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    // Parsing: what each accepts and refuses.
    for text in [
        "203.0.113.7",
        "10.0.0.1/8",
        "10.0.0.0/+8",
        "::ffff:10.0.0.0/104",
        " 192.168.1.0/24 ",
        "10.0.0.0/33",
    ] {
        let a = text
            .parse::<Cidr>()
            .map_or_else(|e| format!("refused ({e})"), |c| c.to_string());
        let b = text
            .parse::<ipnet::IpNet>()
            .map_or_else(|e| format!("refused ({e})"), |n| n.to_string());
        println!("parse_{:?}=ours {a}; ipnet {b}", text.trim());
    }
    // Probes: a quarter inside some block, IPv4, IPv6 and IPv4-mapped.
    let mut random = XorShift(0x2545_F491_4F6C_DD1D);
    let probes: Vec<IpAddr> = (0..options.probes)
        .map(|i| {
            let bits = random.next();
            let v4 = Ipv4Addr::from(bits as u32);
            match i % 4 {
                0 => IpAddr::V4(v4),
                1 => IpAddr::V6(Ipv6Addr::from(
                    (u128::from(bits) << 64) | u128::from(random.next()),
                )),
                2 => IpAddr::V6(v4.to_ipv6_mapped()),
                _ => {
                    let block = ours[bits as usize % ours.len()];
                    match block.network() {
                        IpAddr::V4(n) => IpAddr::V4(Ipv4Addr::from(
                            u32::from(n) | (random.next() as u32 >> block.prefix().min(31)),
                        )),
                        IpAddr::V6(n) => IpAddr::V6(Ipv6Addr::from(
                            u128::from(n)
                                | (u128::from(random.next()) >> block.prefix().saturating_sub(64)),
                        )),
                    }
                }
            }
        })
        .collect();
    let count_ours = probes.iter().filter(|ip| any_contains(&ours, **ip)).count();
    let count_theirs = probes
        .iter()
        .filter(|ip| theirs.iter().any(|n| n.contains(&ip.to_canonical())))
        .count();
    let count_raw = probes
        .iter()
        .filter(|ip| theirs.iter().any(|n| n.contains(*ip)))
        .count();
    println!(
        "matches=ours {count_ours}, ipnet after to_canonical {count_theirs}, ipnet as given {count_raw}, of {}",
        probes.len()
    );
    let mut ratios = Vec::new();
    for round in 0..options.rounds {
        let started = Instant::now();
        let a = probes.iter().filter(|ip| any_contains(&ours, **ip)).count();
        let ours_rate = rate(probes.len(), started.elapsed());
        let started = Instant::now();
        let b = probes
            .iter()
            .filter(|ip| theirs.iter().any(|n| n.contains(&ip.to_canonical())))
            .count();
        let theirs_rate = rate(probes.len(), started.elapsed());
        std::hint::black_box((a, b));
        println!(
            "round_{round}=ours {ours_rate:.0} lookups/s, ipnet {theirs_rate:.0} lookups/s over {} blocks",
            ours.len()
        );
        ratios.push(theirs_rate / ours_rate);
    }
    println!("ipnet_over_ours_lookups_per_s={:.2}", median(ratios));
    Ok(())
}

const ROUTES: usize = 40;
const METHODS: [&str; 4] = ["GET", "POST", "DELETE", "other"];
const STATUSES: [u16; 3] = [200, 401, 429];
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

fn exporter_observe(route: &str, method: &'static str, status: u16, seconds: f64) {
    metrics::counter!(
        "koban_http_requests_total",
        "route" => route.to_string(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "koban_http_request_duration_seconds",
        "route" => route.to_string(),
        "method" => method
    )
    .record(seconds);
}

/// `koban-bench metrics`.
pub fn metrics(options: &crate::MetricsBench) -> Result<(), String> {
    use metrics_exporter_prometheus::PrometheusBuilder;
    let routes: Vec<String> = (0..ROUTES)
        .map(|i| format!("/api/v1/things{i}/{{id}}"))
        .collect();
    let request = |random: &mut XorShift| {
        let n = random.next() as usize;
        (
            routes[n % ROUTES].as_str(),
            METHODS[(n / ROUTES) % METHODS.len()],
            STATUSES[(n / 7) % STATUSES.len()],
            (n % 4000) as f64 / 10_000.0,
        )
    };
    let mut record_ratios = Vec::new();
    let mut contended_ratios = Vec::new();
    let mut render_ratios = Vec::new();
    for round in 0..options.rounds {
        let ours = Metrics::default();
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .map_err(|e| e.to_string())?
            .build_recorder();
        let handle = recorder.handle();
        let per_thread = |threads: usize, f: &(dyn Fn(&str, &'static str, u16, f64) + Sync)| {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..threads {
                    let request = &request;
                    scope.spawn(move || {
                        let mut random = XorShift(0xA076_1D64_78BD_642F ^ (t as u64 + 1));
                        for _ in 0..options.requests {
                            let (route, method, status, seconds) = request(&mut random);
                            f(route, method, status, seconds);
                        }
                    });
                }
            });
            rate(threads * options.requests, started.elapsed())
        };
        let ours_1 = per_thread(1, &|r, m, s, x| ours.observe(r, m, s, x));
        let theirs_1 = per_thread(1, &|r, m, s, x| {
            metrics::with_local_recorder(&recorder, || exporter_observe(r, m, s, x))
        });
        let ours_2 = per_thread(2, &|r, m, s, x| ours.observe(r, m, s, x));
        let theirs_2 = per_thread(2, &|r, m, s, x| {
            metrics::with_local_recorder(&recorder, || exporter_observe(r, m, s, x))
        });
        // Render: each time after a batch of requests, so the exporter has
        // its histogram samples to fold in, as it would between scrapes.
        let mut random = XorShift(0x1234_5678_9ABC_DEF1);
        let (mut ours_render, mut theirs_render) = (Duration::ZERO, Duration::ZERO);
        let (mut ours_len, mut theirs_len) = (0, 0);
        for _ in 0..options.renders {
            for _ in 0..options.requests_between_renders {
                let (route, method, status, seconds) = request(&mut random);
                ours.observe(route, method, status, seconds);
                metrics::with_local_recorder(&recorder, || {
                    exporter_observe(route, method, status, seconds)
                });
            }
            let started = Instant::now();
            let mut text = String::new();
            ours.render_requests(&mut text);
            ours_render += started.elapsed();
            ours_len = text.len();
            let started = Instant::now();
            let text = handle.render();
            theirs_render += started.elapsed();
            theirs_len = text.len();
        }
        println!(
            "round_{round}=record one thread {ours_1:.0}/s ours, {theirs_1:.0}/s exporter; \
             two threads {ours_2:.0}/s ours, {theirs_2:.0}/s exporter; render {:.3} ms ours \
             ({ours_len} bytes), {:.3} ms exporter ({theirs_len} bytes)",
            ours_render.as_secs_f64() * 1000.0 / options.renders as f64,
            theirs_render.as_secs_f64() * 1000.0 / options.renders as f64,
        );
        record_ratios.push(theirs_1 / ours_1);
        contended_ratios.push(theirs_2 / ours_2);
        // Time per render: crate ÷ ours, so > 1 means the exporter is slower.
        render_ratios.push(theirs_render.as_secs_f64() / ours_render.as_secs_f64());
        if round == 0 {
            let fresh = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .map_err(|e| e.to_string())?
                .build_recorder();
            metrics::with_local_recorder(&fresh, || {
                exporter_observe("/api/v1/sessions", "POST", 401, 0.2)
            });
            let text = fresh.handle().render();
            for wanted in [
                r#"koban_http_requests_total{route="/api/v1/sessions",method="POST",status="401"} 1"#,
                r#"koban_http_request_duration_seconds_count{route="/api/v1/sessions",method="POST"} 1"#,
                r#"koban_http_request_duration_seconds_bucket{route="/api/v1/sessions",method="POST",le="0.25"} 1"#,
            ] {
                println!("exporter_writes {wanted:?}={}", text.contains(wanted));
            }
        }
    }
    println!(
        "exporter_over_ours_records_per_s_one_thread={:.2}",
        median(record_ratios)
    );
    println!(
        "exporter_over_ours_records_per_s_two_threads={:.2}",
        median(contended_ratios)
    );
    println!(
        "exporter_over_ours_time_per_render={:.2}",
        median(render_ratios)
    );
    Ok(())
}

/// `koban-bench config-layers`: the same layers through `figment`
/// (defaults, then the TOML file, then `KOBAN_` variables) and through
/// `Config::load`, with what each answers to the inputs the tests use.
pub fn config_layers() -> Result<(), String> {
    use figment::providers::{Env, Format, Serialized, Toml};
    use figment::Figment;
    let dir = std::env::temp_dir().join(format!("koban-bench-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("k.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nsmtp_port = 2525\n")
        .map_err(|e| e.to_string())?;
    let cases: [(&str, &str); 7] = [
        ("KOBAN_SMTP_PORT", "2626"),
        ("KOBAN_NO_SUCH", "1"),
        ("KOBAN_SMTP_PORT", "many"),
        ("KOBAN_DATABASE_SIGN_IN_WAITS_FOR_FLUSH", "yes"),
        ("KOBAN_DATABASE_SIGN_IN_WAITS_FOR_FLUSH", " false "),
        ("KOBAN_SMTP_PASSWORD", "123456"),
        ("KOBAN_SMS_SENDER_ID", "true"),
    ];
    let show = |result: Result<Config, String>, name: &str| match result {
        Ok(c) => {
            let map = serde_json::to_value(&c).unwrap_or_default();
            let key = name.trim_start_matches("KOBAN_").to_ascii_lowercase();
            format!("ok, {key} = {}", map.get(&key).cloned().unwrap_or_default())
        }
        Err(e) => format!("error: {e}"),
    };
    for (name, value) in cases {
        // Only this driver's thread reads the environment while it is set.
        std::env::set_var(name, value);
        let theirs = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&file))
            .merge(
                Env::prefixed("KOBAN_")
                    .ignore(&["config"])
                    .filter(|k| !k.as_str().starts_with("test_")),
            )
            .extract::<Config>()
            .map_err(|e| e.to_string());
        std::env::remove_var(name);
        let ours = Config::load(
            Some(&file),
            vec![(name.to_string(), value.to_string())],
            &[],
        )
        .map_err(|e| e.to_string());
        println!("{name}={value:?}");
        println!("  ours={}", show(ours, name));
        println!("  figment={}", show(theirs, name));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
