//! Coarse traffic shaping in process memory: requests per client IP, and
//! sign-in or code requests per account identifier. Per-node memory is
//! enough here (DESIGN.md §3); the counters that decide security, such as
//! failed sign-ins, live in the database.
//!
//! Hand-written rather than `governor`: governor keeps the same limits and
//! Retry-After seconds (5, 30 and 600 a minute: as many admitted, then 12, 2
//! and 1 s), but bounded to `MAX_KEYS` as this table is (its `len()` locks
//! every shard of its map on each check) it ran 0.77× the checks/s on one
//! thread and 0.61× on two, for 0.54× the memory per tracked key (43 bytes
//! against 78, resident, 300,000 keys). `koban-bench limiter`, 2026-12-04,
//! in docs/benchmarks-history.md ("Hand-written code beside well-kept crates").

use super::problem::Problem;
use crate::state::App;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use koban_policy::throttle::{gcra, Rate};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Two GCRA tables, keyed by IP and by account identifier.
pub struct RateLimiter {
    per_ip: Rate,
    per_account: Rate,
    ips: Mutex<HashMap<String, i64>>,
    accounts: Mutex<HashMap<String, i64>>,
}

const MAX_KEYS: usize = 100_000;

fn check(table: &Mutex<HashMap<String, i64>>, key: &str, rate: Rate) -> Result<(), i64> {
    let now = crate::store::now_ms();
    let mut map = table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() > MAX_KEYS {
        // Entries whose theoretical arrival time has passed carry no state.
        map.retain(|_, tat| *tat > now);
    }
    let next = gcra(map.get(key).copied(), now, rate)?;
    map.insert(key.to_string(), next);
    Ok(())
}

impl RateLimiter {
    /// Limits from the configuration.
    pub fn new(ip_per_minute: i64, account_per_minute: i64) -> RateLimiter {
        RateLimiter {
            per_ip: Rate::per_minute(ip_per_minute),
            per_account: Rate::per_minute(account_per_minute),
            ips: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `ip`; Err(ms to wait) when over.
    pub fn check_ip(&self, ip: &str) -> Result<(), i64> {
        check(&self.ips, ip, self.per_ip)
    }

    /// Counts a sign-in or code request for `identifier`.
    pub fn check_account(&self, identifier: &str) -> Result<(), i64> {
        check(&self.accounts, identifier, self.per_account)
    }
}

/// Middleware: 429 with Retry-After past the per-IP rate.
pub async fn per_ip(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    // Behind a trusted proxy every client arrives from the proxy's address:
    // count the client the proxy names.
    if let Some(ip) = super::auth::client_ip(&app, &request) {
        if let Err(wait) = app.limiter.check_ip(&ip.to_string()) {
            return Problem::rate_limited(wait).into_response();
        }
    }
    next.run(request).await
}
