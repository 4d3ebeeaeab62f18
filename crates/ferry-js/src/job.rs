//! The messages of the engine: what a call for a worker carries (a request, a socket
//! event, JSON for a resolver), where its answer goes, and the script changes every worker
//! applies. A leaf: the pool, the workers, the routes and the bindings all speak it.

use std::sync::Arc;

use ferry_core::Response;
use tokio::sync::oneshot;

use crate::error::ScriptError;
use crate::registration::Registration;
use crate::request::ScriptRequest;
use crate::script::Script;

/// Which handler a request is for: the script, the version of it that registered the route,
/// and the handler's position in that version's registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteKey {
    pub script: Arc<str>,
    pub version: u64,
    pub index: usize,
}

/// A call for a worker (a request, or a GraphQL resolver's arguments), and where its answer
/// goes.
pub(crate) struct HttpJob {
    pub route: RouteKey,
    pub input: CallInput,
    pub reply: oneshot::Sender<Response>,
}

/// What a call hands its handler.
// Requests are nearly every call, and the input is moved once, into the worker's queue:
// boxing the large variant would cost an allocation per request to save a copy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum CallInput {
    /// A request, as `context` (route handlers and stream customizers).
    Http(ScriptRequest),
    /// An event of the WebSocket `socket`.
    Socket { socket: u64, event: SocketEvent },
    /// A JSON input as text: a GraphQL resolver's arguments, an MCP call's input; with the
    /// signed-in user who made the call, if any.
    Json {
        input: String,
        caller: Option<Arc<ferry_auth::User>>,
    },
    /// A request for suggestions for a prompt argument (MCP `completion/complete`), as
    /// JSON text of `{ argument, partial, arguments }`; with the caller, if signed in.
    Completion {
        input: String,
        caller: Option<Arc<ferry_auth::User>>,
    },
}

impl CallInput {
    /// The id log lines carry: the request's, or the socket's.
    pub(crate) fn log_id(&self) -> Arc<str> {
        match self {
            CallInput::Http(request) => request.request_id.clone(),
            CallInput::Socket {
                event: SocketEvent::Open(request),
                ..
            } => request.request_id.clone(),
            CallInput::Socket { socket, .. } => format!("ws-{socket}").into(),
            CallInput::Json { .. } | CallInput::Completion { .. } => "json".into(),
        }
    }
}

/// An event of a WebSocket connection for the worker that owns the socket (a socket's
/// events all go to one worker, in order, so its JavaScript state lives in one place).
pub(crate) struct SocketJob {
    pub route: RouteKey,
    pub socket: u64,
    pub event: SocketEvent,
    pub reply: oneshot::Sender<Response>,
}

/// What happened on a WebSocket connection.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    /// The connection opened, by this upgrade request (boxed: the other events are small).
    Open(Box<ScriptRequest>),
    /// A text message arrived.
    Text(String),
    /// A binary message arrived.
    Binary(bytes::Bytes),
    /// The connection closed, with this close code and reason.
    Close { code: u16, reason: String },
}

/// A change every worker applies, in the order sent (or, for a socket event, a message for
/// one worker).
pub(crate) enum Control {
    /// Evaluate `script` as `version` beside the running version and report its routes.
    Prepare {
        script: Script,
        version: u64,
        reply: oneshot::Sender<Result<Vec<Registration>, ScriptError>>,
    },
    /// Make the prepared `version` of `script` the running one (a worker that did not
    /// prepare it, having replaced one that did, loads it now).
    Commit { script: Script, version: u64 },
    /// Drop the prepared `version` of `name`.
    Abort { name: Arc<str>, version: u64 },
    /// Unload the script `name`.
    Remove { name: Arc<str> },
    /// Run the tests of the test file `script` as the throwaway `version` (those whose
    /// names contain `filter`), everything it writes rolled back.
    Test {
        script: Script,
        version: u64,
        filter: Option<String>,
        reply: oneshot::Sender<Result<crate::testing::TestReport, ScriptError>>,
    },
    /// Run a WebSocket handler (boxed: the event carries a whole request).
    Socket(Box<SocketJob>),
    /// Settle the promise of a host call (`executeGraphQL`, a statement of `db` on
    /// PostgreSQL) of `script` `version` with its result: JSON text, or why it failed.
    Settle {
        script: Arc<str>,
        version: u64,
        id: u32,
        result: Result<String, HostCallError>,
    },
    /// A `BroadcastChannel` message (JSON text) for the channels called `name` in every
    /// script, except the channel `sender` that posted it (on this node).
    Channel {
        name: Arc<str>,
        data: Arc<str>,
        sender: Option<Arc<str>>,
    },
}

/// Why a host call failed: its message, and the status it answers when the script does not
/// catch it (503 for a database that cannot be reached now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostCallError {
    pub message: String,
    pub status: Option<u16>,
}

/// How a worker's bindings send a [`Control`] to their own worker (to settle a promise
/// when work done elsewhere finishes).
pub(crate) type ToSelf = Arc<dyn Fn(Control) + Send + Sync>;
