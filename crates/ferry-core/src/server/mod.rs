//! The listener and accept loop: binding, the connection limit, and graceful shutdown.

mod accept;
mod activity;
mod config;
mod connection;
mod handshake;
mod memory;
mod per_ip;
mod per_thread;
mod protocol;
mod request_target;
mod service;
mod shared;
mod signals;
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use config::{ConfigError, MIN_HEADER_BYTES, ServerConfig};
pub use per_thread::{OnThread, PerThreadError, ThreadPerCore};
pub use signals::{ShutdownSignals, shutdown_signal};
pub use tls::{TlsConfig, TlsError};

use self::accept::AcceptLoop;
use crate::BoxService;

/// Why a server could not start listening.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another process is listening on the address.
    #[error("{addr} is already in use")]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address is not one of this machine's.
    #[error("{addr} is not an address of this machine")]
    AddrNotAvailable {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Binding needs privileges this process lacks (ports below 1024, usually).
    #[error("no permission to listen on {addr}")]
    PermissionDenied {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Any other failure to bind or listen.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Asks a running [`Server`] to shut down gracefully. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Starts a graceful shutdown: stop accepting, let in-flight requests finish.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections still open when the shutdown timeout ran out, or when a second signal
    /// asked to stop at once (they were cut).
    pub cut_connections: usize,
    /// Whether a second signal cut the shutdown short.
    pub forced: bool,
}

/// A bound HTTP server: HTTP/1.1 (keep-alive, pipelining) and HTTP/2 with prior knowledge
/// on one port, answering every request with one service.
///
/// Usually built through [`App::bind`](crate::App::bind).
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Arc<ServerConfig>,
    service: BoxService,
    tls: Option<TlsConfig>,
    /// Set by a [`ShutdownHandle`].
    requested: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `addr` (port 0 picks a free port) and prepares to serve `service`.
    pub async fn bind(
        addr: SocketAddr,
        config: ServerConfig,
        service: BoxService,
    ) -> Result<Server, BindError> {
        config.validate()?;
        let listener = listen(addr, config.listen_backlog, config.reuse_port).map_err(
            |source| match source.kind() {
                io::ErrorKind::AddrInUse => BindError::AddrInUse { addr },
                io::ErrorKind::AddrNotAvailable => BindError::AddrNotAvailable { addr },
                io::ErrorKind::PermissionDenied => BindError::PermissionDenied { addr },
                _ => BindError::Io { addr, source },
            },
        )?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| BindError::Io { addr, source })?;
        let (requested, _) = watch::channel(false);
        Ok(Server {
            listener,
            local_addr,
            config: Arc::new(config),
            service,
            tls: None,
            requested: Arc::new(requested),
        })
    }

    /// Serves HTTPS with `tls` (HTTP/2 and HTTP/1.1 offered by ALPN) instead of plain HTTP.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether the server speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address the server listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that shuts this server down from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.requested.clone())
    }

    /// Serves until SIGINT (Ctrl+C) or SIGTERM, or until a [`ShutdownHandle`] is used, then
    /// shuts down gracefully. A second SIGINT or SIGTERM during the shutdown cuts the
    /// remaining connections at once ([`ShutdownReport::forced`]).
    pub async fn run(self) -> ShutdownReport {
        // The second listener is armed only once shutdown has begun, so one Ctrl+C cannot
        // count twice, and before the shutdown is announced, so a quick second one is seen.
        self.serve(signals::armed(), Some(signals::armed)).await
    }

    /// Serves until `signal` completes or a [`ShutdownHandle`] is used, then shuts down
    /// gracefully: reports not ready (and keeps serving) for
    /// [`ServerConfig::shutdown_delay`], stops accepting, lets in-flight requests finish for
    /// up to [`ServerConfig::shutdown_timeout`], and cuts what is left.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> ShutdownReport {
        self.serve(signal, None::<fn() -> std::future::Pending<()>>)
            .await
    }

    async fn serve<F, Force>(
        self,
        signal: impl Future<Output = ()>,
        force: Option<F>,
    ) -> ShutdownReport
    where
        F: FnOnce() -> Force,
        Force: Future<Output = ()>,
    {
        let Server {
            listener,
            local_addr,
            config,
            service,
            tls,
            requested,
        } = self;
        let (shutdown, _) = watch::channel(false);
        let (draining, _) = watch::channel(false);
        let context = Arc::new(shared::ConnectionContext {
            builders: protocol::Builders::new(&config),
            service,
            config: config.clone(),
            tls: tls.as_ref().map(TlsConfig::acceptor),
            draining: draining.subscribe(),
            metrics: shared::ConnectionMetrics::new(),
            busy: memory::BusyConnections::default(),
        });
        // Shutdown begins with the signal or a handle; accepting stops after the delay.
        let stop_accepting = stop_accepting(
            signal,
            requested.subscribe(),
            draining,
            config.shutdown_delay,
        );
        tokio::pin!(stop_accepting);
        let connections = AcceptLoop::new(listener, local_addr, context, shutdown.subscribe())
            .run(stop_accepting)
            .await;

        shutdown.send_replace(true);
        let force = force.map(|arm| arm());
        if force.is_some() {
            tracing::info!("shutting down; press Ctrl+C again to stop at once");
        } else {
            tracing::info!("shutting down");
        }
        let force = async {
            match force {
                Some(force) => force.await,
                None => std::future::pending().await,
            }
        };
        drain(connections, config.shutdown_timeout, force).await
    }
}

/// Completes when accepting must stop: after `signal` or a handle's request, readiness is
/// withdrawn (`draining`) and the server goes on serving for `delay` first, so a load
/// balancer can take it out of rotation.
async fn stop_accepting(
    signal: impl Future<Output = ()>,
    mut requested: watch::Receiver<bool>,
    draining: watch::Sender<bool>,
    delay: Duration,
) {
    tokio::select! {
        () = signal => {}
        _ = requested.wait_for(|stop| *stop) => {}
    }
    draining.send_replace(true);
    if !delay.is_zero() {
        tracing::info!(
            "shutting down: not ready any more, still serving for {:.1}s",
            delay.as_secs_f64()
        );
        tokio::time::sleep(delay).await;
    }
}

/// Waits for open connections to finish, up to `timeout` or until `force` completes, then
/// cuts the rest.
async fn drain(
    mut connections: JoinSet<()>,
    timeout: Duration,
    force: impl Future<Output = ()>,
) -> ShutdownReport {
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            open,
            "waiting up to {:.1}s for in-flight requests",
            timeout.as_secs_f64()
        );
    }
    let all_finished = async { while connections.join_next().await.is_some() {} };
    let (finished, forced) = tokio::select! {
        () = all_finished => (true, false),
        () = tokio::time::sleep(timeout) => (false, false),
        () = force => (false, true),
    };
    let cut_connections = if finished {
        0
    } else {
        let left = connections.len();
        if forced {
            tracing::warn!(
                connections = left,
                "stopping at once; cutting busy connections"
            );
        } else {
            tracing::warn!(
                connections = left,
                "shutdown timeout reached; closing connections that are still busy"
            );
        }
        connections.shutdown().await;
        left
    };
    ShutdownReport {
        cut_connections,
        forced,
    }
}

fn listen(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets a restarted server bind while old connections sit in TIME_WAIT; on Linux it does
    // not let two servers listen on one port.
    socket.set_reuseaddr(true)?;
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(backlog)
}
