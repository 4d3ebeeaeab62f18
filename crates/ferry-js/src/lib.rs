//! Ferry's JavaScript application engine: the part of `ferry run` that runs scripts.
//!
//! Scripts are plain JavaScript files that register routes (`register("/hello", handler)`)
//! and answer requests; their API follows aiwebengine's, so scripts written for it run here
//! unchanged. Unlike an engine that builds a fresh interpreter per request, Ferry keeps a
//! pool of warm QuickJS runtimes:
//!
//! - [`Engine`] owns the workers (one per core by default). Each worker owns one QuickJS
//!   runtime with a context per script, every script evaluated once and its `init()` run.
//!   In [`WorkerModel::Pool`] the workers are threads of their own and requests
//!   reach them through one bounded queue (replies go back in bursts, one wake-up each);
//!   when the queue is full the client gets 503 with `Retry-After` instead of waiting in
//!   unbounded memory. [`WorkerModel::PerThread`] instead attaches a worker to each server
//!   thread ([`Engine::attach_worker`]), which runs the scripts of its own requests;
//!   [`WorkerModel::Auto`], the default, does both, running a route on the server thread
//!   once it has shown itself quick and on the pool once its calls hold the thread too
//!   long.
//! - Every runtime is sandboxed by [`Limits`]: memory, stack, time per call (stopped by the
//!   interpreter's interrupt handler: the client gets 504), script size and request body
//!   size. The deadline covers every moment JavaScript runs — reading what a handler
//!   returned and describing what it threw included — and a worker stuck in host code past
//!   it (a blocking call the interrupt cannot reach) is replaced by a fresh one. A runaway
//!   script costs its own request only; the worker recovers, rebuilding its runtime when it
//!   must. Scripts cannot reach the engine's bookkeeping: it is held in Rust.
//! - Handlers may be `async`: each worker drives its own event loop of promises and timers.
//! - [`Engine::load`] adds or replaces a script while serving: the new version is evaluated
//!   on every worker first, and only when all succeed are its routes swapped in, atomically;
//!   a version that fails to load leaves the previous one running.
//!
//! The engine's routes are a [`ferry_core::router::Routes`] table, served like any other:
//!
//! ```no_run
//! use ferry_core::App;
//! use ferry_core::router::RouterService;
//! use ferry_js::{Engine, EngineOptions, Script};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::start(EngineOptions::default()).await?;
//! engine
//!     .load(Script::new("hello.js", r#"register("/hello", () => "Hello from JS")"#))
//!     .await?;
//! App::new()
//!     .fallback(RouterService::new(engine.routes(), None))
//!     .serve("127.0.0.1:8080")
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Module state (top-level variables) lives in each worker's runtime: it persists between
//! the requests one worker serves and is not shared between workers. State that all
//! requests must see belongs in `sharedStorage`, which [`ferry_store`] persists.

mod asset_routes;
mod bindings;
mod call_js;
pub mod cluster;
mod deadline;
mod engine;
mod error;
mod handler;
mod handoff;
mod job;
mod limits;
pub mod management;
mod management_access;
mod management_assets;
mod messages;
mod modules;
mod offers;
mod outbound;
mod outbox;
mod pace;
mod pool;
mod pulse;
mod registration;
mod request;
mod response;
mod scheduler;
mod script;
mod script_set;
mod serving;
mod settings;
mod socket_hub;
mod sockets;
mod source_lines;
mod stream;
pub mod testing;
mod thrown;
mod transpile;
pub mod watch;
mod watchdog;
mod worker;

pub(crate) use engine::WeakEngine;
pub use engine::{Engine, EngineOptions, MCP_PATH, WorkerModel};
pub use script_set::LoadedScript;
pub use serving::EngineServer;

/// The `tracing` target of every log line a script writes (`console.*`, `writeLog`) and of
/// script failures, so they can be filtered or written apart from the server's own.
pub const SCRIPT_LOG_TARGET: &str = "ferry::script";

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input this crate
/// owns. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use std::cell::RefCell;

    thread_local! {
        static RUNTIME: RefCell<Option<(rquickjs::Runtime, rquickjs::Context)>> = const { RefCell::new(None) };
        static TOKIO: Option<tokio::runtime::Runtime> = tokio::runtime::Builder::new_current_thread().build().ok();
    }

    /// Transpiles `source` as the TypeScript, TSX or JSX file `name` (a script or a
    /// module), then moves the positions of `stack` through the result's line map, as the
    /// engine does with what a script throws. Whether it transpiled.
    pub fn transpile(name: &str, source: &str, module: bool, stack: &str) -> bool {
        match crate::transpile::transpile(name, source, module) {
            Ok(transpiled) => {
                let _ = transpiled.lines.rewrite(stack, name);
                true
            }
            Err(error) => {
                assert!(error.line >= 1 && error.column >= 1, "{error:?}");
                false
            }
        }
    }

    /// Validates a handler's return value given as JSON (any shape) into a response.
    pub fn response_from_json(json: &str) -> bool {
        RUNTIME
            .with(|slot| {
                let mut slot = slot.borrow_mut();
                if slot.is_none() {
                    let runtime = rquickjs::Runtime::new().ok()?;
                    let context = rquickjs::Context::full(&runtime).ok()?;
                    *slot = Some((runtime, context));
                }
                let (_, context) = slot.as_ref()?;
                Some(context.with(|ctx| {
                    let Ok(value) = ctx.json_parse(json) else {
                        return false;
                    };
                    crate::response::from_js(&value).is_ok()
                }))
            })
            .unwrap_or(false)
    }

    /// Reads a request with this `Content-Type` and body as a script would see it (query,
    /// url-encoded and multipart forms, uploaded files).
    pub fn request_body(content_type: &[u8], body: &[u8]) -> bool {
        let mut request = ferry_core::Request::new(ferry_core::Body::from(body.to_vec()));
        *request.method_mut() = http::Method::POST;
        if let Ok(value) = http::HeaderValue::from_bytes(content_type) {
            request
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, value);
        }
        TOKIO.with(|runtime| {
            runtime.as_ref().is_some_and(|runtime| {
                runtime
                    .block_on(crate::request::read(request, 1 << 20))
                    .is_ok()
            })
        })
    }
}
pub use error::{EngineError, ScriptError};
pub use limits::Limits;
pub use outbound::{FetchStyle, NetPolicy, NetRule, OutboundOptions};
pub use script::Script;
