//! Seeing inside a running server: Prometheus metrics. Shared by `ferry serve` and
//! `ferry run`.

use std::net::SocketAddr;

use clap::Args;

/// Metrics flags of every server command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Metrics")]
pub(crate) struct ObserveArgs {
    /// Serve Prometheus metrics at /metrics on the main port.
    #[arg(long)]
    pub metrics: bool,

    /// Serve Prometheus metrics at /metrics on a separate listener instead, e.g.
    /// 127.0.0.1:9090 (keeps them off the public port).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

impl ObserveArgs {
    /// Whether metrics are collected at all.
    pub(crate) fn enabled(&self) -> bool {
        self.metrics || self.metrics_addr.is_some()
    }
}
