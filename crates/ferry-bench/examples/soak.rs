//! A soak test: opens many idle keep-alive connections (each has made one request), keeps
//! a steady load on a few others, and reports the server's resident memory before, during
//! and after; then closes the idle connections and checks the memory comes back down.
//!
//! ```text
//! cargo run --release -p ferry-bench --example soak -- \
//!     --url http://127.0.0.1:8080/small.txt --pid SERVER_PID \
//!     [--idle 10000] [--hold 20] [--load-connections 8] [--max-rss-mb 100]
//! ```
//!
//! Linux only (memory comes from /proc/PID/status). The server needs file descriptors for
//! `--idle` connections and more (`ulimit -n`), and a connection limit above it
//! (`ferry serve --max-connections 12000`). `scripts/soak` runs the whole procedure. Exits
//! with status 1 when a goal is missed: every idle connection open and answered, no failed
//! load request, the peak below `--max-rss-mb`, and the memory after closing within 20 MB
//! of the memory before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How close to the starting memory the server must come back, in MiB.
const BACK_NEAR_IDLE_MB: f64 = 20.0;

fn main() {
    match start() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(message) => {
            eprintln!("soak: {message}");
            std::process::exit(2);
        }
    }
}

struct Settings {
    authority: String,
    path: String,
    pid: u32,
    idle: usize,
    hold: Duration,
    load_connections: usize,
    max_rss_mb: f64,
}

fn start() -> Result<bool, String> {
    let settings = parse_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(soak(settings))
}

fn parse_args() -> Result<Settings, String> {
    let mut url = None;
    let mut pid = None;
    let mut idle = 10_000;
    let mut hold = 20.0;
    let mut load_connections = 8;
    let mut max_rss_mb = 100.0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--pid" => pid = Some(number(&value()?)?),
            "--idle" => idle = number(&value()?)?,
            "--hold" => hold = number(&value()?)?,
            "--load-connections" => load_connections = number(&value()?)?,
            "--max-rss-mb" => max_rss_mb = number(&value()?)?,
            other => return Err(format!("unknown flag {other}; see the file's doc comment")),
        }
    }
    let url = url.ok_or("--url http://HOST:PORT/PATH is required")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must be an http:// URL")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (rest[..at].to_owned(), rest[at..].to_owned()),
        None => (rest.to_owned(), "/".to_owned()),
    };
    Ok(Settings {
        authority,
        path,
        pid: pid.ok_or("--pid of the server is required")?,
        idle,
        hold: Duration::from_secs_f64(hold),
        load_connections,
        max_rss_mb,
    })
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a valid number"))
}

/// The server's resident memory in MiB.
fn rss_mb(pid: u32) -> Result<f64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|error| format!("cannot read the memory of process {pid}: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .ok_or_else(|| "no VmRSS line".to_owned())
}

/// Sends one request on `stream` and reads its response (which must carry
/// Content-Length); true for a 200.
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> std::io::Result<bool> {
    stream.write_all(request).await?;
    let mut received = Vec::with_capacity(2048);
    let mut buf = [0u8; 4096];
    loop {
        let read = stream.read(&mut buf).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&buf[..read]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if received.len() >= end + 4 + length {
            return Ok(head.starts_with("http/1.1 200"));
        }
    }
}

async fn soak(settings: Settings) -> Result<bool, String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
        settings.path, settings.authority
    )
    .into_bytes();
    let request = Arc::new(request);
    let before = rss_mb(settings.pid)?;
    println!("| phase | server RSS (MiB) | notes |");
    println!("|---|---:|---|");
    println!("| before | {before:.1} | idle server |");

    // Open the idle connections in batches, each answering one request.
    let opened = Instant::now();
    let mut idle = Vec::with_capacity(settings.idle);
    let mut failed = 0usize;
    let batch = 500;
    for start in (0..settings.idle).step_by(batch) {
        let count = batch.min(settings.idle - start);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            let authority = settings.authority.clone();
            let request = request.clone();
            tasks.spawn(async move {
                let mut stream = TcpStream::connect(&authority).await.ok()?;
                matches!(exchange(&mut stream, &request).await, Ok(true)).then_some(stream)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Some(stream)) => idle.push(stream),
                _ => failed += 1,
            }
        }
    }
    let open_rss = rss_mb(settings.pid)?;
    println!(
        "| {} idle connections open | {open_rss:.1} | opened in {:.1} s, {failed} failed |",
        idle.len(),
        opened.elapsed().as_secs_f64()
    );

    // Steady load beside them, for the hold time, sampling the memory every second.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..settings.load_connections {
        let (authority, request) = (settings.authority.clone(), request.clone());
        let (stop, answered, errors) = (stop.clone(), answered.clone(), errors.clone());
        load.spawn(async move {
            let mut stream = None;
            while !stop.load(Ordering::Relaxed) {
                if stream.is_none() {
                    stream = TcpStream::connect(&authority).await.ok();
                }
                let Some(connection) = stream.as_mut() else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                match exchange(connection, &request).await {
                    Ok(true) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        stream = None;
                    }
                }
            }
        });
    }
    let held = Instant::now();
    let mut peak = open_rss;
    while held.elapsed() < settings.hold {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(rss_mb(settings.pid)?);
    }
    stop.store(true, Ordering::Relaxed);
    while load.join_next().await.is_some() {}
    let rate = answered.load(Ordering::Relaxed) as f64 / held.elapsed().as_secs_f64();
    let load_errors = errors.load(Ordering::Relaxed);
    println!(
        "| during: {} s of load on {} more connections | peak {peak:.1} | {rate:.0} req/s, {load_errors} errors |",
        settings.hold.as_secs(),
        settings.load_connections
    );

    // Are the idle connections still there and still answering?
    let mut still_answering = 0usize;
    for stream in idle.iter_mut().step_by(100) {
        if matches!(exchange(stream, &request).await, Ok(true)) {
            still_answering += 1;
        }
    }
    let sampled = idle.len().div_ceil(100);
    drop(idle);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_mb(settings.pid)?;
    println!("| after closing them (5 s) | {after:.1} | |");
    println!();
    println!("idle connections sampled after the load: {still_answering}/{sampled} still answered");

    let mut passed = true;
    let mut goal = |ok: bool, text: String| {
        println!("{} {text}", if ok { "ok  " } else { "FAIL" });
        passed &= ok;
    };
    goal(
        failed == 0,
        format!("all {} idle connections opened and answered", settings.idle),
    );
    goal(
        load_errors == 0,
        format!("no failed load request ({load_errors})"),
    );
    goal(
        still_answering == sampled,
        "idle connections still served after the load".to_owned(),
    );
    goal(
        peak < settings.max_rss_mb,
        format!(
            "peak memory {peak:.1} MiB under {} MiB",
            settings.max_rss_mb
        ),
    );
    goal(
        after <= before + BACK_NEAR_IDLE_MB,
        format!("memory back near idle: {after:.1} MiB after, {before:.1} MiB before"),
    );
    Ok(passed)
}
