//! The script API: the globals every script sees, one file per area. The API itself is
//! written in JavaScript (`prelude.js`) on top of a few Rust functions (`host.*`) defined
//! by the modules here.

mod access;
mod assets;
pub(crate) mod body_stream;
pub(crate) mod context;
mod convert;
mod database;
mod encoding;
mod fetch;
mod forms;
mod graphql;
mod json;
mod log;
mod messages;
mod passwords;
mod routes;
mod secrets;
mod sockets;
mod storage;
mod streams;
mod subtle;
mod timers;
mod url;
mod web;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use ferry_core::sse::{Filter, MatchMode, Metadata, StreamHub};
use ferry_graphql::GraphQl;
use ferry_store::{Store, StoreConnection};

use crate::deadline::Deadline;
use crate::job::ToSelf;
use crate::registration::Registration;
use crate::settings::WorkerSettings;
use crate::socket_hub::SocketHub;
use rquickjs::{Array, Ctx, Function, Object};

pub(crate) use assets::{MAX_ASSET_BYTES, valid_name as valid_asset_name};
pub(crate) use database::SqlState;
pub(crate) use sockets::message as socket_message;
pub(crate) use timers::TimerQueue;

const PRELUDE: &str = include_str!("prelude.js");
const DATABASE: &str = include_str!("database.js");
/// The web platform's first APIs (encoding, digests, structuredClone, performance), with
/// every script.
const WEB: &str = include_str!("web.js");
/// `h` and `Fragment`, what JSX in `.jsx`/`.tsx` scripts calls.
const JSX: &str = include_str!("jsx.js");
/// `describe`, `it`, `expect`, …: only in test runs.
const TESTING: &str = include_str!("testing.js");
/// The rest, evaluated in this order the first time a script touches one of their globals
/// (web.js installs the triggers): each file gets what the ones before it share. A script
/// that uses none of them does not carry them (they weigh most of a context's memory).
const LAZY_WEB: [&str; 6] = [
    include_str!("crypto_keys.js"),
    include_str!("events.js"),
    include_str!("streams.js"),
    include_str!("url.js"),
    include_str!("fetch_api.js"),
    include_str!("fetch.js"),
];

/// What one worker's bindings share: its timers, its store connection, the engine's event
/// streams and the request it is serving.
pub(crate) struct Host {
    pub timers: RefCell<TimerQueue>,
    store: Option<Store>,
    streams: StreamHub,
    sockets: SocketHub,
    graphql: GraphQl,
    /// Where work that scripts start runs (`executeGraphQL`).
    runtime: tokio::runtime::Handle,
    /// Sends results back to this worker.
    to_self: ToSelf,
    next_host_call: std::cell::Cell<u32>,
    connection: RefCell<Option<StoreConnection>>,
    /// The request id of the call in progress, for log lines.
    pub request_id: RefCell<Option<Arc<str>>>,
    /// The deadline of the section in progress: long work in bindings stops with it.
    pub deadline: Rc<Deadline>,
    /// The most text a binding may build for a script (its runtime's memory limit).
    output_limit: usize,
    /// The scripts the engine runs (`auth.canManageScript` tells them from new names).
    scripts: crate::script_set::ScriptSet,
    /// The scripts' SQL databases and the transactions they hold open.
    pub sql: RefCell<SqlState>,
    /// How many statements of this worker run off it now.
    sql_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// What scripts' SQL may do.
    sql_limits: ferry_store::SqlLimits,
    /// The key `secretStorage` seals values with, if Ferry was given one.
    secret_key: Option<Arc<ferry_store::SecretKey>>,
    /// The call whose code runs now (transactions belong to it).
    pub scope: std::cell::Cell<u64>,
    /// The assets asset routes serve.
    assets: crate::asset_routes::AssetCache,
    /// The client `fetch` sends with, or why there is none.
    outbound: Result<crate::outbound::Outbound, String>,
    /// How many requests of this worker wait for their answers.
    fetch_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The bodies of answers that scripts have not finished reading.
    fetch_bodies: RefCell<fetch::FetchBodies>,
    /// Where `BroadcastChannel` and `dispatcher` messages go.
    messages: crate::messages::MessageBus,
}

