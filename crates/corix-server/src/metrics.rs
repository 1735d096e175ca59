//! Prometheus metrics at `/metrics`: request latency per route, agent round trips, computers by
//! status and the warm pool. Hand-written text exposition; histograms with fixed buckets.

use crate::app::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use corix_proto::api::ComputerStatus;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Upper bounds in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) -> latency
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    agent_round_trips: Mutex<Histogram>,
}

impl Metrics {
    pub fn observe_agent(&self, elapsed: Duration) {
        self.agent_round_trips.lock().observe(elapsed.as_secs_f64());
    }

    fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let key = (method.to_string(), route.to_string(), status);
        self.requests.lock().entry(key).or_default().observe(elapsed.as_secs_f64());
    }
}

/// Middleware: times every request under the route pattern it matched (not the raw path, which
/// would make one series per computer id).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    state.metrics.observe_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP corix_http_request_duration_seconds Time to answer an API request, by route.\n");
    out.push_str("# TYPE corix_http_request_duration_seconds histogram\n");
    for ((method, route, status), histogram) in state.metrics.requests.lock().iter() {
        let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
        histogram.render(&mut out, "corix_http_request_duration_seconds", &labels);
    }
    out.push_str("# HELP corix_agent_round_trip_seconds Time from forwarding a request to an agent to its answer's headers.\n");
    out.push_str("# TYPE corix_agent_round_trip_seconds histogram\n");
    state.metrics.agent_round_trips.lock().clone().render(&mut out, "corix_agent_round_trip_seconds", "");
    out.push_str("# HELP corix_computers Computers by status.\n# TYPE corix_computers gauge\n");
    let counts = state.store.count_computers_by_status().unwrap_or_default();
    for status in ComputerStatus::ALL {
        let count = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "corix_computers{{status=\"{}\"}} {count}", status.as_str());
    }
    let pool = &state.lifecycle.pool;
    out.push_str("# HELP corix_warm_pool_ready Started, unclaimed computers in the warm pool.\n# TYPE corix_warm_pool_ready gauge\n");
    let _ = writeln!(out, "corix_warm_pool_ready {}", pool.ready());
    out.push_str("# HELP corix_warm_pool_target Computers the warm pool keeps.\n# TYPE corix_warm_pool_target gauge\n");
    let _ = writeln!(out, "corix_warm_pool_target {}", pool.target());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
