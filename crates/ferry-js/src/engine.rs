//! [`Engine`]: the worker pool, the loaded scripts and the route table they fill.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};

use ferry_core::Handler;
use ferry_core::router::{RouteError, Router, Routes};
use ferry_core::sse::{HubSettings, StreamHub};
use ferry_graphql::{GraphQl, SchemaOptions};
use ferry_mcp::{Mcp, McpHandler, McpOptions};
use ferry_store::Store;
use http::Method;

use crate::asset_routes::{AssetCache, AssetRoute};
use crate::error::{EngineError, ScriptError};
use crate::handler::{RoutePace, ScriptRoute};
use crate::handoff::Completions;
use crate::job::Control;
use crate::limits::Limits;
use crate::offers;
use crate::pool::WorkerPool;
use crate::registration::{Registration, RouteKind};
use crate::script::Script;
use crate::script_set::{Loaded, LoadedScript, ScriptSet};
use crate::settings::WorkerSettings;
use crate::socket_hub::SocketHub;
use crate::sockets::SocketRoute;
use crate::stream::StreamRoute;

/// How to run the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Worker threads, each with its own runtime. Default: the number of cores.
    pub workers: usize,
    /// Sandbox limits.
    pub limits: Limits,
    /// Development mode: error details (messages, stacks) go to the client too.
    pub dev: bool,
    /// Where scripts keep their data (`sharedStorage`, `personalStorage`) and uploaded
    /// scripts are kept; without one, those throw.
    pub store: Option<Store>,
    /// The key `secretStorage` seals scripts' secrets with (AES-256-GCM); without one,
    /// `secretStorage.setSecret` throws.
    pub secret_key: Option<Arc<ferry_store::SecretKey>>,
    /// Where the workers run.
    pub model: WorkerModel,
    /// The limits of the Server-Sent Events streams scripts register.
    pub streams: HubSettings,
    /// Whether GraphQL clients may ask for the schema (`__schema`, `__type`).
    pub graphql_introspection: bool,
    /// How `/mcp` guards itself (token, allowed hosts and origins).
    pub mcp: McpOptions,
    /// Where scripts' `fetch` may go, and its limits.
    pub outbound: crate::outbound::OutboundOptions,
}

/// Where JavaScript runs relative to the threads that serve HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerModel {
    /// `workers` threads of their own, fed by one bounded queue. A long call occupies one
    /// worker; the server threads keep serving everything else.
    Pool,
    /// Thread-per-core: each server thread is also a worker ([`Engine::attach_worker`]) and
    /// runs the scripts of the requests it accepted, with no hand-off between threads.
    /// Faster; a long call delays the other requests of its thread (up to the time limit).
    PerThread,
    /// Both: each server thread is also a worker, and there is a pool of `workers`
    /// threads besides. A route starts on the pool; after eight quick answers there, the
    /// server thread that accepts a request runs it on the spot, as
    /// [`WorkerModel::PerThread`] does; a route whose calls hold the thread longer than a
    /// millisecond on average goes back to the pool for good, as in [`WorkerModel::Pool`].
    /// Everything that is not a request (GraphQL, MCP, WebSocket handlers, jobs) runs on
    /// the pool. The speed of the one where it matters, the isolation of the other; it
    /// costs a runtime per server thread besides the pool's. Served with
    /// [`Engine::bind`] (which attaches the server threads); an app bound otherwise runs
    /// everything on the pool.
    #[default]
    Auto,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            limits: Limits::default(),
            dev: false,
            store: None,
            secret_key: None,
            model: WorkerModel::Auto,
            streams: HubSettings::default(),
            graphql_introspection: true,
            mcp: McpOptions::default(),
            outbound: crate::outbound::OutboundOptions::default(),
        }
    }
}

/// Where scripts' GraphQL fields are served.
pub(crate) const GRAPHQL_PATH: &str = "/graphql";

/// Where scripts' MCP tools, resources and prompts are served.
/// Where the engine serves MCP (its tools, resources and prompts).
pub const MCP_PATH: &str = "/mcp";

