//! Serving on one thread per core: each thread runs its own current-thread runtime, its own
//! listener on the shared address (`SO_REUSEPORT`, so the kernel spreads connections) and
//! its own JavaScript worker, so a script request never changes thread.

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_core::{App, AppError, Server, ServerConfig, ShutdownReport};
use ferry_js::Engine;
use tokio::sync::{oneshot, watch};

/// The servers of `ferry run`: one on the shared runtime, or one per thread.
pub enum Servers {
    /// One server on the process's multi-threaded runtime.
    One(Server),
    /// One server per thread, started when `start` says so.
    PerThread {
        local_addr: SocketAddr,
        start: watch::Sender<bool>,
        reports: Vec<oneshot::Receiver<ShutdownReport>>,
    },
}

type MakeApp = Arc<dyn Fn(ServerConfig) -> App + Send + Sync>;

/// Why a server thread could not start.
pub enum StartError {
    /// The address could not be bound.
    Bind(AppError),
    /// The thread, its runtime or its worker could not be set up.
    Thread(anyhow::Error),
}

impl Servers {
    /// Starts `threads` server threads, each with a worker of `engine` attached and a
    /// listener bound (the first binds `addr`, the others the address it got), ready to
    /// serve once [`Servers::run`] is called.
    pub async fn per_thread(
        engine: &Engine,
        threads: usize,
        make_app: impl Fn(ServerConfig) -> App + Send + Sync + 'static,
        config: ServerConfig,
        addr: SocketAddr,
    ) -> Result<Servers, StartError> {
        let make_app: MakeApp = Arc::new(make_app);
        let config = ServerConfig {
            reuse_port: true,
            ..config
        };
        let (start, waiting) = watch::channel(false);
        let mut reports = Vec::with_capacity(threads);
        let mut local_addr = addr;
        for index in 0..threads.max(1) {
            let (ready, bound) = oneshot::channel();
            let (done, report) = oneshot::channel();
            let thread = ServerThread {
                engine: engine.clone(),
                make_app: make_app.clone(),
                config: config.clone(),
                addr: local_addr,
                ready,
                start: waiting.clone(),
                done,
            };
            std::thread::Builder::new()
                .name(format!("ferry-server-{index}"))
                .spawn(move || thread.run())
                .map_err(|error| StartError::Thread(error.into()))?;
            // Threads bind one after another: the first may pick the port (port 0).
            local_addr = bound.await.map_err(|_| {
                StartError::Thread(anyhow::anyhow!("a server thread stopped while starting"))
            })??;
            reports.push(report);
        }
        Ok(Servers::PerThread {
            local_addr,
            start,
            reports,
        })
    }

    /// The address the servers listen on.
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            Servers::One(server) => server.local_addr(),
            Servers::PerThread { local_addr, .. } => *local_addr,
        }
    }

    /// Serves until Ctrl+C or SIGTERM and the graceful shutdown that follows.
    pub async fn run(self) -> ShutdownReport {
        match self {
            Servers::One(server) => server.run().await,
            Servers::PerThread { start, reports, .. } => {
                start.send_replace(true);
                let mut combined = ShutdownReport {
                    cut_connections: 0,
                    forced: false,
                };
                for report in reports {
                    if let Ok(report) = report.await {
                        combined.cut_connections += report.cut_connections;
                        combined.forced |= report.forced;
                    }
                }
                combined
            }
        }
    }
}

/// What one server thread needs.
struct ServerThread {
    engine: Engine,
    make_app: MakeApp,
    config: ServerConfig,
    addr: SocketAddr,
    ready: oneshot::Sender<Result<SocketAddr, StartError>>,
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
                let error = anyhow::Error::new(error).context("cannot start a server thread");
                let _ = self.ready.send(Err(StartError::Thread(error)));
                return;
            }
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, self.serve());
    }

    async fn serve(self) {
        let ServerThread {
            engine,
            make_app,
            config,
            addr,
            ready,
            mut start,
            done,
        } = self;
        let driver = match engine.attach_worker() {
            Ok(driver) => driver,
            Err(error) => {
                let _ = ready.send(Err(StartError::Thread(error.into())));
                return;
            }
        };
        tokio::task::spawn_local(driver);
        let server = match make_app(config).bind(addr).await {
            Ok(server) => server,
            Err(error) => {
                let _ = ready.send(Err(StartError::Bind(error)));
                return;
            }
        };
        let _ = ready.send(Ok(server.local_addr()));
        // The engine loads the scripts between binding and this signal; if start-up fails
        // instead, the sender is dropped and the thread ends without serving.
        if start.wait_for(|go| *go).await.is_err() {
            return;
        }
        let report = server.run().await;
        let _ = done.send(report);
    }
}
