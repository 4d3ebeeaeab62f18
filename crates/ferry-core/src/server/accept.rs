//! The accept loop: a connection slot under the connection limit, the next connection, the
//! per-address limit, then a task that serves it. Ends when shutdown stops accepting.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::shared::ConnectionContext;
use super::{connection, memory, per_ip};
use crate::context::ConnectionInfo;

/// The listener and the connections it started.
pub(super) struct AcceptLoop {
    listener: TcpListener,
    local_addr: SocketAddr,
    context: Arc<ConnectionContext>,
    limit: Arc<Semaphore>,
    /// Whether the connection limit was reached (logged once per episode).
    at_limit: bool,
    per_ip: Option<Arc<per_ip::PerIpConnections>>,
    connections: JoinSet<()>,
    freed: memory::FreedMemory,
    shutdown: watch::Receiver<bool>,
}

/// What one turn of the loop found.
enum Turn {
    /// A connection to serve.
    Accepted(TcpStream, SocketAddr),
    /// Nothing to serve (a failed accept, a finished connection): go round again.
    Again,
    /// Shutdown stopped accepting.
    Stop,
}

impl AcceptLoop {
    pub(super) fn new(
        listener: TcpListener,
        local_addr: SocketAddr,
        context: Arc<ConnectionContext>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let config = &context.config;
        AcceptLoop {
            limit: Arc::new(Semaphore::new(config.max_connections)),
            per_ip: (config.max_connections_per_ip > 0)
                .then(|| per_ip::PerIpConnections::new(config.max_connections_per_ip)),
            listener,
            local_addr,
            at_limit: false,
            connections: JoinSet::new(),
            freed: memory::FreedMemory::default(),
            shutdown,
            context,
        }
    }

    /// Accepts and serves connections until `stop` completes; returns the connections
    /// still open (the listener is closed).
    pub(super) async fn run(mut self, mut stop: Pin<&mut impl Future<Output = ()>>) -> JoinSet<()> {
        loop {
            let Some(permit) = self.slot(stop.as_mut()).await else {
                break;
            };
            match self.next(stop.as_mut()).await {
                Turn::Accepted(stream, peer) => self.serve(stream, peer, permit),
                Turn::Again => {}
                Turn::Stop => break,
            }
        }
        self.connections
    }

    /// A slot under the connection limit; waits (new clients queue in the listen backlog)
    /// while the server is full. `None` when `stop` completes first.
    async fn slot(
        &mut self,
        stop: Pin<&mut impl Future<Output = ()>>,
    ) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.limit.clone().try_acquire_owned() {
            self.at_limit = false;
            return Some(permit);
        }
        if !self.at_limit {
            self.at_limit = true;
            tracing::warn!(
                limit = self.context.config.max_connections,
                "connection limit reached; new connections wait until one closes"
            );
        }
        tokio::select! {
            permit = self.limit.clone().acquire_owned() => {
                Some(permit.expect("the connection semaphore is never closed"))
            }
            () = stop => None,
        }
    }

    /// The next connection, while reaping finished ones.
    async fn next(&mut self, stop: Pin<&mut impl Future<Output = ()>>) -> Turn {
        let accepted = tokio::select! {
            accepted = self.listener.accept() => accepted,
            Some(_) = self.connections.join_next() => {
                self.freed.note(self.connections.len());
                return Turn::Again;
            }
            () = stop => return Turn::Stop,
        };
        match accepted {
            Ok((stream, peer)) => Turn::Accepted(stream, peer),
            Err(error) => {
                handle_accept_error(&error).await;
                Turn::Again
            }
        }
    }

    /// Serves `stream` in a task of its own (or turns it away when its address holds its
    /// share of connections already).
    fn serve(&mut self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        let ip_slot = match &self.per_ip {
            Some(table) => match table.admit(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    self.connections.spawn(connection::refuse_over_limit(
                        stream,
                        peer,
                        self.context.clone(),
                    ));
                    return;
                }
            },
            None => None,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
        }
        let info = ConnectionInfo {
            peer,
            local: self.local_addr,
            tls: false,
        };
        let connection =
            connection::handle(stream, info, self.context.clone(), self.shutdown.clone());
        self.connections.spawn(async move {
            connection.await;
            drop(ip_slot);
            drop(permit);
        });
        self.freed.note(self.connections.len());
    }
}

/// Errors from `accept` are about one connection, or about the process running out of
/// something (file descriptors, memory). Neither stops the server; the second kind pauses
/// accepting briefly instead of spinning.
async fn handle_accept_error(error: &io::Error) {
    match error.kind() {
        io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionRefused
        | io::ErrorKind::Interrupted => {
            tracing::debug!(%error, "a connection failed while being accepted");
        }
        _ => {
            tracing::error!(%error, "cannot accept connections; retrying in 100ms");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