struct Shared {
    pool: Arc<WorkerPool>,
    /// Where JavaScript runs, and how many threads serve (thread-per-core).
    model: WorkerModel,
    threads: usize,
    routes: Routes,
    store: Option<Store>,
    streams: StreamHub,
    sockets: SocketHub,
    graphql: GraphQl,
    mcp: Mcp,
    /// Built once: its sessions must outlive reloads.
    mcp_handler: McpHandler,
    scripts: ScriptSet,
    /// The assets asset routes serve, as last read.
    assets: AssetCache,
    /// Serialises changes, so that two reloads never interleave their steps.
    changes: tokio::sync::Mutex<()>,
    versions: AtomicU64,
}

/// The JavaScript engine: a pool of sandboxed QuickJS workers and the scripts they run.
/// Cloning gives another handle to the same engine.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.shared.pool.len())
            .field("scripts", &self.scripts())
            .finish()
    }
}

/// A handle on an engine that does not keep it running (for tasks that should end with it).
#[derive(Clone)]
pub(crate) struct WeakEngine(std::sync::Weak<Shared>);

impl WeakEngine {
    /// The engine, while it runs.
    pub(crate) fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(|shared| Engine { shared })
    }
}

impl Engine {
    /// A handle that does not keep the engine running.
    pub(crate) fn downgrade(&self) -> WeakEngine {
        WeakEngine(Arc::downgrade(&self.shared))
    }

    /// The engine's open WebSockets.
    pub(crate) fn sockets(&self) -> &SocketHub {
        &self.shared.sockets
    }

    /// The engine's GraphQL endpoint.
    pub(crate) fn graphql(&self) -> &GraphQl {
        &self.shared.graphql
    }

    /// Starts the workers (with no scripts yet).
    pub async fn start(options: EngineOptions) -> Result<Engine, EngineError> {
        let store = options.store.clone();
        // Pool workers hand their replies to the process's runtime in bursts.
        let completions = match options.model {
            WorkerModel::Pool | WorkerModel::Auto => {
                let completions = Arc::new(Completions::default());
                Completions::start(completions.clone());
                Some(completions)
            }
            WorkerModel::PerThread => None,
        };
        let streams = StreamHub::new(options.streams);
        let sockets = SocketHub::default();
        let scripts = ScriptSet::default();
        let assets = AssetCache::default();
        let mcp = Mcp::new(options.mcp.clone());
        let graphql = GraphQl::with_graphiql(
            SchemaOptions {
                introspection: options.graphql_introspection,
            },
            options.dev,
        );
        let (messages, outgoing) = crate::messages::MessageBus::new();
        let settings = Arc::new(WorkerSettings {
            limits: options.limits,
            dev: options.dev,
            store: store.clone(),
            secret_key: options.secret_key.clone(),
            streams: streams.clone(),
            sockets: sockets.clone(),
            graphql: graphql.clone(),
            runtime: tokio::runtime::Handle::current(),
            completions,
            scripts: scripts.clone(),
            assets: assets.clone(),
            messages,
            files: crate::modules::AppFiles::default(),
            outbound: crate::outbound::Outbound::new(options.outbound.clone()).map_err(|error| {
                format!("the system's root certificates could not be loaded ({error})")
            }),
        });
        let pool = Arc::new(match options.model {
            // Each worker thread creates its runtime before the pool counts it: off the
            // async threads.
            WorkerModel::Pool | WorkerModel::Auto => {
                let workers = options.workers;
                tokio::task::spawn_blocking(move || WorkerPool::start(workers, settings))
                    .await
                    .map_err(|_| EngineError::Stopped)??
            }
            WorkerModel::PerThread => WorkerPool::per_thread(settings),
        });
        crate::watchdog::start(&pool).map_err(EngineError::Spawn)?;
        let engine = Engine {
            shared: Arc::new(Shared {
                pool,
                model: options.model,
                threads: options.workers,
                routes: Routes::default(),
                store,
                streams,
                sockets,
                graphql,
                mcp_handler: mcp.handler(),
                mcp,
                scripts,
                assets,
                changes: tokio::sync::Mutex::new(()),
                versions: AtomicU64::new(0),
            }),
        };
        if let Some(store) = &engine.shared.store {
            crate::scheduler::start(engine.downgrade(), store.clone());
        }
        crate::messages::start(engine.downgrade(), outgoing);
        Ok(engine)
    }

