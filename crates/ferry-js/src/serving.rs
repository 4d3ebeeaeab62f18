//! Serving an engine's app the way its worker model wants: one server on the process's
//! multi-threaded runtime beside the worker pool, or one server per thread, each thread
//! also a worker (thread-per-core).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use ferry_core::server::{OnThread, PerThreadError, ShutdownReport, ThreadPerCore};
use ferry_core::{App, Server, ServerConfig};

use crate::engine::{Engine, WorkerModel};

/// The servers of an engine's app, bound and ready to run.
pub enum EngineServer {
    /// One server (the worker pool).
    One(Server),
    /// One server per thread (thread-per-core).
    PerThread(ThreadPerCore),
}

impl EngineServer {
    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            EngineServer::One(server) => server.local_addr(),
            EngineServer::PerThread(servers) => servers.local_addr(),
        }
    }

    /// Serves until Ctrl+C or SIGTERM, then shuts down gracefully.
    pub async fn run(self) -> ShutdownReport {
        match self {
            EngineServer::One(server) => server.run().await,
            EngineServer::PerThread(servers) => servers.run().await,
        }
    }
}

impl Engine {
    /// Binds `addr` for the app `make_app` builds: one server for the worker pool, or one
    /// per worker thread, each made a worker first ([`Engine::attach_worker`]) — so load
    /// the scripts after this.
    pub async fn bind(
        &self,
        make_app: impl Fn(ServerConfig) -> App + Send + Sync + 'static,
        config: ServerConfig,
        addr: SocketAddr,
    ) -> Result<EngineServer, PerThreadError> {
        let (model, threads) = self.model();
        match model {
            WorkerModel::Pool => make_app(config)
                .bind(addr)
                .await
                .map(EngineServer::One)
                .map_err(PerThreadError::Bind),
            WorkerModel::PerThread | WorkerModel::Auto => {
                let engine = self.clone();
                let attach: OnThread = Arc::new(move || {
                    let driver = engine.attach_worker()?;
                    Ok(Box::pin(driver) as Pin<Box<dyn Future<Output = ()>>>)
                });
                ThreadPerCore::bind(threads, make_app, config, addr, Some(attach))
                    .await
                    .map(EngineServer::PerThread)
            }
        }
    }
}
