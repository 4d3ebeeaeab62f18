//! The PostgreSQL back end, for several Ferry nodes sharing their data.
//!
//! Ferry's tables live in the schema `ferry` of the database the URL names. Connections come
//! from a pool (deadpool) and speak the protocol through tokio-postgres, on a small runtime
//! of the store's own: the store's methods are blocking, like SQLite's, and may be called
//! from any thread — a script worker, a blocking task, even an async thread (which they then
//! hold up, so do not).

mod assets;
mod data;
mod groups;
mod identity;
mod jobs;
mod nodes;
mod oauth;
mod schema;
mod secrets;
mod settings;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};

use crate::StoreError;
use nodes::Nodes;
pub use nodes::{ListenerStatus, NodeEvent, NodeRecord};
use settings::Target;

/// How to reach PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The database URL, as libpq takes it: `postgres://user:password@host:port/database`,
    /// with `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and
    /// `sslrootcert` (a PEM file of the certificates to trust) among its parameters.
    pub url: String,
    /// The most connections this node opens.
    pub pool_size: usize,
    /// How long an operation waits for a connection (to be opened, or freed by another
    /// operation) before the database counts as unreachable.
    pub wait: Duration,
}

impl PostgresOptions {
    /// Options for `url` with the default pool: 16 connections, 5 s of waiting.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            pool_size: 16,
            wait: Duration::from_secs(5),
        }
    }
}

/// A PostgreSQL database holding Ferry's data; open a [`PostgresConnection`] with
/// [`PostgresStore::connect`]. Cloning gives another handle to the same pool.
#[derive(Clone)]
pub struct PostgresStore {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Pool,
    /// How to open a connection of its own (the listener's).
    target: Target,
    /// This node among the others.
    nodes: Nodes,
    /// Drives the pool's connections; dropped last.
    runtime: OwnRuntime,
    /// The URL without its password, for messages.
    described: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shared.described)
            .field("pool", &self.shared.pool.status())
            .finish()
    }
}

/// A tokio runtime this store owns, shut down without waiting when the store goes (so it may
/// go from anywhere, async threads included).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects as `options` say and brings Ferry's schema up to date (creating the schema
    /// `ferry` and its tables the first time). Blocks until done.
    pub fn open(options: &PostgresOptions) -> Result<PostgresStore, StoreError> {
        let target = Target::parse(&options.url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ferry-postgres")
            .enable_all()
            .build()
            .map_err(|error| {
                StoreError::Settings(format!(
                    "cannot start the threads that talk to PostgreSQL: {error}"
                ))
            })?;
        let described = target.describe();
        let manager = Manager::from_config(
            target.config.clone(),
            target.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            // The pool's timers belong to the store's runtime.
            let _context = runtime.enter();
            Pool::builder(manager)
                .max_size(options.pool_size.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(options.wait))
                .create_timeout(Some(options.wait))
                .recycle_timeout(Some(options.wait))
                .build()
                .map_err(|error| StoreError::Settings(format!("--database-url: {error}")))?
        };
        let store = PostgresStore {
            shared: Arc::new(Shared {
                pool,
                target,
                nodes: Nodes::new(node_id()?),
                runtime: OwnRuntime(Some(runtime)),
                described,
            }),
        };
        store.block(schema::migrate(&store))?;
        Ok(store)
    }

    /// A handle for this thread: each operation takes a pooled connection for as long as it
    /// runs.
    pub fn connect(&self) -> PostgresConnection {
        PostgresConnection {
            store: self.clone(),
        }
    }

    /// The database's URL without its password.
    pub fn describe(&self) -> &str {
        &self.shared.described
    }

    /// Runs `work` to completion on this thread, with the store's runtime at hand for the
    /// connections' I/O and timers.
    pub(crate) fn block<T>(&self, work: impl Future<Output = T>) -> T {
        let runtime = self
            .shared
            .runtime
            .0
            .as_ref()
            .map(tokio::runtime::Runtime::handle);
        let _context = runtime.map(tokio::runtime::Handle::enter);
        futures_executor::block_on(work)
    }

    /// A pooled connection, or why there is none.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.shared
            .pool
            .get()
            .await
            .map_err(|error| self.unavailable(error))
    }

    fn unavailable(&self, error: PoolError) -> StoreError {
        let reason = match error {
            PoolError::Timeout(_) => {
                "no connection within the time allowed (is it up? are all connections busy?)"
                    .to_owned()
            }
            PoolError::Backend(error) => return self.error(error),
            other => other.to_string(),
        };
        StoreError::Unavailable {
            database: self.shared.described.clone(),
            reason,
        }
    }

    /// `error` as a store error: unreachable when the connection failed or broke, refused
    /// otherwise.
    pub(crate) fn error(&self, error: tokio_postgres::Error) -> StoreError {
        if settings::is_connectivity(&error) {
            return StoreError::Unavailable {
                database: self.shared.described.clone(),
                reason: error.to_string(),
            };
        }
        StoreError::Postgres {
            database: self.shared.described.clone(),
            source: error,
        }
    }
}

/// A handle on a [`PostgresStore`]'s pool; every operation takes a connection for its
/// duration, so holding one costs nothing.
#[derive(Debug, Clone)]
pub struct PostgresConnection {
    store: PostgresStore,
}

impl PostgresConnection {
    /// Asks the database a trivial question.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        self.with(async |client| client.simple_query("SELECT 1").await.map(|_| ()))
    }

    /// Runs `work` with a pooled connection, on this thread.
    fn with<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, StoreError> {
        let store = &self.store;
        store.block(async {
            let mut client = store.client().await?;
            work(&mut client).await.map_err(|error| store.error(error))
        })
    }
}

/// A random id for this process among the nodes.
fn node_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| StoreError::Settings("the system's random numbers are unavailable".into()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A count of rows as Rust counts.
fn count(rows: u64) -> usize {
    usize::try_from(rows).unwrap_or(usize::MAX)
}