    /// Sends what `control` makes to every worker.
    pub(crate) fn tell_workers(&self, control: impl Fn() -> Control) {
        self.shared.pool.notify(control);
    }

    /// The longest one call into a script may run.
    pub(crate) fn call_timeout(&self) -> std::time::Duration {
        self.shared.pool.settings().limits.call_timeout
    }

    /// The scripts whose modules imported `file` (an absolute path with links resolved).
    pub fn scripts_importing(&self, file: &std::path::Path) -> Vec<Arc<str>> {
        self.shared.pool.settings().files.importers(file)
    }

    /// Whether a script of this engine registers something of `kind`.
    pub(crate) fn registers(&self, kind: RouteKind) -> bool {
        self.table().values().any(|loaded| {
            loaded
                .registrations
                .iter()
                .any(|registration| registration.kind == kind)
        })
    }

    /// The handlers registered as `kind` with `pattern` (a job's `job <name>`, a listener's
    /// `listener <type>`) by `script`, or by every script: each a call to run on the workers.
    pub(crate) fn handlers(
        &self,
        kind: RouteKind,
        pattern: &str,
        script: Option<&str>,
    ) -> Vec<crate::call_js::JsCall> {
        self.table()
            .iter()
            .filter(|(name, _)| script.is_none_or(|script| &***name == script))
            .filter_map(|(_, loaded)| {
                let index = loaded.registrations.iter().position(|registration| {
                    registration.kind == kind && registration.pattern == pattern
                })?;
                Some(crate::call_js::JsCall {
                    pool: self.shared.pool.clone(),
                    key: loaded.key(index),
                })
            })
            .collect()
    }

    /// Where JavaScript runs, and the number of worker threads asked for.
    pub(crate) fn model(&self) -> (WorkerModel, usize) {
        (self.shared.model, self.shared.threads)
    }

    /// Makes the current thread a worker of a [`WorkerModel::PerThread`] or
    /// [`WorkerModel::Auto`] engine: requests this thread handles run their scripts here.
    /// Call it on each server thread (a current-thread tokio runtime) before any script is
    /// loaded, and spawn the returned future on the thread's `LocalSet`: it drives the
    /// worker's event loop (script changes, timers, promises) until the engine is dropped.
    pub fn attach_worker(&self) -> Result<impl Future<Output = ()> + use<>, EngineError> {
        self.shared.pool.attach()
    }

    /// The route table the scripts fill; serve it with
    /// [`RouterService`](ferry_core::router::RouterService).
    pub fn routes(&self) -> Routes {
        self.shared.routes.clone()
    }

    /// The assets asset routes serve, as last read from the store.
    pub(crate) fn asset_cache(&self) -> &AssetCache {
        &self.shared.assets
    }

    /// The data store, when the engine has one.
    pub fn store(&self) -> Option<&Store> {
        self.shared.store.as_ref()
    }

    /// The Server-Sent Events streams the scripts registered: Rust code can publish to
    /// them too.
    pub fn streams(&self) -> &StreamHub {
        &self.shared.streams
    }

    /// The number of WebSockets open at the path `path`.
    pub fn websockets(&self, path: &str) -> usize {
        self.shared.sockets.count(path)
    }

    /// The MCP server of the scripts' tools, resources and prompts (also for `ferry mcp`
    /// over stdio).
    pub fn mcp(&self) -> &Mcp {
        &self.shared.mcp
    }

    /// The sandbox limits.
    pub fn limits(&self) -> &Limits {
        &self.shared.pool.settings().limits
    }

    /// The number of workers.
    pub fn workers(&self) -> usize {
        self.shared.pool.len()
    }

    /// The scripts running, by name.
    pub fn scripts(&self) -> Vec<LoadedScript> {
        self.table().values().map(Loaded::describe).collect()
    }

    /// The running version of the script `name`.
    pub fn script(&self, name: &str) -> Option<Script> {
        self.table().get(name).map(|loaded| loaded.script.clone())
    }

