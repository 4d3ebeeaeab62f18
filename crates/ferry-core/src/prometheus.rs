//! Prometheus metrics: the recorder behind the `metrics` facade (which Ferry's crates
//! report to), the `/metrics` endpoint on the main port or on a listener of its own, and
//! the process figures read at each scrape.
//!
//! ```no_run
//! use ferry_core::App;
//! use ferry_core::prometheus::Metrics;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Before any server is built: components look their metrics up once.
//! let metrics = Metrics::install()?;
//! metrics
//!     .route(App::new().get("/hello", |_req| async { "hi" }))
//!     .serve("127.0.0.1:3000")
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use http::{HeaderValue, StatusCode, header};
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{App, AppError, IntoResponse, Request, Response, Server};

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Another recorder is installed in this process (the `metrics` facade has one).
    #[error("cannot install the metrics recorder: {0}")]
    Install(String),
    /// The listener of its own could not be bound.
    #[error("cannot serve metrics at {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: AppError,
    },
}

/// Where metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// Histogram buckets for durations, in seconds: 0.5 ms to 10 s.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram data is drained (without the exporter's own listener, nobody else
/// does it).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Every metric Ferry reports: name, unit, what it counts. The one list the `# HELP` lines
/// and docs/operations.md follow.
pub(crate) const DESCRIPTIONS: [(&str, Kind, Unit, &str); 24] = [
    (
        "ferry_connections_open",
        Kind::Gauge,
        Unit::Count,
        "Connections open now.",
    ),
    (
        "ferry_connections_total",
        Kind::Counter,
        Unit::Count,
        "Connections accepted.",
    ),
    (
        "ferry_connections_refused_total",
        Kind::Counter,
        Unit::Count,
        "Connections turned away, by reason.",
    ),
    (
        "ferry_tls_handshakes_total",
        Kind::Counter,
        Unit::Count,
        "TLS handshakes, by result (ok, failed).",
    ),
    (
        "ferry_request_header_timeouts_total",
        Kind::Counter,
        Unit::Count,
        "Connections closed because a request head did not arrive in time.",
    ),
    (
        "ferry_send_timeouts_total",
        Kind::Counter,
        Unit::Count,
        "Connections dropped because the client stopped reading.",
    ),
    (
        "ferry_received_bytes_total",
        Kind::Counter,
        Unit::Bytes,
        "Bytes read from clients (TLS records included).",
    ),
    (
        "ferry_sent_bytes_total",
        Kind::Counter,
        Unit::Bytes,
        "Bytes written to clients (TLS records included).",
    ),
    (
        "ferry_http_requests_total",
        Kind::Counter,
        Unit::Count,
        "Requests answered, by method, route pattern and status.",
    ),
    (
        "ferry_http_request_duration_seconds",
        Kind::Histogram,
        Unit::Seconds,
        "Time until the response head was ready, by method and route pattern.",
    ),
    (
        "ferry_http_requests_in_flight",
        Kind::Gauge,
        Unit::Count,
        "Requests being answered now.",
    ),
    (
        "ferry_rate_limited_total",
        Kind::Counter,
        Unit::Count,
        "Requests answered 429 by the rate limit.",
    ),
    (
        "ferry_js_queue_depth",
        Kind::Gauge,
        Unit::Count,
        "Requests waiting for a JavaScript worker (pool model).",
    ),
    (
        "ferry_js_call_duration_seconds",
        Kind::Histogram,
        Unit::Seconds,
        "Time from handing a request to a JavaScript worker to its answer, queue wait included.",
    ),
    (
        "ferry_js_worker_replacements_total",
        Kind::Counter,
        Unit::Count,
        "JavaScript workers stuck in host code past their deadline and replaced by fresh ones.",
    ),
    (
        "ferry_js_routes_moved_to_pool_total",
        Kind::Counter,
        Unit::Count,
        "Script routes moved from the server threads to the worker pool (--worker-model auto) when their calls held a thread over a millisecond on average.",
    ),
    (
        "ferry_js_worker_stuck_total",
        Kind::Counter,
        Unit::Count,
        "Thread-per-core JavaScript workers found stuck in host code (they cannot be replaced).",
    ),
    (
        "ferry_script_errors_total",
        Kind::Counter,
        Unit::Count,
        "Script calls that failed, by kind (thrown, timeout, invalid_response, out_of_memory, missing_handler).",
    ),
    (
        "ferry_sse_clients",
        Kind::Gauge,
        Unit::Count,
        "Event-stream (SSE) clients connected now.",
    ),
    (
        "ferry_websocket_connections",
        Kind::Gauge,
        Unit::Count,
        "Script WebSocket connections open now.",
    ),
    (
        "process_resident_memory_bytes",
        Kind::Gauge,
        Unit::Bytes,
        "Resident memory of the process.",
    ),
    (
        "process_open_fds",
        Kind::Gauge,
        Unit::Count,
        "Open file descriptors of the process.",
    ),
    (
        "process_threads",
        Kind::Gauge,
        Unit::Count,
        "Threads of the process.",
    ),
    (
        "process_uptime_seconds",
        Kind::Gauge,
        Unit::Seconds,
        "Time since the process started.",
    ),
];

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The installed Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    started: std::time::Instant,
}

