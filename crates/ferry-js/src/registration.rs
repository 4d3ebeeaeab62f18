//! What a script registered: a route, a stream, a WebSocket, a GraphQL field or an MCP
//! entry, with its handler's position in the script's list.

use ferry_graphql::RootKind;
use http::Method;

/// One route a script registered; its position in the script's list is its handler's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    pub pattern: String,
    pub method: Method,
    /// The handler function's name (or the global name it was registered by), for logs.
    pub handler: String,
    pub kind: RouteKind,
    /// A GraphQL field's SDL, or an MCP entry's definition as JSON (empty for other kinds).
    pub definition: String,
    /// Whether the route keeps the identity of state-changing requests from other sites
    /// that only the session cookie vouches for (`{ allowCrossSite: true }`; an HTTP route's
    /// choice, for webhooks and forms posted from elsewhere).
    pub cross_site: bool,
}

impl Registration {
    /// Whether two workers loading one script registered the same things. A job's
    /// schedule may differ between them (a time computed from `Date.now()` at load): the
    /// first worker's counts.
    pub(crate) fn same_on_every_worker(first: &[Registration], other: &[Registration]) -> bool {
        first.len() == other.len()
            && first.iter().zip(other).all(|(a, b)| {
                if a.kind == RouteKind::Job && b.kind == RouteKind::Job {
                    a.pattern == b.pattern && a.handler == b.handler
                } else {
                    a == b
                }
            })
    }
}

/// What a registered route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// The handler's response.
    Http,
    /// A Server-Sent Events stream; with `customized`, the handler is the stream's
    /// customizer, which returns each connection's metadata.
    Stream { customized: bool },
    /// A WebSocket endpoint; the handler is the object of its `open`, `message` and
    /// `close` functions.
    WebSocket,
    /// A GraphQL root field; the handler is its resolver. The registration's `pattern` is
    /// `"<kind> <name>"` and `definition` its SDL.
    GraphQl(RootKind),
    /// An MCP tool, resource or prompt; the handler answers it. The `pattern` is
    /// `"<kind> <name or URI>"` and `definition` the rest of it as JSON.
    Mcp(McpKind),
    /// One of the script's assets, served by Ferry (no handler runs); `definition` is the
    /// asset's name.
    Asset,
    /// A scheduled job (`schedulerService`); the handler runs when it is due. The
    /// `pattern` is `"job <name>"` and `definition` the schedule as JSON.
    Job,
    /// A `dispatcher` listener; the handler gets the messages of its type. The `pattern`
    /// is `"listener <type>"`.
    Listener,
}

/// What an MCP registration offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum McpKind {
    Tool,
    Resource,
    Prompt,
}

impl McpKind {
    /// Its name in patterns, labels and `context.kind`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            McpKind::Tool => "tool",
            McpKind::Resource => "resource",
            McpKind::Prompt => "prompt",
        }
    }
}