    fn table(&self) -> MutexGuard<'_, BTreeMap<Arc<str>, Loaded>> {
        self.shared.scripts.lock()
    }

    /// Runs the tests of the test file `script` (those whose full names contain `filter`)
    /// on one worker, in a context of its own with the test prelude; everything it writes
    /// to the database is rolled back. An error means the file did not load (a syntax
    /// error, a throw at top level) or the run did not finish; failing tests are in the
    /// report.
    pub async fn run_tests(
        &self,
        script: Script,
        filter: Option<String>,
    ) -> Result<crate::testing::TestReport, EngineError> {
        let script = script.compiled()?;
        // Script changes wait: the run uses a staged version's place.
        let _change = self.shared.changes.lock().await;
        let version = self.shared.versions.fetch_add(1, Ordering::Relaxed) + 1;
        let report = self
            .shared
            .pool
            .ask_one(|reply| Control::Test {
                script,
                version,
                filter,
                reply,
            })
            .await??;
        Ok(report)
    }

    /// Adds `script`, or replaces the running script of the same name.
    ///
    /// The script is evaluated and its `init()` run on every worker beside the running
    /// version; only when all succeed and its routes fit with the other scripts' are the
    /// routes swapped in (requests already routed finish on the old version). On any error
    /// the previous version keeps running and the error names the script and line.
    pub async fn load(&self, script: Script) -> Result<LoadedScript, EngineError> {
        let limit = self.limits().script_bytes;
        let name = script.name().clone();
        if script.source().len() > limit {
            return Err(ScriptError::new(
                &name,
                format!(
                    "the script is {} bytes, over the script size limit of {limit} bytes",
                    script.source().len()
                ),
            )
            .into());
        }
        let script = script.compiled()?;
        let _change = self.shared.changes.lock().await;
        let version = self.shared.versions.fetch_add(1, Ordering::Relaxed) + 1;
        let pool = &self.shared.pool;
        let replies = pool
            .broadcast(|reply| Control::Prepare {
                script: script.clone(),
                version,
                reply,
            })
            .await?;
        let abort = || {
            pool.notify(|| Control::Abort {
                name: name.clone(),
                version,
            });
        };
        let mut registrations: Option<Vec<Registration>> = None;
        for reply in replies {
            let registered = match reply {
                Ok(registered) => registered,
                Err(error) => {
                    abort();
                    return Err(error.into());
                }
            };
            match &registrations {
                Some(first) if !Registration::same_on_every_worker(first, &registered) => {
                    abort();
                    return Err(ScriptError::new(
                        &name,
                        "the script registered different routes on different workers; register routes unconditionally at top level or in init()",
                    )
                    .into());
                }
                Some(_) => {}
                None => registrations = Some(registered),
            }
        }
        let loaded = Loaded {
            script,
            version,
            registrations: registrations.unwrap_or_default(),
        };
        // The set's lock is held until the workers have the commit, and let go before the
        // job table is brought up to date.
        let (described, registrations) = {
            let mut table = self.table();
            let next = match self.next_offer(&table, Some(&loaded), None, &name) {
                Ok(next) => next,
                Err(error) => {
                    abort();
                    return Err(error.into());
                }
            };
            // Into the set first, then to the workers, both under the set's lock: a worker that
            // replaces a stuck one meanwhile starts with this version or gets the commit.
            let described = loaded.describe();
            let committed = loaded.script.clone();
            table.insert(name.clone(), loaded);
            pool.notify(|| Control::Commit {
                script: committed.clone(),
                version,
            });
            self.offer(next);
            self.sync_streams(&table);
            self.shared.sockets.restart(&name, Some(version));
            let registrations = table
                .get(&name)
                .map(|loaded| loaded.registrations.clone())
                .unwrap_or_default();
            (described, registrations)
        };
        if let Some(store) = &self.shared.store {
            crate::scheduler::sync(store, name.clone(), &registrations).await;
        }
        Ok(described)
    }

    /// Unloads the script `name` and its routes; says whether it was loaded.
    pub async fn remove(&self, name: &str) -> Result<bool, EngineError> {
        let _change = self.shared.changes.lock().await;
        let name = {
            let mut table = self.table();
            let Some((name, _)) = table
                .get_key_value(name)
                .map(|(k, v)| (k.clone(), v.version))
            else {
                return Ok(false);
            };
            // Everything is checked before anything changes: a change is applied whole or not
            // at all.
            let next = self.next_offer(&table, None, Some(&name), &name)?;
            self.offer(next);
            table.remove(&name);
            self.sync_streams(&table);
            self.shared.sockets.restart(&name, None);
            self.shared
                .pool
                .notify(|| Control::Remove { name: name.clone() });
            name
        };
        if let Some(store) = &self.shared.store
            && let Err(error) = crate::scheduler::forget(store, &name).await
        {
            tracing::warn!(script = %name, %error, "the script's jobs could not be removed");
        }
        Ok(true)
    }

    /// What the engine offers once `added` replaces its namesake in `table` and `removed` is
    /// gone: the route table, the GraphQL fields (checked to build a schema) and the MCP
    /// registry. An error names `who`, the script being changed.
    fn next_offer(
        &self,
        table: &BTreeMap<Arc<str>, Loaded>,
        added: Option<&Loaded>,
        removed: Option<&Arc<str>>,
        who: &Arc<str>,
    ) -> Result<Offer, ScriptError> {
        let router = self.build_router(table, added, removed)?;
        let pool = &self.shared.pool;
        let fields = offers::graphql_fields(pool, in_effect(table, added, removed));
        self.shared
            .graphql
            .check(&fields)
            .map_err(|error| ScriptError::new(who, error.to_string()))?;
        let mcp = offers::mcp_registry(pool, in_effect(table, added, removed))
            .map_err(|error| ScriptError::new(who, error))?;
        Ok(Offer {
            router,
            fields,
            mcp,
        })
    }

    /// Swaps in what [`Engine::next_offer`] computed and checked.
    fn offer(&self, next: Offer) {
        self.shared.routes.replace(next.router);
        // Checked when computed: the schema builds, the MCP registry is consistent.
        let _ = self.shared.graphql.replace(&next.fields);
        let _ = self.shared.mcp.replace(next.mcp);
    }

    /// The route table of every script in `table`, with `added` in place of its namesake and
    /// without `removed`. The changed script's routes go in last, so a clash is its fault.
    fn build_router(
        &self,
        table: &BTreeMap<Arc<str>, Loaded>,
        added: Option<&Loaded>,
        removed: Option<&Arc<str>>,
    ) -> Result<Router, ScriptError> {
        let mut router = Router::new();
        // The changed script goes in last (below), so a clash is reported as its fault.
        for loaded in in_effect(
            table,
            None,
            added.map(|loaded| loaded.script.name()).or(removed),
        ) {
            self.add_routes(&mut router, loaded)
                .map_err(|error| ScriptError::new(loaded.script.name(), error.to_string()))?;
        }
        let registers = |wanted: fn(RouteKind) -> bool| {
            in_effect(table, added, removed)
                .flat_map(|loaded| &loaded.registrations)
                .any(|registration| wanted(registration.kind))
        };
        let who = added.map_or_else(|| "(engine)".into(), |loaded| loaded.script.name().clone());
        if registers(|kind| matches!(kind, RouteKind::GraphQl(_))) {
            // CONNECT: GraphQL over WebSocket on HTTP/2 (RFC 8441).
            let methods = [Method::GET, Method::POST, Method::CONNECT];
            mount(
                &mut router,
                GRAPHQL_PATH,
                &methods,
                Arc::new(self.shared.graphql.handler()),
            )
            .map_err(|error| {
                ScriptError::new(
                    &who,
                    format!("{error}: {GRAPHQL_PATH} is where GraphQL is served"),
                )
            })?;
        }
        if registers(|kind| matches!(kind, RouteKind::Mcp(_))) {
            let methods = [Method::GET, Method::POST, Method::DELETE];
            mount(
                &mut router,
                MCP_PATH,
                &methods,
                Arc::new(self.shared.mcp_handler.clone()),
            )
            .map_err(|error| {
                ScriptError::new(&who, format!("{error}: {MCP_PATH} is where MCP is served"))
            })?;
        }
        if let Some(loaded) = added {
            self.add_routes(&mut router, loaded).map_err(|error| {
                let owner = clash_owner(table, &error, loaded.script.name());
                let message = match owner {
                    Some(owner) => format!("{error} (by {owner})"),
                    None => error.to_string(),
                };
                ScriptError::new(loaded.script.name(), message)
            })?;
        }
        Ok(router)
    }

    fn add_routes(&self, router: &mut Router, loaded: &Loaded) -> Result<(), RouteError> {
        for (index, registration) in loaded.registrations.iter().enumerate() {
            let pool = self.shared.pool.clone();
            let key = loaded.key(index);
            // `auto`: each route learns whether it is quick enough for the server thread.
            let pace =
                (self.shared.model == WorkerModel::Auto).then(|| RoutePace::new(key.clone()));
            let handler: Arc<dyn Handler> = match registration.kind {
                RouteKind::Http => Arc::new(ScriptRoute {
                    pool,
                    key,
                    cross_site: registration.cross_site,
                    pace,
                }),
                RouteKind::Stream { customized } => Arc::new(StreamRoute {
                    pool,
                    hub: self.shared.streams.clone(),
                    key,
                    path: registration.pattern.as_str().into(),
                    customized,
                    pace,
                }),
                RouteKind::Asset => Arc::new(AssetRoute {
                    cache: self.shared.assets.clone(),
                    store: self.shared.store.clone(),
                    script: loaded.script.name().clone(),
                    asset: registration.definition.clone(),
                }),
                RouteKind::GraphQl(_)
                | RouteKind::Mcp(_)
                | RouteKind::Job
                | RouteKind::Listener => continue,
                RouteKind::WebSocket => Arc::new(SocketRoute {
                    pool,
                    hub: self.shared.sockets.clone(),
                    key,
                    path: registration.pattern.as_str().into(),
                }),
            };
            if registration.kind == RouteKind::WebSocket {
                // WebSockets over HTTP/2 open with an extended CONNECT (RFC 8441).
                router.add(&registration.pattern, Method::CONNECT, handler.clone())?;
            }
            router.add(&registration.pattern, registration.method.clone(), handler)?;
        }
        Ok(())
    }

    /// Opens the streams the scripts in `table` register and closes the others (their
    /// clients' responses end; clients of a stream a new version still registers stay).
    fn sync_streams(&self, table: &BTreeMap<Arc<str>, Loaded>) {
        let paths: std::collections::BTreeSet<&str> = table
            .values()
            .flat_map(|loaded| &loaded.registrations)
            .filter(|registration| matches!(registration.kind, RouteKind::Stream { .. }))
            .map(|registration| registration.pattern.as_str())
            .collect();
        for path in &paths {
            self.shared.streams.open(path);
        }
        self.shared.streams.retain(|path| paths.contains(path));
    }
}

