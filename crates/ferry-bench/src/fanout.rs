//! Server-Sent Events fan-out: how many messages a server delivers per second to many
//! subscribers of one stream, and how long a message takes from its publication to each
//! subscriber.
//!
//! `subscribers` plain HTTP/1.1 connections follow the stream; `publishers` keep-alive
//! connections POST messages (closed loop) to a URL that publishes its body to the stream.
//! Each message carries its publication time (`t=<ns>`), so every subscriber measures the
//! delivery latency of every message it receives.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Target;

/// What to measure.
#[derive(Debug, Clone)]
pub struct FanoutConfig {
    /// The stream subscribers follow (GET).
    pub stream: Target,
    /// The URL that publishes a POST's body to the stream.
    pub publish: Target,
    /// Subscribers of the stream.
    pub subscribers: usize,
    /// Concurrent publishing connections.
    pub publishers: usize,
    /// How long messages are published.
    pub duration: Duration,
    /// Size of each message's data, padding included.
    pub message_bytes: usize,
    /// Messages per second all publishers together send at most; `None` publishes as fast
    /// as answered (a closed loop). A rate measures latency below saturation.
    pub rate: Option<f64>,
}

/// What a fan-out run measured.
#[derive(Debug, Clone)]
pub struct FanoutReport {
    /// Subscribers connected when publishing began.
    pub subscribers: usize,
    /// Messages published (answered by the publish URL).
    pub published: u64,
    /// Deliveries counted at the subscribers (one message to one subscriber).
    pub delivered: u64,
    /// Subscribers whose stream ended or failed during the run.
    pub lost_subscribers: u64,
    /// From the first publication to the end of the publishing window.
    pub elapsed: Duration,
    /// Delivery latency in microseconds.
    pub latency: Histogram<u64>,
}

