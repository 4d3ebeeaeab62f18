//! The script API: the globals every script sees, one file per area. The API itself is
//! written in JavaScript (`prelude.js`) on top of a few Rust functions (`host.*`) defined
//! by the modules here.

pub(crate) mod context;
mod convert;
mod encoding;
mod graphql;
mod log;
mod routes;
mod sockets;
mod storage;
mod streams;
mod timers;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use ferry_core::sse::{Filter, MatchMode, Metadata, StreamHub};
use ferry_graphql::GraphQl;
use ferry_store::{SqliteStore, StoreConnection};

use crate::pool::ToSelf;
use crate::sockets::SocketHub;
use rquickjs::{Array, Ctx, Function, Object};

pub(crate) use routes::{McpKind, Registration, RouteKind};
pub(crate) use timers::TimerQueue;

/// The name of the global that holds the engine's bookkeeping in each context (handlers,
/// pending promises, timer callbacks). A NUL keeps it out of any identifier a script writes.
pub(crate) const INTERNAL: &str = "\u{0}ferry";

const PRELUDE: &str = include_str!("prelude.js");

/// What one worker's bindings share: its timers, its store connection, the engine's event
/// streams and the request it is serving.
pub(crate) struct Host {
    pub timers: RefCell<TimerQueue>,
    store: Option<SqliteStore>,
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
}

impl Host {
    pub(crate) fn new(
        store: Option<SqliteStore>,
        streams: StreamHub,
        sockets: SocketHub,
        graphql: GraphQl,
        runtime: tokio::runtime::Handle,
        to_self: ToSelf,
    ) -> Self {
        Host {
            timers: RefCell::new(TimerQueue::default()),
            store,
            streams,
            sockets,
            graphql,
            runtime,
            to_self,
            next_host_call: std::cell::Cell::new(0),
            connection: RefCell::new(None),
            request_id: RefCell::new(None),
        }
    }
}

/// What one script's bindings know: who they belong to and where its registrations go.
pub(crate) struct ScriptHost {
    pub name: Arc<str>,
    pub version: u64,
    /// Open (Some) while the script loads and runs `init()`; registering later is an error.
    pub registrations: RefCell<Option<Vec<Registration>>>,
    pub host: Rc<Host>,
}

/// Defines the script API in `ctx` for the script `script`.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, script: &Rc<ScriptHost>) -> rquickjs::Result<()> {
    let host = Object::new(ctx.clone())?;
    routes::install(ctx, &host, script)?;
    log::install(ctx, &host, script)?;
    storage::install(ctx, &host, script)?;
    convert::install(ctx, &host)?;
    encoding::install(ctx, &host)?;
    timers::install(ctx, &host, script)?;
    streams::install(ctx, &host, &script.host)?;
    sockets::install(ctx, &host, &script.host)?;
    graphql::install(ctx, &host, script)?;

    let internal = Object::new(ctx.clone())?;
    internal.set("handlers", Array::new(ctx.clone())?)?;
    internal.set("pending", Object::new(ctx.clone())?)?;
    ctx.globals().set(INTERNAL, internal.clone())?;
    let prelude: Function = ctx.eval(PRELUDE)?;
    prelude.call::<_, ()>((host, internal))
}

/// The engine's bookkeeping object of the context `ctx`.
pub(crate) fn internal<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get(INTERNAL)
}

/// The filter of a filtered send: `json` (an object of metadata keys and values) matched
/// per `mode` ("subset", the default, or "overlap"); none without `json`.
fn filter_of(
    ctx: &Ctx<'_>,
    json: Option<String>,
    mode: Option<String>,
) -> rquickjs::Result<Option<Filter>> {
    let Some(json) = json else {
        return Ok(None);
    };
    let mode = match mode {
        Some(mode) => mode
            .parse::<MatchMode>()
            .map_err(|error| throw(ctx, &error))?,
        None => MatchMode::Subset,
    };
    let pairs: Metadata = serde_json::from_str(&json).map_err(|_| {
        throw(
            ctx,
            &format!(
                "the filter must be an object of metadata keys and values, such as {{\"room\": \"5\"}}; got {json}"
            ),
        )
    })?;
    Ok(Some(Filter::new(pairs, mode)))
}

/// Throws a JavaScript `Error` with `message`.
fn throw(ctx: &Ctx<'_>, message: &str) -> rquickjs::Error {
    rquickjs::Exception::throw_message(ctx, message)
}
