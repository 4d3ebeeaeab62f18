//! Turning the listening flags shared by the server commands into server settings, and
//! bind errors into advice.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::anyhow;
use ferry_core::client_addr::TrustedProxies;
use ferry_core::server::TlsConfig;
use ferry_core::{AppError, BindError, ServerConfig, ShutdownReport};

use crate::cli::{LimitArgs, ListenArgs};

/// How a server command ended.
pub(crate) enum Outcome {
    /// Stopped gracefully.
    Stopped,
    /// A second Ctrl+C cut the shutdown short.
    Forced,
}

impl Outcome {
    /// The outcome a server's shutdown report describes.
    pub(crate) fn of(report: &ShutdownReport) -> Self {
        if report.forced {
            Outcome::Forced
        } else {
            Outcome::Stopped
        }
    }
}

/// The TLS configuration the flags ask for, with a line describing it for the banner.
pub(crate) fn tls_config(
    args: &ListenArgs,
    interfaces: &[IpAddr],
) -> anyhow::Result<Option<(TlsConfig, String)>> {
    if args.tls_self_signed {
        let served = if args.host.is_unspecified() {
            interfaces.to_vec()
        } else {
            vec![args.host]
        };
        let names = TlsConfig::development_names(&served);
        let tls = TlsConfig::self_signed(&names)?;
        let description = format!(
            "self-signed for {}\n            SHA-256 {}",
            names.join(", "),
            tls.fingerprint()
        );
        return Ok(Some((tls, description)));
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let tls = TlsConfig::from_pem_files(cert, key).map_err(|error| {
        anyhow!("{error}\n  hint: --tls-cert takes the certificate chain and --tls-key its private key, both PEM; or use --tls-self-signed for development")
    })?;
    let description = format!("{} (SHA-256 {})", cert.display(), tls.fingerprint());
    Ok(Some((tls, description)))
}

/// Connection limits and timeouts from the flags.
pub(crate) fn server_config(args: &ListenArgs, limits: &LimitArgs) -> anyhow::Result<ServerConfig> {
    let seconds = |value: f64, flag: &str| {
        Duration::try_from_secs_f64(value)
            .map_err(|_| anyhow!("--{flag} must be a number of seconds, 0 or more"))
    };
    let config = ServerConfig {
        shutdown_timeout: seconds(args.shutdown_timeout, "shutdown-timeout")?,
        shutdown_delay: seconds(args.shutdown_delay, "shutdown-delay")?,
        trusted_proxies: TrustedProxies::new(args.trusted_proxy.iter().copied()),
        max_connections: limits.max_connections,
        max_connections_per_ip: limits.max_connections_per_ip,
        header_read_timeout: seconds(limits.header_timeout, "header-timeout")?,
        keep_alive_timeout: seconds(limits.keep_alive_timeout, "keep-alive-timeout")?,
        body_read_timeout: seconds(limits.body_timeout, "body-timeout")?,
        send_timeout: seconds(limits.send_timeout, "send-timeout")?,
        min_body_rate: limits.min_body_rate,
        max_header_bytes: limits.max_header_size.0,
        max_headers: usize::from(limits.max_headers),
        ..ServerConfig::default()
    };
    config.validate().map_err(|error| {
        let flag = match error.setting {
            "max_header_bytes" => "max-header-size".to_owned(),
            "header_read_timeout" => "header-timeout".to_owned(),
            "body_read_timeout" => "body-timeout".to_owned(),
            other => other.replace('_', "-"),
        };
        anyhow!("--{flag}: {}", error.reason)
    })?;
    Ok(config)
}

/// Says what to do about a listening address that could not be bound.
pub(crate) fn explain_bind_error(error: AppError, args: &ListenArgs) -> anyhow::Error {
    match error {
        AppError::Bind(BindError::AddrInUse { addr }) => anyhow!(
            "port {} is already in use on {}\n  hint: stop the other server, pick another port with --port, or use --port 0 for a free one",
            addr.port(),
            addr.ip()
        ),
        AppError::Bind(BindError::PermissionDenied { addr }) => anyhow!(
            "no permission to listen on port {} (ports below 1024 need privileges)\n  hint: use a port of 1024 or more, e.g. --port {}",
            addr.port(),
            if args.port < 1024 { 8080 } else { args.port }
        ),
        AppError::Bind(BindError::AddrNotAvailable { addr }) => anyhow!(
            "{} is not an address of this machine\n  hint: use --host 127.0.0.1 for this machine only, or --host 0.0.0.0 for every interface",
            addr.ip()
        ),
        other => anyhow!(other),
    }
}