impl FanoutReport {
    /// Deliveries per second over the run.
    pub fn deliveries_per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Messages published per second.
    pub fn messages_per_second(&self) -> f64 {
        self.published as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Deliveries missing: every published message should reach every subscriber.
    pub fn missing(&self) -> u64 {
        (self.published * self.subscribers as u64).saturating_sub(self.delivered)
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    /// A subscriber could not connect or was refused.
    #[error("subscriber {index} could not follow {url}: {reason}")]
    Subscribe {
        /// Which subscriber.
        index: usize,
        /// The stream's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Only plain `http://` targets are supported.
    #[error("the fan-out benchmark speaks plain HTTP/1.1; {0} is not an http:// URL")]
    Scheme(String),
}

struct Shared {
    origin: Instant,
    delivered: AtomicU64,
    lost: AtomicU64,
    stop: AtomicBool,
}

/// Runs one fan-out measurement.
pub async fn run(config: &FanoutConfig) -> Result<FanoutReport, FanoutError> {
    for target in [&config.stream, &config.publish] {
        if target.tls {
            return Err(FanoutError::Scheme(url(target)));
        }
    }
    let shared = Arc::new(Shared {
        origin: Instant::now(),
        delivered: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut subscribers = Vec::with_capacity(config.subscribers);
    for index in 0..config.subscribers {
        let stream = subscribe(&config.stream)
            .await
            .map_err(|reason| FanoutError::Subscribe {
                index,
                url: url(&config.stream),
                reason,
            })?;
        subscribers.push(tokio::spawn(follow(stream, shared.clone())));
    }
    let published = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + config.duration;
    let count = config.publishers.max(1);
    let interval = config
        .rate
        .filter(|rate| *rate > 0.0)
        .map(|rate| Duration::from_secs_f64(count as f64 / rate));
    let publishers: Vec<_> = (0..count)
        .map(|_| {
            tokio::spawn(publish(
                config.publish.clone(),
                config.message_bytes,
                deadline,
                interval,
                shared.clone(),
                published.clone(),
            ))
        })
        .collect();
    for publisher in publishers {
        let _ = publisher.await;
    }
    let elapsed = started.elapsed();
    // Messages still on their way get a moment to arrive.
    let expected = published.load(Ordering::Relaxed) * config.subscribers as u64;
    let drain = Instant::now() + Duration::from_secs(2);
    while shared.delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut latency = new_histogram();
    for subscriber in subscribers {
        if let Ok(histogram) = subscriber.await {
            let _ = latency.add(histogram);
        }
    }
    Ok(FanoutReport {
        subscribers: config.subscribers,
        published: published.load(Ordering::Relaxed),
        delivered: shared.delivered.load(Ordering::Relaxed),
        lost_subscribers: shared.lost.load(Ordering::Relaxed),
        elapsed,
        latency,
    })
}

fn url(target: &Target) -> String {
    format!("http://{}{}", target.authority, target.paths[0])
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3)
        .expect("1 µs to 100 s at 3 digits is a valid histogram")
}

/// Connects and sends the GET; returns once the response head says 200.
async fn subscribe(target: &Target) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(target.addr)
        .await
        .map_err(|error| error.to_string())?;
    let _ = stream.set_nodelay(true);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        target.paths[0], target.authority
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| error.to_string())?;
    let head = read_head(&mut stream).await?;
    if !head.starts_with("HTTP/1.1 200") {
        let status = head.lines().next().unwrap_or_default().to_owned();
        return Err(format!("the server answered {status:?}"));
    }
    Ok(stream)
}

/// Reads a response head byte by byte (only at connection set-up, so speed is no matter).
async fn read_head(stream: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream
            .read(&mut byte)
            .await
            .map_err(|error| error.to_string())?;
        if read == 0 {
            return Err("the connection closed before the response head".into());
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err("the response head is too long".into());
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// How often an idle subscriber looks whether the run is over.
const POLL: Duration = Duration::from_millis(50);

/// Reads the stream, counting each message and its latency, until stopped.
async fn follow(mut stream: TcpStream, shared: Arc<Shared>) -> Histogram<u64> {
    let mut latency = new_histogram();
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return latency;
        }
        let read = match tokio::time::timeout(POLL, stream.read(&mut chunk)).await {
            Err(_) => continue,
            Ok(Ok(0) | Err(_)) => {
                if !shared.stop.load(Ordering::Relaxed) {
                    shared.lost.fetch_add(1, Ordering::Relaxed);
                }
                return latency;
            }
            Ok(Ok(read)) => read,
        };
        buffer.extend_from_slice(&chunk[..read]);
        let now = shared.origin.elapsed().as_nanos();
        let (stamps, consumed) = scan_stamps(&buffer);
        for stamp in stamps {
            let micros = now.saturating_sub(u128::from(stamp)) / 1_000;
            let _ = latency.record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
            shared.delivered.fetch_add(1, Ordering::Relaxed);
        }
        buffer.drain(..consumed);
    }
}

const STAMP: &[u8] = b"data: t=";

/// The publication times (`data: t=<ns>`) complete in `buffer`, and how many bytes of it
/// are done with (the rest may hold the start of the next stamp).
fn scan_stamps(buffer: &[u8]) -> (Vec<u64>, usize) {
    let mut stamps = Vec::new();
    let mut position = 0;
    loop {
        let Some(found) = find(&buffer[position..], STAMP) else {
            // Keep what could be the start of a stamp cut by the read.
            return (
                stamps,
                buffer.len().saturating_sub(STAMP.len() - 1).max(position),
            );
        };
        let digits_start = position + found + STAMP.len();
        let digits = buffer[digits_start..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        let end = digits_start + digits;
        if end == buffer.len() {
            return (stamps, position + found);
        }
        let text = std::str::from_utf8(&buffer[digits_start..end]).unwrap_or_default();
        if let Ok(stamp) = text.parse() {
            stamps.push(stamp);
        }
        position = end;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Publishes messages in a closed loop until `deadline`, on one keep-alive connection.
async fn publish(
    target: Target,
    message_bytes: usize,
    deadline: Instant,
    interval: Option<Duration>,
    shared: Arc<Shared>,
    published: Arc<AtomicU64>,
) {
    let Ok(mut stream) = TcpStream::connect(target.addr).await else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let mut response = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 4096];
    let mut next = Instant::now();
    while Instant::now() < deadline {
        if let Some(interval) = interval {
            // On a schedule, not after each answer: a slow answer does not lower the rate.
            tokio::time::sleep_until(next.into()).await;
            next += interval;
        }
        let stamp = shared.origin.elapsed().as_nanos();
        let mut body = format!("t={stamp} ");
        let padding = message_bytes.saturating_sub(body.len());
        body.extend(std::iter::repeat_n('x', padding));
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            target.paths[0],
            target.authority,
            body.len()
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return;
        }
        response.clear();
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => response.extend_from_slice(&chunk[..read]),
            }
            if let Some(complete) = complete_response(&response) {
                if complete {
                    published.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
        }
    }
}

/// Whether `bytes` hold a whole response with a `Content-Length` body: `None` while
/// incomplete, else whether its status was 2xx.
fn complete_response(bytes: &[u8]) -> Option<bool> {
    let head_end = find(bytes, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    (bytes.len() >= head_end + length).then(|| head.starts_with("HTTP/1.1 2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_found_across_chunk_framing_and_cut_reads() {
        let buffer = b"2a\r\nid: 1\ndata: t=123 xx\n\n\r\n2a\r\nid: 2\ndata: t=45";
        let (stamps, consumed) = scan_stamps(buffer);
        assert_eq!(stamps, vec![123]);
        // The second stamp's digits may go on: kept for the next read.
        assert_eq!(&buffer[consumed..], b"data: t=45");
        let (stamps, consumed) = scan_stamps(b"id: 3\ndat");
        assert!(stamps.is_empty());
        assert_eq!(consumed, 2, "a possible stamp start is kept");
    }

    #[test]
    fn responses_are_complete_once_their_body_arrived() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n";
        assert_eq!(complete_response(head), None);
        let mut whole = head.to_vec();
        whole.extend_from_slice(b"100");
        assert_eq!(complete_response(&whole), Some(true));
        assert_eq!(
            complete_response(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
            Some(false)
        );
    }
}
