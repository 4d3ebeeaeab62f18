//! The load generator: N connections, each sending one request at a time, for a duration or
//! a number of requests, after a warm-up that is not counted.
//!
//! Closed loop (the default) sends the next request as soon as the previous answer is read,
//! like wrk. Open loop (`rate`) schedules requests at a fixed total rate and measures each
//! latency from the moment the request *should* have been sent, so a server that stalls is
//! charged for the requests that queued up behind the stall — the coordinated-omission
//! correction of wrk2. Each connection keeps its own histograms; they are merged at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{CONTENT_LENGTH, HOST};
use http_body_util::{BodyExt, Empty};
use serde::Serialize;
use tokio::time::Instant;

use crate::connect::{self, Sender};
use crate::target::Target;

/// How to load a target.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Concurrent connections (each with one request in flight).
    pub connections: usize,
    /// How long to measure; ignored when `requests` is set.
    pub duration: Duration,
    /// Measure exactly this many requests instead of a duration.
    pub requests: Option<u64>,
    /// Load before measuring, not counted (connections are opened in it too).
    pub warmup: Duration,
    /// Open loop at this total rate (requests per second) instead of closed loop.
    pub rate: Option<f64>,
    /// Longest a request may take before it counts as a timeout.
    pub timeout: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            connections: 50,
            duration: Duration::from_secs(10),
            requests: None,
            warmup: Duration::from_secs(1),
            rate: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Failures, by kind. Every failed request is counted in exactly one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// A connection could not be opened (TCP or TLS).
    pub connect: u64,
    /// No complete answer within the timeout.
    pub timeout: u64,
    /// An answer with a status other than 2xx or 3xx.
    pub status: u64,
    /// A body shorter or longer than its `Content-Length`.
    pub body_length: u64,
    /// The connection failed while sending or reading.
    pub read: u64,
}

impl ErrorCounts {
    /// Every error, of every kind.
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.status + self.body_length + self.read
    }

    fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.status += other.status;
        self.body_length += other.body_length;
        self.read += other.read;
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
}

impl LatencySummary {
    /// Summarises a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        LatencySummary {
            mean: histogram.mean() / 1000.0,
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Successful requests in the measured window.
    pub requests: u64,
    /// Body bytes of those requests.
    pub bytes: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latency of successful requests, in microseconds (open loop: from the scheduled time).
    pub latency: Histogram<u64>,
    /// Time to the first byte of the answer (its head), in microseconds.
    pub ttfb: Histogram<u64>,
    /// Failed requests, by kind.
    pub errors: ErrorCounts,
}

impl LoadReport {
    /// Successful requests per second.
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Body bytes per second.
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Latency percentiles.
    pub fn latency_summary(&self) -> LatencySummary {
        LatencySummary::of(&self.latency)
    }

    /// Time-to-first-byte percentiles.
    pub fn ttfb_summary(&self) -> LatencySummary {
        LatencySummary::of(&self.ttfb)
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .expect("1 µs to 60 s at 3 digits is a valid histogram")
}

/// When the run measures, and when it stops.
struct Window {
    measure_from: Instant,
    until: Option<Instant>,
    /// Requests still to be measured (count mode), else unused.
    budget: AtomicI64,
    counting: bool,
}

impl Window {
    fn is_over(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now >= until)
            || (self.counting && self.budget.load(Ordering::Relaxed) <= 0)
    }

    /// Whether a request started at `at` is measured; in count mode it takes one from the
    /// budget (`None`: the budget is spent, stop).
    fn admit(&self, at: Instant) -> Option<bool> {
        if at < self.measure_from {
            return Some(false);
        }
        if self.counting && self.budget.fetch_sub(1, Ordering::Relaxed) <= 0 {
            return None;
        }
        Some(true)
    }
}