impl Metrics {
    /// Installs the process-wide recorder and starts its upkeep on the current runtime.
    /// Call before any server is built: components look their metrics up once.
    pub fn install() -> Result<Metrics, MetricsError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &DURATION_BUCKETS)
            .map_err(|error| MetricsError::Install(error.to_string()))?
            .install_recorder()
            .map_err(|error| MetricsError::Install(error.to_string()))?;
        for (name, kind, unit, help) in DESCRIPTIONS {
            match kind {
                Kind::Counter => metrics::describe_counter!(name, unit, help),
                Kind::Gauge => metrics::describe_gauge!(name, unit, help),
                Kind::Histogram => metrics::describe_histogram!(name, unit, help),
            }
        }
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Metrics {
            handle,
            started: std::time::Instant::now(),
        })
    }

    /// Adds `GET /metrics` to `app`.
    pub fn route(&self, app: App) -> App {
        let metrics = self.clone();
        app.get(METRICS_PATH, move |_request: Request| {
            let metrics = metrics.clone();
            async move { metrics.exposition() }
        })
    }

    /// Binds a listener of its own at `addr` that serves only `/metrics` and runs it in the
    /// background; returns its URL for the banner.
    pub async fn serve_apart(&self, addr: SocketAddr) -> Result<String, MetricsError> {
        let server: Server = self
            .route(App::new())
            .bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let url = format!("http://{}{METRICS_PATH}", server.local_addr());
        tokio::spawn(server.run());
        Ok(url)
    }

    /// The current figures in Prometheus' text format.
    fn exposition(&self) -> Response {
        record_process_figures(self.started);
        let mut response = (StatusCode::OK, self.handle.render()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Reads the process's memory, descriptors and threads from /proc (Linux; elsewhere the
/// figures are left out).
fn record_process_figures(started: std::time::Instant) {
    metrics::gauge!("process_uptime_seconds").set(started.elapsed().as_secs_f64());
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let kib = |line: &str, key: &str| {
                line.strip_prefix(key)?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            };
            if let Some(rss) = kib(line, "VmRSS:") {
                metrics::gauge!("process_resident_memory_bytes").set(rss * 1024.0);
            } else if let Some(threads) = kib(line, "Threads:") {
                metrics::gauge!("process_threads").set(threads);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(entries.count() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric names of the table in docs/operations.md (a row may name several).
    fn documented() -> Vec<String> {
        let operations = include_str!("../../../docs/operations.md");
        let table = operations
            .split("| metric | type | labels | what |")
            .nth(1)
            .expect("docs/operations.md has the metrics table");
        table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.split('|').nth(1))
            .flat_map(|cell| {
                cell.split(',')
                    .map(|name| name.trim().trim_matches('`').to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_documented_metrics_are_the_described_ones() {
        let mut documented = documented();
        documented.sort();
        let mut described: Vec<String> = DESCRIPTIONS
            .iter()
            .map(|(name, ..)| (*name).to_owned())
            .collect();
        described.sort();
        assert_eq!(documented, described);
    }
}