/// What the engine serves from its scripts, computed as a whole before it is swapped in.
struct Offer {
    router: Router,
    fields: Vec<ferry_graphql::Registration>,
    mcp: ferry_mcp::Registry,
}

/// The scripts of `table` as they are once `added` replaces its namesake and `removed` is
/// gone.
fn in_effect<'a>(
    table: &'a BTreeMap<Arc<str>, Loaded>,
    added: Option<&'a Loaded>,
    removed: Option<&'a Arc<str>>,
) -> impl Iterator<Item = &'a Loaded> {
    let skipped = added.map(|loaded| loaded.script.name()).or(removed);
    table
        .values()
        .filter(move |loaded| Some(loaded.script.name()) != skipped)
        .chain(added)
}

/// Routes `methods` of `path` to `handler`.
fn mount(
    router: &mut Router,
    path: &str,
    methods: &[Method],
    handler: Arc<dyn Handler>,
) -> Result<(), RouteError> {
    for method in methods {
        router.add(path, method.clone(), handler.clone())?;
    }
    Ok(())
}

/// The other script that registered the route a clash is about.
fn clash_owner(
    table: &BTreeMap<Arc<str>, Loaded>,
    error: &RouteError,
    changed: &Arc<str>,
) -> Option<Arc<str>> {
    let RouteError::Duplicate { pattern, method } = error else {
        return None;
    };
    table
        .values()
        .filter(|loaded| loaded.script.name() != changed)
        .find(|loaded| {
            loaded
                .registrations
                .iter()
                .any(|r| r.pattern == *pattern && r.method == *method)
        })
        .map(|loaded| loaded.script.name().clone())
}
