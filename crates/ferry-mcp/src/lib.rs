//! Ferry's MCP server, built on the official `rmcp` SDK: tools, resources and prompts
//! registered at run time (by scripts, or Rust code) and served over Streamable HTTP at
//! `/mcp` ([`Mcp::handler`]) or over stdio ([`Mcp::serve_stdio`]).
//!
//! What is offered is one [`Registry`], replaced whole when registrations change; connected
//! clients then receive `notifications/{tools,resources,prompts}/list_changed`. A tool's
//! arguments are checked against its input schema before its callback runs.

mod http_endpoint;
mod registry;
mod schema;
mod server;
mod template;

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use rmcp::service::Peer;
use rmcp::{RoleServer, ServiceExt};

pub use http_endpoint::McpHandler;
pub use registry::{
    Callback, Completion, PromptArgumentEntry, PromptEntry, Registry, ResourceEntry, ToolEntry,
};

/// How the HTTP endpoint guards itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpOptions {
    /// When set, every request needs `Authorization: Bearer <token>` (or the gate's
    /// admission).
    pub token: Option<String>,
    /// When set, a request the gate admits (a signed-in user) may use the endpoint too, and
    /// every other request — the static token's holder aside — gets 401 with the gate's
    /// challenge (where MCP clients learn how to sign in).
    pub gate: Option<McpGate>,
    /// `Host` values accepted besides the loopback names (DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted besides `http(s)://localhost` and `127.0.0.1` on any port;
    /// requests from other origins are refused (requests without `Origin` are not browsers').
    pub allowed_origins: Vec<String>,
}

/// A sign-in system's say at the MCP endpoint: whether a request may use it, and the
/// `WWW-Authenticate` challenge of a 401 for one that may not.
#[derive(Clone)]
pub struct McpGate {
    admits: Arc<dyn Fn(&ferry_core::Request) -> bool + Send + Sync>,
    challenge: Arc<dyn Fn(&ferry_core::Request) -> http::HeaderValue + Send + Sync>,
}

impl McpGate {
    /// A gate that lets in what `admits` admits and challenges the rest with `challenge`.
    pub fn new(
        admits: impl Fn(&ferry_core::Request) -> bool + Send + Sync + 'static,
        challenge: impl Fn(&ferry_core::Request) -> http::HeaderValue + Send + Sync + 'static,
    ) -> Self {
        McpGate {
            admits: Arc::new(admits),
            challenge: Arc::new(challenge),
        }
    }

    pub(crate) fn admits(&self, request: &ferry_core::Request) -> bool {
        (self.admits)(request)
    }

    pub(crate) fn challenge(&self, request: &ferry_core::Request) -> http::HeaderValue {
        (self.challenge)(request)
    }
}

impl std::fmt::Debug for McpGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("McpGate(..)")
    }
}

impl PartialEq for McpGate {
    /// The same gate (a clone), not one that behaves alike.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.admits, &other.admits)
    }
}

impl Eq for McpGate {}

/// An MCP server's shared state. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct Mcp {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub registry: ArcSwap<Registry>,
    peers: Mutex<Vec<Peer<RoleServer>>>,
    pub options: McpOptions,
}

impl std::fmt::Debug for Mcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registry = self.inner.registry.load();
        f.debug_struct("Mcp")
            .field("tools", &registry.tools.len())
            .field("resources", &registry.resources.len())
            .field("prompts", &registry.prompts.len())
            .finish()
    }
}

impl Mcp {
    /// A server offering nothing yet.
    pub fn new(options: McpOptions) -> Self {
        Mcp {
            inner: Arc::new(Inner {
                registry: ArcSwap::from_pointee(Registry::default()),
                peers: Mutex::new(Vec::new()),
                options,
            }),
        }
    }

    /// Whether anything is offered.
    pub fn is_active(&self) -> bool {
        !self.inner.registry.load().is_empty()
    }

    /// Swaps `registry` in (after [`Registry::check`]) and tells connected clients the
    /// lists changed.
    pub fn replace(&self, registry: Registry) -> Result<(), String> {
        registry.check()?;
        self.inner.registry.store(Arc::new(registry));
        let peers: Vec<Peer<RoleServer>> = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if peers.is_empty() {
            return Ok(());
        }
        // Without a runtime (a registry set up front) there is nobody to tell yet.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Ok(());
        };
        let inner = self.inner.clone();
        runtime.spawn(async move {
            for peer in &peers {
                // A peer that went away fails here and is forgotten below.
                let _ = peer.notify_tool_list_changed().await;
                let _ = peer.notify_resource_list_changed().await;
                let _ = peer.notify_prompt_list_changed().await;
            }
            inner
                .peers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|peer| !peer.is_transport_closed());
        });
        Ok(())
    }

    pub(crate) fn remember(&self, peer: Peer<RoleServer>) {
        let mut peers = self
            .inner
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        peers.retain(|known| !known.is_transport_closed());
        peers.push(peer);
    }

    /// The handler of `/mcp` (route GET, POST and DELETE to it): Streamable HTTP.
    pub fn handler(&self) -> McpHandler {
        McpHandler::new(self.clone())
    }

    /// Serves MCP over this process's stdin and stdout until the client leaves.
    pub async fn serve_stdio(&self) -> Result<(), String> {
        let server = server::Server { mcp: self.clone() };
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|error| error.to_string())?;
        running.waiting().await.map_err(|error| error.to_string())?;
        Ok(())
    }
}
