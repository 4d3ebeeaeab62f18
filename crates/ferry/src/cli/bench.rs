//! `ferry bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Flags of `ferry bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Also measure these servers (comma-separated: python, node, nginx, caddy, miniserve,
    /// static-web-server, darkhttpd), or `all` installed ones. Ferry is always measured.
    #[arg(long, value_name = "LIST")]
    pub compare: Option<String>,

    /// Workloads to run (comma-separated: small, medium, large, wasm, many, listing); all by
    /// default.
    #[arg(long, alias = "workloads", value_name = "LIST")]
    pub workload: Option<String>,

    /// Concurrent connections (the large-file workload uses a fifth of them).
    #[arg(short, long, default_value_t = 50, value_name = "N")]
    pub connections: usize,

    /// How long each measurement lasts, e.g. 10s, 500ms, 2m.
    #[arg(short, long, default_value = "10s", value_parser = parse_duration, value_name = "TIME")]
    pub duration: Duration,

    /// Load before each measurement that is not counted.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "TIME")]
    pub warmup: Duration,

    /// Runs per server; each figure is the median of the runs.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub runs: usize,

    /// Open loop: send requests at this total rate (requests per second) and correct
    /// latencies for coordinated omission, instead of closed loop.
    #[arg(long, value_name = "REQ/S")]
    pub rate: Option<f64>,

    /// Pin the servers to CPU 0 and the load generator to CPU 1 (needs `taskset` and two
    /// cores), so they never compete for a core.
    #[arg(long)]
    pub pin: bool,

    /// Load this already running server instead of starting any (its URL is requested).
    #[arg(long, value_name = "URL", conflicts_with_all = ["compare", "workload"])]
    pub target: Option<String>,

    /// Write every raw run as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the tables, the machine and the command as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// Parses `10s`, `500ms`, `2m`, `1.5s` or a plain number of seconds.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("'{text}': use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("'{text}' is not a duration of zero or more"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").unwrap_err().contains("ms, s or m"));
        assert!(parse_duration("-1s").is_err());
    }
}
