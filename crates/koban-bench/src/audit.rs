//! `koban-bench audit`: the audit chain's append rate with concurrent
//! writers, one change per entry (`audit::append`) and through the
//! group-commit appender, each followed by a check that the chain is
//! intact; and the verification of a long chain (built in memory with the
//! same encoding) beside raw SHA-256 over the same bytes in the same run.

use super::AuditBench;
use koban::audit::{self, appender::Appender, Record};
use koban_policy::audit::{self as chain, Anchor, Content, Link, GENESIS};
use sha2::{Digest, Sha256};
use std::time::Instant;

pub async fn run(config: koban::config::Config, options: AuditBench) -> Result<(), String> {
    let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
    // A scope of its own per run and path, so runs do not meet.
    let run_id = koban::store::now_ms() % 1_000_000_000;
    let writers = options.writers.max(1);
    let details = serde_json::json!({ "reason": "benchmark", "ticket": "T-000001" });

    if options.entries > 0 {
        let scope = format!("org:{}", run_id * 10 + 1);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = app.store.clone();
            let scope = scope.clone();
            let details = details.clone();
            let n = options.entries / writers;
            tasks.push(tokio::spawn(async move {
                for i in 0..n {
                    let target = format!("account:{}", w * n + i);
                    audit::append(&store, &scope, record(&target, &details))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok::<usize, String>(n)
            }));
        }
        let done = join(tasks).await?;
        report(
            &app,
            "single",
            &scope,
            done,
            started.elapsed().as_secs_f64(),
            writers,
        )
        .await?;

        let scope = format!("org:{}", run_id * 10 + 2);
        let appender = Appender::start(app.store.clone(), options.batch);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let appender = appender.clone();
            let scope = scope.clone();
            let details = details.clone();
            let n = options.entries / writers;
            tasks.push(tokio::spawn(async move {
                for i in 0..n {
                    let target = format!("account:{}", w * n + i);
                    appender
                        .append(&scope, record(&target, &details))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok::<usize, String>(n)
            }));
        }
        let done = join(tasks).await?;
        report(
            &app,
            "group",
            &scope,
            done,
            started.elapsed().as_secs_f64(),
            writers,
        )
        .await?;
    }

    if options.chain > 0 {
        verify_in_memory(options.chain, &details.to_string())?;
    }
    Ok(())
}

fn record<'a>(target: &'a str, details: &'a serde_json::Value) -> Record<'a> {
    Record {
        actor: "account:1",
        action: "account.unlock",
        target,
        details,
    }
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Result<usize, String>>>) -> Result<usize, String> {
    let mut done = 0;
    for task in tasks {
        done += task.await.map_err(|e| e.to_string())??;
    }
    Ok(done)
}

async fn report(
    app: &koban::state::App,
    path: &str,
    scope: &str,
    done: usize,
    secs: f64,
    writers: usize,
) -> Result<(), String> {
    let started = Instant::now();
    let v = audit::verify(&app.store, &app.key, scope)
        .await
        .map_err(|e| e.to_string())?;
    let intact = v.broken.is_none() && !v.forged_checkpoint && v.checked == done as u64;
    println!(
        "append path={path} backend={} writers={writers} entries={done} secs={secs:.3} entries_per_s={:.0} chain_intact={intact} verify_secs={:.3}",
        app.store.backend().name(),
        done as f64 / secs,
        started.elapsed().as_secs_f64()
    );
    if intact {
        Ok(())
    } else {
        Err(format!("the {path} chain is not intact: {v:?}"))
    }
}

/// Builds `n` entries as the store holds them and times `chain::verify`
/// over them against SHA-256 alone over the same bytes (each entry's
/// previous hash and canonical content): the cost of the checking beyond
/// the hashing it cannot avoid.
fn verify_in_memory(n: usize, details: &str) -> Result<(), String> {
    let mut links = Vec::with_capacity(n);
    let mut prev = GENESIS;
    for i in 0..n {
        let seq = i as i64 + 1;
        let target = format!("account:{i}");
        let canonical = chain::canonical(&Content {
            scope: "platform",
            seq,
            at_ms: 1_764_900_000_000 + seq,
            actor: "account:1",
            action: "account.unlock",
            target: &target,
            details,
        });
        let hash = chain::entry_hash(&prev, &canonical);
        links.push(Link {
            seq,
            prev_hash: prev,
            hash,
            canonical,
        });
        prev = hash;
    }
    let head = Anchor {
        seq: n as i64,
        hash: prev,
    };
    let bytes: usize = links.iter().map(|l| 32 + l.canonical.len()).sum();

    let started = Instant::now();
    let mut sink = 0u8;
    for l in &links {
        let mut h = Sha256::new();
        h.update(l.prev_hash);
        h.update(&l.canonical);
        sink ^= h.finalize()[0];
    }
    let raw = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let v = chain::verify(
        Anchor {
            seq: 0,
            hash: GENESIS,
        },
        &links,
        Some(head),
    )
    .map_err(|b| format!("the built chain does not verify: {b:?}"))?;
    let checked = started.elapsed().as_secs_f64();
    println!(
        "verify entries={} bytes={bytes} verify_secs={checked:.3} raw_sha256_secs={raw:.3} verify_over_raw={:.2} goal_met={} (sink {sink})",
        v.checked,
        checked / raw,
        checked < 3.0
    );
    Ok(())
}
