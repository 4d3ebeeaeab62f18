//! Measures Server-Sent Events fan-out: messages/s delivered to many subscribers of one
//! stream, and publication-to-delivery latency.
//!
//! ```text
//! cargo run --release -p ferry-bench --example sse_fanout -- \
//!     --stream http://127.0.0.1:8080/stream --publish http://127.0.0.1:8080/publish \
//!     [--subscribers 1000] [--publishers 4] [--duration 5] [--message-bytes 64] [--runs 3] \
//!     [--rate MESSAGES_PER_SECOND]
//! ```
//!
//! The publish URL must publish a POST's body to the stream, as `scripts/bench/sse-fanout.js`
//! does for `ferry run`.

use std::time::Duration;

use ferry_bench::Target;
use ferry_bench::fanout::{self, FanoutConfig};

fn main() {
    if let Err(message) = start() {
        eprintln!("sse_fanout: {message}");
        std::process::exit(2);
    }
}

fn start() -> Result<(), String> {
    let mut stream = None;
    let mut publish = None;
    let mut subscribers = 1000;
    let mut publishers = 4;
    let mut seconds = 5.0;
    let mut message_bytes = 64;
    let mut runs = 3;
    let mut rate = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--stream" => stream = Some(value()?),
            "--publish" => publish = Some(value()?),
            "--subscribers" => subscribers = number(&value()?)?,
            "--publishers" => publishers = number(&value()?)?,
            "--duration" => seconds = number(&value()?)?,
            "--message-bytes" => message_bytes = number(&value()?)?,
            "--runs" => runs = number(&value()?)?,
            "--rate" => rate = Some(number(&value()?)?),
            other => return Err(format!("unknown flag {other}; see the file's doc comment")),
        }
    }
    let target = |url: Option<String>, flag: &str| -> Result<Target, String> {
        let url = url.ok_or_else(|| format!("{flag} URL is required"))?;
        Target::parse(&url).map_err(|error| error.to_string())
    };
    let config = FanoutConfig {
        stream: target(stream, "--stream")?,
        publish: target(publish, "--publish")?,
        subscribers,
        publishers,
        duration: Duration::from_secs_f64(seconds),
        message_bytes,
        rate,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    let mut rates = Vec::new();
    println!(
        "| run | subscribers | messages/s | deliveries/s | missing | lost subscribers | p50 ms | p99 ms | max ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in 1..=runs {
        let report = runtime
            .block_on(fanout::run(&config))
            .map_err(|error| error.to_string())?;
        let ms = |quantile: f64| report.latency.value_at_quantile(quantile) as f64 / 1000.0;
        println!(
            "| {run} | {} | {:.0} | {:.0} | {} | {} | {:.2} | {:.2} | {:.2} |",
            report.subscribers,
            report.messages_per_second(),
            report.deliveries_per_second(),
            report.missing(),
            report.lost_subscribers,
            ms(0.5),
            ms(0.99),
            report.latency.max() as f64 / 1000.0,
        );
        rates.push(report.deliveries_per_second());
        // Let the server close the previous run's connections.
        std::thread::sleep(Duration::from_millis(500));
    }
    rates.sort_by(f64::total_cmp);
    if let Some(median) = rates.get(rates.len() / 2) {
        println!("\nmedian deliveries/s: {median:.0}");
    }
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}
