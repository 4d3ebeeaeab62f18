//! Where and how a server command listens: shared by `ferry serve` and `ferry run`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use ferry_core::ServerConfig;
use ferry_core::client_addr::IpNetwork;

/// Listening, TLS and connection flags of every server command.
#[derive(Debug, Clone, Args)]
pub(crate) struct ListenArgs {
    /// Port to listen on; 0 picks a free port and prints it.
    #[arg(short, long, default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on; 0.0.0.0 (or ::) serves every network interface and prints the
    /// LAN URLs.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate generated at start-up for localhost and this
    /// machine's addresses (browsers will warn; the banner shows its SHA-256 fingerprint).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,

    /// On Ctrl+C or SIGTERM, seconds in-flight requests get to finish.
    #[arg(long, default_value_t = ServerConfig::default().shutdown_timeout.as_secs_f64(), value_name = "SECONDS")]
    pub shutdown_timeout: f64,

    /// On SIGTERM, seconds to go on serving with /ready answering 503 before connections
    /// drain, so a load balancer stops sending traffic first.
    #[arg(long, default_value_t = ServerConfig::default().shutdown_delay.as_secs_f64(), value_name = "SECONDS")]
    pub shutdown_delay: f64,

    /// A proxy (address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For header names
    /// the real client, for logs and rate limits. Repeatable; none by default.
    #[arg(long, value_name = "NETWORK")]
    pub trusted_proxy: Vec<IpNetwork>,
}
