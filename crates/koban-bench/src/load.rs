//! A closed loop of clients for the desk benchmarks: each client keeps one
//! request in flight on one keep-alive connection, the request built fresh
//! for each (every ticket has its own requester), and counts only what
//! finished inside the measured window.

use super::summary::{cpu_ticks, machine_busy_ticks_of, USER_HZ};
use super::wire::{Connection, WireError};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Builds request number `seq` of client `client`, whole, as its bytes go
/// on the wire.
pub type MakeRequest = dyn Fn(usize, u64) -> Vec<u8> + Send + Sync;

/// How long one exchange may take before it counts as a timeout.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the clients saw inside the measured window.
#[derive(Default)]
pub struct Tally {
    /// Latencies of the answers with the expected status.
    pub ok: Vec<Duration>,
    /// Other outcomes: an HTTP status, or the kind of transport error.
    pub failed: BTreeMap<String, u64>,
}

impl Tally {
    pub fn absorb(&mut self, other: Tally) {
        self.ok.extend(other.ok);
        for (kind, count) in other.failed {
            *self.failed.entry(kind).or_default() += count;
        }
    }

    /// The failures as one report value: `none`, or `kind:count,…`.
    pub fn failures(&self) -> String {
        if self.failed.is_empty() {
            return "none".into();
        }
        self.failed
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One slice of load and the CPU the server and the machine used in it.
pub struct Slice {
    pub tally: Tally,
    pub server_cpu_seconds: Option<f64>,
    pub machine_cpu_seconds: Option<f64>,
}

/// CPU time of process `pid`, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> Option<u64> {
    cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn machine_busy_ticks() -> Option<u64> {
    machine_busy_ticks_of(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// What every slice of one load shares.
pub struct Load {
    pub addr: SocketAddr,
    pub clients: usize,
    pub make: Arc<MakeRequest>,
    /// The status a success answers with.
    pub expect: u16,
    /// Time under load before each slice's measuring starts.
    pub warmup: Duration,
    /// The server's process, for its CPU time.
    pub server_pid: Option<u32>,
}

/// Runs the clients for the warm-up and then `length` measured, numbering
/// requests from `first_seq`; returns once every request in flight has
/// finished.
pub async fn slice(load: &Load, length: Duration, first_seq: u64) -> Result<Slice, String> {
    let (addr, expect, server_pid) = (load.addr, load.expect, load.server_pid);
    let measure_from = Instant::now() + load.warmup;
    let deadline = measure_from + length;
    let cpu = tokio::spawn(async move {
        let seconds = |a: Option<u64>, b: Option<u64>| {
            a.zip(b).map(|(a, b)| b.saturating_sub(a) as f64 / USER_HZ)
        };
        tokio::time::sleep_until(measure_from.into()).await;
        let (server_from, machine_from) =
            (server_pid.and_then(process_cpu_ticks), machine_busy_ticks());
        tokio::time::sleep_until(deadline.into()).await;
        let (server_to, machine_to) =
            (server_pid.and_then(process_cpu_ticks), machine_busy_ticks());
        (
            seconds(server_from, server_to),
            seconds(machine_from, machine_to),
        )
    });
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..load.clients {
        let make = load.make.clone();
        tasks.spawn(async move {
            let mut tally = Tally::default();
            let mut connection: Option<Connection> = None;
            let mut seq = first_seq;
            while Instant::now() < deadline {
                let request = make(client, seq);
                seq += 1;
                let sent = Instant::now();
                let outcome = async {
                    let mut open = match connection.take() {
                        Some(open) => open,
                        None => Connection::open(addr, EXCHANGE_TIMEOUT).await?,
                    };
                    let status = open.exchange(&request, EXCHANGE_TIMEOUT).await?;
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
                    Ok(status) if status == expect => tally.ok.push(finished - sent),
                    Ok(status) => *tally.failed.entry(status.to_string()).or_default() += 1,
                    Err(e) => *tally.failed.entry(e.kind().to_string()).or_default() += 1,
                }
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        tally.absorb(joined.map_err(|e| e.to_string())?);
    }
    let (server_cpu_seconds, machine_cpu_seconds) = cpu.await.map_err(|e| e.to_string())?;
    Ok(Slice {
        tally,
        server_cpu_seconds,
        machine_cpu_seconds,
    })
}

/// Resident memory of process `pid` in MiB (VmRSS).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_rss_mib(&status)
}

/// VmRSS from the text of a `/proc/<pid>/status` file, in MiB.
pub fn vm_rss_mib(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resident_memory_is_read_in_mib() {
        let status = "Name:\tkoban\nVmPeak:\t  300000 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        assert_eq!(super::vm_rss_mib(status), Some(50.0));
        assert_eq!(super::vm_rss_mib("Name:\tkoban\n"), None);
    }
}
