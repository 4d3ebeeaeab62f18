//! The signals that stop a server: SIGINT (Ctrl+C) and SIGTERM.

use std::future::Future;
use std::io;

/// SIGINT and SIGTERM, listened for from the moment this value is created, so a signal that
/// arrives before the first `recv` is not missed.
#[derive(Debug)]
pub struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Starts listening. Fails only if the process cannot install signal handlers.
    pub fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Waits for the next SIGINT or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Completes on SIGINT (Ctrl+C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    armed().await;
}

/// Starts listening now and returns the wait; if signals cannot be listened for, the error
/// is logged and the wait never ends.
pub(crate) fn armed() -> impl Future<Output = ()> {
    let signals = ShutdownSignals::new();
    async move {
        match signals {
            Ok(mut signals) => signals.recv().await,
            Err(error) => {
                tracing::error!(%error, "cannot listen for Ctrl+C or SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    }
}
