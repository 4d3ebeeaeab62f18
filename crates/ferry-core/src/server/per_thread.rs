//! Serving on one thread per core: each thread runs its own current-thread runtime and its
//! own listener on the shared address (`SO_REUSEPORT`, so the kernel spreads connections
//! among them), so a request never changes thread. A hook runs on each thread before it
//! serves, for work that must live there (a JavaScript worker, for `ferry run`).
//!
//! ```no_run
//! use ferry_core::App;
//! use ferry_core::server::{ServerConfig, ThreadPerCore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let servers = ThreadPerCore::bind(
//!     2,
//!     |config| App::new().config(config).get("/hello", |_req| async { "hi" }),
//!     ServerConfig::default(),
//!     "127.0.0.1:3000".parse()?,
//!     None,
//! )
//! .await?;
//! servers.run().await;
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use super::{ServerConfig, ShutdownReport};
use crate::{App, AppError, BoxError};

/// What runs on each server thread before it serves: it returns a future that the thread
/// drives beside its connections (on its `LocalSet`, so it need not be `Send`).
pub type OnThread =
    Arc<dyn Fn() -> Result<Pin<Box<dyn Future<Output = ()>>>, BoxError> + Send + Sync>;

/// Builds a thread's app from the server settings (each thread has its own).
type MakeApp = Arc<dyn Fn(ServerConfig) -> App + Send + Sync>;

/// Why the servers could not start.
#[derive(Debug, thiserror::Error)]
pub enum PerThreadError {
    /// The address could not be bound.
    #[error(transparent)]
    Bind(AppError),
    /// A thread, its runtime or its hook failed to start.
    #[error("cannot start a server thread: {0}")]
    Thread(BoxError),
}

/// One server per thread, bound and ready: [`ThreadPerCore::run`] starts them serving.
pub struct ThreadPerCore {
    local_addr: SocketAddr,
    start: watch::Sender<bool>,
    reports: Vec<oneshot::Receiver<ShutdownReport>>,
}

impl std::fmt::Debug for ThreadPerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPerCore")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.reports.len())
            .finish()
    }
}

impl ThreadPerCore {
    /// Starts `threads` server threads (at least one), each with the app `make_app` builds,
    /// `on_thread` run on it first, and a listener bound (the first binds `addr`, the others
    /// the address it got, so port 0 works).
    pub async fn bind(
        threads: usize,
        make_app: impl Fn(ServerConfig) -> App + Send + Sync + 'static,
        config: ServerConfig,
        addr: SocketAddr,
        on_thread: Option<OnThread>,
    ) -> Result<ThreadPerCore, PerThreadError> {
        let make_app: MakeApp = Arc::new(make_app);
        let config = ServerConfig {
            reuse_port: true,
            ..config
        };
        let (start, waiting) = watch::channel(false);
        let mut reports = Vec::with_capacity(threads.max(1));
        let mut local_addr = addr;
        for index in 0..threads.max(1) {
            let (ready, bound) = oneshot::channel();
            let (done, report) = oneshot::channel();
            let thread = ServerThread {
                make_app: make_app.clone(),
                on_thread: on_thread.clone(),
                config: config.clone(),
                addr: local_addr,
                ready,
                start: waiting.clone(),
                done,
            };
            std::thread::Builder::new()
                .name(format!("ferry-server-{index}"))
                .spawn(move || thread.run())
                .map_err(|error| PerThreadError::Thread(error.into()))?;
            // Threads bind one after another: the first may pick the port (port 0).
            local_addr = bound.await.map_err(|_| {
                PerThreadError::Thread("a server thread stopped while starting".into())
            })??;
            reports.push(report);
        }
        Ok(ThreadPerCore {
            local_addr,
            start,
            reports,
        })
    }

    /// The address the servers listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until Ctrl+C or SIGTERM and the graceful shutdown that follows; the report
    /// sums the threads'. Dropping the servers unstarted ends their threads.
    pub async fn run(self) -> ShutdownReport {
        self.start.send_replace(true);
        let mut combined = ShutdownReport {
            cut_connections: 0,
            forced: false,
        };
        for report in self.reports {
            if let Ok(report) = report.await {
                combined.cut_connections += report.cut_connections;
                combined.forced |= report.forced;
            }
        }
        combined
    }
}

/// What one server thread needs.
struct ServerThread {
    make_app: MakeApp,
    on_thread: Option<OnThread>,
    config: ServerConfig,
    addr: SocketAddr,
    ready: oneshot::Sender<Result<SocketAddr, PerThreadError>>,
    start: watch::Receiver<bool>,
    done: oneshot::Sender<ShutdownReport>,
}

impl ServerThread {
    fn run(self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = self.ready.send(Err(PerThreadError::Thread(error.into())));
                return;
            }
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, self.serve());
    }

    async fn serve(self) {
        let ServerThread {
            make_app,
            on_thread,
            config,
            addr,
            ready,
            mut start,
            done,
        } = self;
        if let Some(on_thread) = on_thread {
            match on_thread() {
                Ok(work) => {
                    tokio::task::spawn_local(work);
                }
                Err(error) => {
                    let _ = ready.send(Err(PerThreadError::Thread(error)));
                    return;
                }
            }
        }
        let server = match make_app(config).bind(addr).await {
            Ok(server) => server,
            Err(error) => {
                let _ = ready.send(Err(PerThreadError::Bind(error)));
                return;
            }
        };
        let _ = ready.send(Ok(server.local_addr()));
        // The caller finishes its start-up (loading scripts, say) between binding and this
        // signal; if it fails instead, the sender is dropped and the thread ends unserved.
        if start.wait_for(|go| *go).await.is_err() {
            return;
        }
        let report = server.run().await;
        let _ = done.send(report);
    }
}
