//! Measures WebSocket echo round trips: `connections` clients each send a message, wait for
//! it to come back, and send the next (closed loop); reports round trips per second and
//! their latency.
//!
//! ```text
//! cargo run --release -p ferry-bench --example ws_echo -- \
//!     --url ws://127.0.0.1:8080/echo [--connections 50] [--duration 5] [--message-bytes 64] [--runs 3]
//! ```
//!
//! Any server that echoes text messages will do, e.g. `ferry run
//! examples/apps/websocket/app.js` (its `/echo`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    if let Err(message) = start() {
        eprintln!("ws_echo: {message}");
        std::process::exit(2);
    }
}

fn start() -> Result<(), String> {
    let mut url = None;
    let mut connections = 50;
    let mut seconds = 5.0;
    let mut message_bytes = 64;
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--connections" => connections = number(&value()?)?,
            "--duration" => seconds = number(&value()?)?,
            "--message-bytes" => message_bytes = number(&value()?)?,
            "--runs" => runs = number(&value()?)?,
            other => return Err(format!("unknown flag {other}; see the file's doc comment")),
        }
    }
    let url = url.ok_or("--url ws://HOST:PORT/PATH is required")?;
    let authority = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("--url must be a ws:// URL")?
        .to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    println!("| run | connections | round trips/s | errors | p50 ms | p99 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut rates = Vec::new();
    for run in 1..=runs {
        let duration = Duration::from_secs_f64(seconds);
        let (rate, errors, latency) = runtime.block_on(measure(
            &url,
            &authority,
            connections,
            duration,
            message_bytes,
        ))?;
        let ms = |quantile: f64| latency.value_at_quantile(quantile) as f64 / 1000.0;
        println!(
            "| {run} | {connections} | {rate:.0} | {errors} | {:.2} | {:.2} | {:.2} |",
            ms(0.5),
            ms(0.99),
            latency.max() as f64 / 1000.0
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    if let Some(median) = rates.get(rates.len() / 2) {
        println!("\nmedian round trips/s: {median:.0}");
    }
    Ok(())
}

async fn measure(
    url: &str,
    authority: &str,
    connections: usize,
    duration: Duration,
    message_bytes: usize,
) -> Result<(f64, u64, Histogram<u64>), String> {
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|error| format!("cannot connect to {authority}: {error}"))?;
        let _ = stream.set_nodelay(true);
        let (socket, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|error| format!("the WebSocket handshake failed: {error}"))?;
        sockets.push(socket);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let payload = "x".repeat(message_bytes);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let errors = errors.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                    .expect("1 µs to 60 s at 3 digits is a valid histogram");
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    if socket.send(Message::text(payload.clone())).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    match socket.next().await {
                        Some(Ok(Message::Text(text))) if text.len() == payload.len() => {
                            let micros =
                                u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = latency.record(micros.max(1));
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                let _ = socket.close(None).await;
                latency
            })
        })
        .collect();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .expect("1 µs to 60 s at 3 digits is a valid histogram");
    for task in tasks {
        if let Ok(histogram) = task.await {
            let _ = latency.add(histogram);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = latency.len() as f64 / elapsed;
    Ok((rate, errors.load(Ordering::Relaxed), latency))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}