impl Host {
    /// The bindings' view of a worker configured with `settings`, which sends messages to
    /// itself through `to_self` and runs its sections under `deadline`.
    pub(crate) fn new(settings: &WorkerSettings, to_self: ToSelf, deadline: Rc<Deadline>) -> Self {
        Host {
            timers: RefCell::new(TimerQueue::default()),
            store: settings.store.clone(),
            streams: settings.streams.clone(),
            sockets: settings.sockets.clone(),
            graphql: settings.graphql.clone(),
            runtime: settings.runtime.clone(),
            to_self,
            next_host_call: std::cell::Cell::new(0),
            connection: RefCell::new(None),
            request_id: RefCell::new(None),
            deadline,
            output_limit: settings.limits.memory_bytes,
            scripts: settings.scripts.clone(),
            sql: RefCell::new(SqlState::default()),
            sql_in_flight: Arc::default(),
            sql_limits: settings.limits.sql,
            secret_key: settings.secret_key.clone(),
            scope: std::cell::Cell::new(0),
            assets: settings.assets.clone(),
            outbound: settings.outbound.clone(),
            fetch_in_flight: Arc::default(),
            fetch_bodies: RefCell::default(),
            messages: settings.messages.clone(),
        }
    }

    /// Makes `scope` the call whose code runs now; returns the one before, to restore.
    pub(crate) fn enter_scope(&self, scope: u64) -> u64 {
        self.scope.replace(scope)
    }

    /// The call `scope` has ended: its database transactions end with it (aiwebengine's
    /// implicit one commits when the call `succeeded`).
    pub(crate) fn end_scope(&self, scope: u64, succeeded: bool) {
        self.sql.borrow_mut().end_scope(scope, succeeded);
    }
}

/// What one script's bindings know: who they belong to and where its registrations go.
pub(crate) struct ScriptHost {
    pub name: Arc<str>,
    pub version: u64,
    /// Open (Some) while the script loads and runs `init()`; registering later is an error.
    pub registrations: RefCell<Option<Vec<Registration>>>,
    pub host: Rc<Host>,
    /// For a test run: the one call scope all its database work belongs to, whatever
    /// section (a test, a timer) does it; the run rolls it back at the end.
    pub test_scope: Option<u64>,
}

impl ScriptHost {
    /// The call scope the script's database work belongs to now.
    pub(crate) fn scope(&self) -> u64 {
        self.test_scope.unwrap_or_else(|| self.host.scope.get())
    }
}

/// Defines the script API in `ctx` for the script `script`. Returns the engine's
/// bookkeeping object of the context (handlers, the context builder, the socket
/// dispatcher, timer callbacks), which the caller keeps: it is in no global, so no script
/// can reach it.
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<Object<'js>> {
    // First: the prelude and the other files keep their own reference to it.
    json::install(ctx)?;
    let host = Object::new(ctx.clone())?;
    routes::install(ctx, &host, script)?;
    log::install(ctx, &host, script)?;
    storage::install(ctx, &host, script)?;
    secrets::install(ctx, &host, script)?;
    assets::install(ctx, &host, script)?;
    access::install(ctx, &host, script)?;
    convert::install(ctx, &host, &script.host)?;
    encoding::install(ctx, &host)?;
    timers::install(ctx, &host, script)?;
    streams::install(ctx, &host, &script.host)?;
    sockets::install(ctx, &host, &script.host)?;
    graphql::install(ctx, &host, script)?;
    database::install(ctx, &host, script)?;
    web::install(ctx, &host)?;
    url::install(ctx, &host)?;
    forms::install(ctx, &host)?;
    fetch::install(ctx, &host, script)?;
    subtle::install(ctx, &host)?;
    passwords::install(ctx, &host, script)?;
    messages::install(ctx, &host, script)?;
    body_stream::install(ctx, &host, script)?;

    let internal = Object::new(ctx.clone())?;
    internal.set("handlers", Array::new(ctx.clone())?)?;
    if script.test_scope.is_some() {
        // Filled in by testing.js (the prelude freezes `internal`, not what it holds).
        internal.set("tests", Object::new(ctx.clone())?)?;
    }
    let prelude: Function = ctx.eval(PRELUDE)?;
    prelude.call::<_, ()>((host.clone(), internal.clone()))?;
    host.set("testing", script.test_scope.is_some())?;
    let database: Function = ctx.eval(DATABASE)?;
    database.call::<_, ()>((host.clone(),))?;
    let web_file = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, index: usize| -> rquickjs::Result<Function<'js>> {
            let source = LAZY_WEB
                .get(index)
                .ok_or_else(|| throw(&ctx, "no such web file"))?;
            ctx.eval(*source)
        },
    )?;
    host.set("webFile", web_file)?;
    host.set("webFileCount", LAZY_WEB.len())?;
    let web: Function = ctx.eval(WEB)?;
    web.call::<_, ()>((host.clone(),))?;
    let jsx: Function = ctx.eval(JSX)?;
    jsx.call::<_, ()>((host.clone(),))?;
    if script.test_scope.is_some() {
        let testing: Function = ctx.eval(TESTING)?;
        testing.call::<_, ()>((host, internal.clone()))?;
    }

    Ok(internal)
}

