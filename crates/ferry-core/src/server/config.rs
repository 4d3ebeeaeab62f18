//! Connection limits and timeouts.

use std::time::Duration;

use crate::client_addr::TrustedProxies;

/// How a [`Server`](crate::Server) treats connections: limits, timeouts and protocol
/// settings. The defaults suit a server facing browsers directly.
///
/// ```
/// use ferry_core::ServerConfig;
/// use std::time::Duration;
///
/// let config = ServerConfig {
///     max_connections: 512,
///     shutdown_timeout: Duration::from_secs(3),
///     ..ServerConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Connections served at once. When the limit is reached the server stops accepting
    /// (new clients wait in the listen backlog) until a connection closes. Default 4,096.
    pub max_connections: usize,
    /// Connections one client address may hold open at once; 0 for no limit. A client over
    /// it gets 429 (on plain HTTP) and its extra connection is closed. Counted per peer
    /// address: behind a proxy, this limits the proxy. Default 0.
    pub max_connections_per_ip: usize,
    /// Largest request head (request line and headers) in bytes; larger heads are
    /// answered 431. At least 8192 (hyper's smallest read buffer). Default 32 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more are answered 431. Default 100.
    pub max_headers: usize,
    /// Longest request target (path and query) in bytes; longer ones are answered 414. Default 8 KiB.
    pub max_uri_bytes: usize,
    /// Time a client has to send a complete request head, counted from the connection's
    /// start or from the first byte of a later request. Slower clients are disconnected. Default 30 s.
    pub header_read_timeout: Duration,
    /// Time a connection may sit with no request in progress and no bytes moving before
    /// the server closes it (HTTP/1.1 keep-alive and HTTP/2 alike). Default 75 s.
    pub keep_alive_timeout: Duration,
    /// Longest a response may wait for the client to read it (its receive window full)
    /// before the connection is dropped: a client that stops reading (slow read) cannot
    /// hold a connection and its buffers forever. Default 60 s.
    pub send_timeout: Duration,
    /// Longest wait for the next bytes of a request body once a handler reads it; a stalled
    /// body fails with [`BodyTooSlow`](crate::BodyTooSlow) (answered 408). Default 30 s.
    pub body_read_timeout: Duration,
    /// Slowest average rate, in bytes per second, a request body may arrive at once
    /// [`BODY_RATE_GRACE`](crate::body::BODY_RATE_GRACE) has passed; 0 turns the check off. This is what stops a client
    /// that trickles a body (slow POST) from holding a connection for hours. Default 240.
    pub min_body_rate: u64,
    /// On shutdown, time in-flight requests get to finish before connections are cut. Default 10 s.
    pub shutdown_timeout: Duration,
    /// On shutdown, time the server goes on serving, with readiness checks answering 503,
    /// before it stops accepting: a load balancer polling `/ready` takes it out of rotation
    /// while it can still answer. 0 (the default) stops accepting at once.
    pub shutdown_delay: Duration,
    /// Proxies whose `X-Forwarded-For` header names the client (see
    /// [`client_addr`](crate::client_addr)). Empty by default: the peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// Concurrent streams per HTTP/2 connection. Default 250.
    pub http2_max_concurrent_streams: u32,
    /// Listen backlog: connections the kernel queues while the server is busy. Default 1,024.
    pub listen_backlog: u32,
    /// Bind with `SO_REUSEPORT`, so that several servers (one per thread, each with its own
    /// runtime) can listen on one address and the kernel spreads connections among them. Default off.
    pub reuse_port: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 4096,
            max_connections_per_ip: 0,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            max_uri_bytes: 8 * 1024,
            header_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(75),
            send_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            min_body_rate: 240,
            shutdown_timeout: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            trusted_proxies: TrustedProxies::default(),
            http2_max_concurrent_streams: 250,
            listen_backlog: 1024,
            reuse_port: false,
        }
    }
}

/// A [`ServerConfig`] value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server setting `{setting}`: {reason}")]
pub struct ConfigError {
    /// The field name.
    pub setting: &'static str,
    /// What is wrong and what to use instead.
    pub reason: String,
}

/// The smallest request-head limit hyper can work with.
pub const MIN_HEADER_BYTES: usize = 8192;

impl ServerConfig {
    /// Checks that every value can work, naming the first that cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |setting, reason: &str| {
            Err(ConfigError {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.max_connections == 0 || self.max_connections > u32::MAX as usize {
            return fail("max_connections", "must be between 1 and 4294967295");
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return fail("max_header_bytes", "must be at least 8192");
        }
        if self.max_headers == 0 {
            return fail("max_headers", "must be at least 1");
        }
        if self.max_uri_bytes == 0 {
            return fail("max_uri_bytes", "must be at least 1");
        }
        if self.header_read_timeout.is_zero() {
            return fail("header_read_timeout", "must be longer than zero");
        }
        if self.send_timeout.is_zero() {
            return fail("send_timeout", "must be longer than zero");
        }
        if self.body_read_timeout.is_zero() {
            return fail("body_read_timeout", "must be longer than zero");
        }
        if self.keep_alive_timeout.is_zero() {
            return fail("keep_alive_timeout", "must be longer than zero");
        }
        if self.http2_max_concurrent_streams == 0 {
            return fail("http2_max_concurrent_streams", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn too_small_header_limit_is_named() {
        let config = ServerConfig {
            max_header_bytes: 1024,
            ..ServerConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().setting, "max_header_bytes");
    }
}
