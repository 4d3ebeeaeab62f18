//! What every worker is configured with: the limits and the engine's shared parts.

use std::sync::Arc;

use ferry_core::sse::StreamHub;
use ferry_store::Store;

use crate::handoff::Completions;
use crate::limits::Limits;
use crate::script_set::ScriptSet;
use crate::socket_hub::SocketHub;

/// What every worker is configured with.
pub(crate) struct WorkerSettings {
    pub limits: Limits,
    pub dev: bool,
    pub store: Option<Store>,
    /// The key `secretStorage` seals values with.
    pub secret_key: Option<Arc<ferry_store::SecretKey>>,
    /// The engine's Server-Sent Events streams.
    pub streams: StreamHub,
    /// The engine's open WebSockets.
    pub sockets: SocketHub,
    /// The engine's GraphQL endpoint (for publishing to subscribers, and `executeGraphQL`).
    pub graphql: ferry_graphql::GraphQl,
    /// The async runtime the engine started on, for work scripts start (`executeGraphQL`).
    pub runtime: tokio::runtime::Handle,
    /// Where pool workers hand their replies over (None: reply directly).
    pub completions: Option<Arc<Completions>>,
    /// The running scripts, which a replacement worker loads.
    pub scripts: ScriptSet,
    /// The assets asset routes serve (`assetStorage` drops what it changes).
    pub assets: crate::asset_routes::AssetCache,
    /// The client scripts' `fetch` sends with, or why there is none.
    pub outbound: Result<crate::outbound::Outbound, String>,
    /// Where `BroadcastChannel` and `dispatcher` messages go.
    pub messages: crate::messages::MessageBus,
    /// The apps' files modules may import, and which scripts imported which.
    pub files: crate::modules::AppFiles,
}
