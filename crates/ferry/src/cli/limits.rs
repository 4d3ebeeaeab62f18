//! Limits on what one client may cost: connections, timeouts, sizes and request rates.
//! Shared by `ferry serve` and `ferry run`.

use clap::Args;
use ferry_core::ServerConfig;
use ferry_core::layers::{RateLimitQuota, RateLimitRule};

use super::values::Size;

/// Connection, timeout, size and rate limits of every server command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits")]
pub(crate) struct LimitArgs {
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = ServerConfig::default().max_connections, value_name = "N")]
    pub max_connections: usize,

    /// Connections one client address may hold open (0: no limit); more get 429 and are
    /// closed. Behind a proxy every client shares the proxy's address.
    #[arg(long, default_value_t = ServerConfig::default().max_connections_per_ip, value_name = "N")]
    pub max_connections_per_ip: usize,

    /// Seconds a client has to send a request's headers; a started request that is late
    /// gets 408 and the connection is closed.
    #[arg(long, default_value_t = ServerConfig::default().header_read_timeout.as_secs_f64(), value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub header_timeout: f64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, default_value_t = ServerConfig::default().keep_alive_timeout.as_secs_f64(), value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub keep_alive_timeout: f64,

    /// Seconds a response may wait for a client that does not read it (slow read) before
    /// the connection is dropped.
    #[arg(long, default_value_t = ServerConfig::default().send_timeout.as_secs_f64(), value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub send_timeout: f64,

    /// Seconds a request body may stall (no bytes at all) before the request gets 408.
    #[arg(long, default_value_t = ServerConfig::default().body_read_timeout.as_secs_f64(), value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub body_timeout: f64,

    /// Slowest average rate, in bytes per second, a request body may arrive at after its
    /// first 5 seconds (0: no minimum); slower senders get 408. Stops slow-POST attacks.
    #[arg(long, default_value_t = ServerConfig::default().min_body_rate, value_name = "BYTES")]
    pub min_body_rate: u64,

    /// Largest request head (request line and headers); larger ones get 431. At least 8KiB.
    #[arg(long, default_value_t = Size(ServerConfig::default().max_header_bytes), value_name = "SIZE")]
    pub max_header_size: Size,

    /// Most header fields in one request; more get 431.
    #[arg(long, default_value_t = default_max_headers(), value_name = "N", value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub max_headers: u16,

    /// Requests one client address may make, e.g. 100/s, 600/min or 5000/h (the whole
    /// allowance may be spent at once; it refills evenly). Over it: 429 with Retry-After.
    /// Off by default.
    #[arg(long, value_name = "RATE")]
    pub rate_limit: Option<RateLimitQuota>,

    /// A limit for the paths under a prefix, on top of --rate-limit, e.g.
    /// /api/login=5/min. Repeatable.
    #[arg(long, value_name = "PATH=RATE")]
    pub rate_limit_route: Vec<RateLimitRule>,
}

/// The library's limit on header fields, as the flag's type.
fn default_max_headers() -> u16 {
    u16::try_from(ServerConfig::default().max_headers).unwrap_or(u16::MAX)
}

/// A number of seconds above zero.
pub(super) fn parse_positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds.is_finite() && seconds <= 1e9 => Ok(seconds),
        _ => Err("expected a number of seconds above 0, such as 30 or 0.5".to_owned()),
    }
}