/// Loads `target` as `config` says and reports what it measured.
pub async fn run(target: &Target, config: &LoadConfig) -> LoadReport {
    let started = Instant::now();
    let measure_from = started + config.warmup;
    let window = Arc::new(Window {
        measure_from,
        until: config
            .requests
            .is_none()
            .then_some(measure_from + config.duration),
        budget: AtomicI64::new(
            config
                .requests
                .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        ),
        counting: config.requests.is_some(),
    });
    let tls = target.tls.then(connect::tls_config);
    let connections = config.connections.max(1);
    let mut workers = Vec::with_capacity(connections);
    for index in 0..connections {
        let worker = Worker {
            index,
            target: target.clone(),
            config: config.clone(),
            window: window.clone(),
            tls: tls.clone(),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    let mut merged = WorkerResult::new();
    for worker in workers {
        if let Ok(result) = worker.await {
            merged.merge(&result);
        }
    }
    let elapsed = if config.requests.is_some() {
        merged.last_done.map_or(Duration::ZERO, |done| {
            done.saturating_duration_since(measure_from)
        })
    } else {
        config.duration
    };
    LoadReport {
        requests: merged.requests,
        bytes: merged.bytes,
        elapsed,
        latency: merged.latency,
        ttfb: merged.ttfb,
        errors: merged.errors,
    }
}

struct WorkerResult {
    requests: u64,
    bytes: u64,
    latency: Histogram<u64>,
    ttfb: Histogram<u64>,
    errors: ErrorCounts,
    last_done: Option<Instant>,
}

impl WorkerResult {
    fn new() -> Self {
        WorkerResult {
            requests: 0,
            bytes: 0,
            latency: new_histogram(),
            ttfb: new_histogram(),
            errors: ErrorCounts::default(),
            last_done: None,
        }
    }

    fn merge(&mut self, other: &WorkerResult) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        let _ = self.latency.add(&other.latency);
        let _ = self.ttfb.add(&other.ttfb);
        self.errors.add(&other.errors);
        self.last_done = self.last_done.max(other.last_done);
    }
}

struct Worker {
    index: usize,
    target: Target,
    config: LoadConfig,
    window: Arc<Window>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// Why an exchange failed.
enum Failure {
    /// The connection failed before or while the answer's head arrived, or during a body of
    /// unknown length.
    Connection,
    /// The body ended before its declared `Content-Length`.
    ShortBody,
}

/// What one exchange returned.
struct Answer {
    status: http::StatusCode,
    head_at: Instant,
    bytes: u64,
    expected: Option<u64>,
    /// The server will close the connection after this answer.
    closing: bool,
}

/// Whether an HTTP/1 answer ends its connection: `Connection: close`, or HTTP/1.0 without
/// `Connection: keep-alive`.
fn announces_close<B>(response: &http::Response<B>) -> bool {
    let connection = response
        .headers()
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    match response.version() {
        http::Version::HTTP_10 => !connection.is_some_and(|c| c.contains("keep-alive")),
        http::Version::HTTP_11 => connection.is_some_and(|c| c.contains("close")),
        _ => false,
    }
}

impl Worker {
    async fn run(self) -> WorkerResult {
        let mut result = WorkerResult::new();
        let uris = self.uris();
        // Open loop: this connection's share of the rate, its first slot staggered so the
        // connections do not fire together.
        let connections = self.config.connections.max(1) as f64;
        let interval = self
            .config
            .rate
            .filter(|rate| *rate > 0.0)
            .map(|rate| Duration::from_secs_f64(connections / rate));
        let mut next_slot = Instant::now()
            + interval.map_or(Duration::ZERO, |i| {
                i.mul_f64(self.index as f64 / connections)
            });
        let mut next_path = self.index;
        let mut sender: Option<Sender> = None;

        loop {
            let intended = match interval {
                Some(interval) => {
                    let slot = next_slot;
                    next_slot += interval;
                    tokio::time::sleep_until(slot).await;
                    slot
                }
                None => Instant::now(),
            };
            if self.window.is_over(intended) {
                break;
            }
            let Some(counted) = self.window.admit(intended) else {
                break;
            };
            // (Re)connect when there is no usable connection: none yet, the last one failed,
            // the server announced it would close it, or it closed it while idle.
            let usable = match sender.as_mut() {
                Some(open) => open.ready().await.is_ok(),
                None => false,
            };
            if !usable {
                let connected = tokio::time::timeout(
                    self.config.timeout,
                    connect::connect(&self.target, self.tls.as_ref()),
                )
                .await;
                match connected {
                    Ok(Ok(fresh)) => sender = Some(fresh),
                    _ => {
                        sender = None;
                        if counted {
                            result.errors.connect += 1;
                        }
                        // Do not spin against a server that is down.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                }
            }
            let Some(open) = sender.as_mut() else {
                continue;
            };
            let uri = if open.is_http2() {
                uris.absolute[next_path % uris.absolute.len()].clone()
            } else {
                uris.origin[next_path % uris.origin.len()].clone()
            };
            next_path += 1;
            let sent = Instant::now();
            let exchange =
                tokio::time::timeout(self.config.timeout, self.exchange(open, uri)).await;
            let done = Instant::now();
            let answer = match exchange {
                Ok(Ok(answer)) => answer,
                Ok(Err(failure)) => {
                    sender = None;
                    if counted {
                        result.last_done = Some(done);
                        match failure {
                            Failure::ShortBody => result.errors.body_length += 1,
                            Failure::Connection => result.errors.read += 1,
                        }
                    }
                    continue;
                }
                Err(_) => {
                    sender = None;
                    if counted {
                        result.last_done = Some(done);
                        result.errors.timeout += 1;
                    }
                    continue;
                }
            };
            // The server says it closes this connection (HTTP/1.0, `Connection: close`, a
            // keep-alive request limit): the next request goes over a new one, as in browsers.
            if answer.closing {
                sender = None;
            }
            if !counted {
                continue;
            }
            result.last_done = Some(done);
            if !(answer.status.is_success() || answer.status.is_redirection()) {
                result.errors.status += 1;
            } else if answer
                .expected
                .is_some_and(|expected| expected != answer.bytes)
            {
                result.errors.body_length += 1;
            } else {
                result.requests += 1;
                result.bytes += answer.bytes;
                result.latency.saturating_record(micros(done - intended));
                result.ttfb.saturating_record(micros(answer.head_at - sent));
            }
        }
        result
    }

    async fn exchange(&self, sender: &mut Sender, uri: http::Uri) -> Result<Answer, Failure> {
        sender.ready().await.map_err(|_| Failure::Connection)?;
        let request = http::Request::get(uri)
            .header(HOST, self.target.authority.as_str())
            .body(Empty::<Bytes>::new())
            .map_err(|_| Failure::Connection)?;
        let response = sender
            .send(request)
            .await
            .map_err(|_| Failure::Connection)?;
        let head_at = Instant::now();
        let status = response.status();
        let closing = announces_close(&response);
        let expected = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            // A body that ends early after a declared length is a length mismatch.
            let frame = frame.map_err(|_| match expected {
                Some(_) => Failure::ShortBody,
                None => Failure::Connection,
            })?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
            }
        }
        Ok(Answer {
            status,
            head_at,
            bytes,
            expected,
            closing,
        })
    }

    fn uris(&self) -> Uris {
        let scheme = if self.target.tls { "https" } else { "http" };
        let parse = |text: String| {
            text.parse::<http::Uri>()
                .unwrap_or_else(|_| http::Uri::from_static("/"))
        };
        Uris {
            origin: self.target.paths.iter().map(|p| parse(p.clone())).collect(),
            absolute: self
                .target
                .paths
                .iter()
                .map(|p| parse(format!("{scheme}://{}{p}", self.target.authority)))
                .collect(),
        }
    }
}

/// The request targets in both forms: HTTP/1.1 sends the path, HTTP/2 the absolute URI.
struct Uris {
    origin: Vec<http::Uri>,
    absolute: Vec<http::Uri>,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}
