//! Prometheus metrics: requests by route and status, latency histograms,
//! pool usage and job queue depth, in the text exposition format.
//!
//! Hand-written rather than `metrics` with `metrics-exporter-prometheus`: the
//! exporter writes the same names and labels, but recorded 0.42× the
//! requests/s on one thread and 0.36× on two, and took 6.3× as long per
//! render (it folds histogram samples in at each scrape); the domains'
//! gauges write text here, and `method_label` would still be ours. Measured
//! by `koban-bench metrics`, 2026-12-04, in docs/benchmarks-history.md.

use crate::state::App;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters kept by this process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    /// Counts one answered request (public for `koban-bench metrics`).
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        drop(requests);
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency
            .entry((route.to_string(), method.to_string()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The request counters and latency histograms as exposition text.
    pub fn render_requests(&self, out: &mut String) {
        out.push_str("# HELP koban_http_requests_total HTTP requests by route template, method and status.\n");
        out.push_str("# TYPE koban_http_requests_total counter\n");
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(out, "koban_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP koban_http_request_duration_seconds Time to answer, by route template and method.\n");
        out.push_str("# TYPE koban_http_request_duration_seconds histogram\n");
        for ((route, method), h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "koban_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "koban_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "koban_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "koban_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
    }

    /// The exposition text, with the gauges read now.
    pub async fn render(&self, app: &App) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        let (open, idle) = app.store.pool_usage();
        out.push_str("# HELP koban_db_connections Database connections open and idle.\n# TYPE koban_db_connections gauge\n");
        let _ = writeln!(out, "koban_db_connections{{state=\"open\"}} {open}");
        let _ = writeln!(out, "koban_db_connections{{state=\"idle\"}} {idle}");
        out.push_str("# HELP koban_db_lane_overflows_total Statements of sign-ins and session lookups run on the pool because every connection of their lane was busy (PostgreSQL).\n# TYPE koban_db_lane_overflows_total counter\n");
        let _ = writeln!(
            out,
            "koban_db_lane_overflows_total {}",
            app.store.lane_overflows()
        );
        for gauges in app.gauges() {
            gauges(app, &mut out);
        }
        out.push_str(
            "# HELP koban_jobs Jobs in the durable queue by status.\n# TYPE koban_jobs gauge\n",
        );
        let depth = crate::jobs::queue_depth(&app.store)
            .await
            .unwrap_or_default();
        for status in ["pending", "running"] {
            let n = depth
                .iter()
                .find(|(s, _)| s == status)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(out, "koban_jobs{{status=\"{status}\"}} {n}");
        }
        out
    }
}

/// The method as a label: a client may invent any method name, and each
/// would open new series without bound, so the unknown ones share one.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: times each request under its route template (never the raw
/// path, which would make a series per id and per probe).
pub async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(request.method()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
