//! Ferry's JavaScript application engine: the part of `ferry run` that runs scripts.
//!
//! Scripts are plain JavaScript files that register routes (`register("/hello", handler)`)
//! and answer requests; their API follows aiwebengine's, so scripts written for it run here
//! unchanged. Unlike an engine that builds a fresh interpreter per request, Ferry keeps a
//! pool of warm QuickJS runtimes:
//!
//! - [`Engine`] owns the workers (one per core by default). Each worker owns one QuickJS
//!   runtime with a context per script, every script evaluated once and its `init()` run.
//!   In the default [`WorkerModel::Pool`] the workers are threads of their own and requests
//!   reach them through one bounded queue (replies go back in bursts, one wake-up each);
//!   when the queue is full the client gets 503 with `Retry-After` instead of waiting in
//!   unbounded memory. [`WorkerModel::PerThread`] instead attaches a worker to each server
//!   thread ([`Engine::attach_worker`]), which runs the scripts of its own requests.
//! - Every runtime is sandboxed by [`Limits`]: memory, stack, time per call (stopped by the
//!   interpreter's interrupt handler: the client gets 504), script size and request body
//!   size. A runaway script costs its own request only; the worker recovers, rebuilding its
//!   runtime when it must.
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

mod bindings;
mod call_js;
mod engine;
mod error;
mod handler;
mod handoff;
mod limits;
pub mod management;
mod pool;
mod request;
mod response;
mod script;
mod sockets;
mod stream;
pub mod watch;
mod worker;

pub use engine::{Engine, EngineOptions, LoadedScript, WorkerModel};
pub use error::{EngineError, ScriptError};
pub use limits::Limits;
pub use script::Script;