/// The filter of a filtered send: `json` (an object of metadata keys and values) matched
/// per `mode` ("subset", the default, or "overlap"); none without `json`.
fn filter_of(
    ctx: &Ctx<'_>,
    json: Option<&str>,
    mode: Option<&str>,
) -> rquickjs::Result<Option<Filter>> {
    json.map(|json| parse_filter(json, mode))
        .transpose()
        .map_err(|error| throw(ctx, &error))
}

/// The filter `json` (an object of metadata keys and values) matched per `mode`, or why
/// it is none.
pub(crate) fn parse_filter(json: &str, mode: Option<&str>) -> Result<Filter, String> {
    let mode = match mode {
        Some(mode) => mode.parse::<MatchMode>()?,
        None => MatchMode::Subset,
    };
    let pairs: Metadata = serde_json::from_str(json).map_err(|_| {
        format!(
            "the filter must be an object of metadata keys and values, such as {{\"room\": \"5\"}}; got {json}"
        )
    })?;
    Ok(Filter::new(pairs, mode))
}

impl ScriptHost {
    /// Starts `work` on the engine's runtime as a host call of this script: returns its id,
    /// whose promise (`host.awaitHostCall(id)`) settles with the result on this worker.
    fn spawn_host_call(
        &self,
        work: impl std::future::Future<Output = Result<String, crate::job::HostCallError>>
        + Send
        + 'static,
    ) -> u32 {
        let host = &self.host;
        let id = host.next_host_call.get().wrapping_add(1);
        host.next_host_call.set(id);
        let to_self = host.to_self.clone();
        let (script, version) = (self.name.clone(), self.version);
        host.runtime.spawn(async move {
            let result = work.await;
            to_self(crate::job::Control::Settle {
                script,
                version,
                id,
                result,
            });
        });
        id
    }
}

impl Host {
    /// `script`'s asset `name` changed or went: the asset routes of this node and of the
    /// others read it again.
    fn asset_changed(&self, script: &str, name: &str) {
        crate::asset_routes::announce_change(&self.assets, self.store.as_ref(), script, name);
    }

    /// Sends `broadcast` to the subscribers of the other nodes on the database, if any.
    fn tell_other_nodes(&self, broadcast: impl FnOnce() -> crate::cluster::Broadcast) {
        crate::cluster::tell_other_nodes(self.store.as_ref(), broadcast);
    }
}

/// Throws a JavaScript `Error` with `message` that, uncaught, answers `status` (the
/// prelude's `ferryStatus`).
fn throw_with_status(ctx: &Ctx<'_>, message: &str, status: u16) -> rquickjs::Error {
    let made = rquickjs::Exception::from_message(ctx.clone(), message).and_then(|exception| {
        exception.set("ferryStatus", status)?;
        Ok(exception)
    });
    match made {
        Ok(exception) => ctx.throw(exception.into_value()),
        Err(error) => error,
    }
}

/// A store failure as a JavaScript error with `message`: when the store cannot be reached
/// (or is busy) it answers 503 with Retry-After if uncaught — the request may work shortly.
fn store_error(ctx: &Ctx<'_>, message: &str, unavailable: bool) -> rquickjs::Error {
    if unavailable {
        throw_with_status(ctx, message, 503)
    } else {
        throw(ctx, message)
    }
}

/// Throws a JavaScript `Error` with `message`.
fn throw(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    rquickjs::Exception::throw_message(ctx, message)
}
