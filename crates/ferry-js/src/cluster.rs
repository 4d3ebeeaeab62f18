//! Several Ferry nodes on one PostgreSQL database. What a script publishes — a
//! Server-Sent Events message, a WebSocket broadcast, a GraphQL subscription message —
//! reaches the subscribers of every node, its filter applied on each; a script uploaded or
//! deleted on one node is loaded (or removed) on all. The database carries both
//! (`ferry_store::NodeEvent`); this module turns them into the engine's changes.
//!
//! An asset changed on one node is read again by the asset routes of all.
//!
//! When the listener starts or reconnects, notifications may have been missed: the node
//! compares every stored script with the version it runs and catches up (and reads every
//! asset again), and says so in the log. Messages sent while a node was not listening are not replayed (they are
//! transient, as on one node for a client that was not connected).

use std::collections::BTreeSet;
use std::sync::Arc;

use ferry_core::sse::Filter;
use ferry_store::{NodeEvent, ScriptRepository, StoreError, StoredScript};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{Engine, Script, WeakEngine};

/// A message for the subscribers of the other nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub(crate) enum Broadcast {
    /// `sendStreamMessage…`: the stream at `path`, or every stream.
    Stream {
        path: Option<String>,
        data: String,
        filter: Option<FilterSpec>,
    },
    /// `sendWebSocketMessage…` and `socket.broadcast`: the sockets at `path`.
    Socket {
        path: String,
        /// Text, or binary data as one character per byte.
        data: String,
        binary: bool,
        filter: Option<FilterSpec>,
    },
    /// `sendSubscriptionMessage…`: the subscribers of the GraphQL field `name`.
    Subscription {
        name: String,
        value: serde_json::Value,
        filter: Option<FilterSpec>,
    },
    /// `script`'s asset `name` changed or went: asset routes read it again.
    Asset { script: String, name: String },
    /// A `BroadcastChannel` or `dispatcher` message.
    Message(crate::messages::Message),
}

/// A filter as the script gave it, for each node to apply to its own subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FilterSpec {
    /// The metadata keys and values, as JSON.
    pub json: String,
    /// `subset` or `overlap`.
    pub mode: Option<String>,
}

impl FilterSpec {
    /// The filter a script gave as `json` and `mode`, if any.
    pub(crate) fn of(json: Option<&str>, mode: Option<&str>) -> Option<FilterSpec> {
        json.map(|json| FilterSpec {
            json: json.to_owned(),
            mode: mode.map(str::to_owned),
        })
    }

    fn filter(&self) -> Option<Filter> {
        crate::bindings::parse_filter(&self.json, self.mode.as_deref()).ok()
    }
}

impl Engine {
    /// Follows the other nodes sharing this engine's database: from now on their scripts'
    /// messages reach this node's subscribers, and scripts they upload or delete are loaded
    /// or removed here. `uploaded` names the stored scripts this node loaded at start.
    /// Returns whether there are other nodes to follow (not on an embedded database).
    pub fn follow_other_nodes(&self, uploaded: impl IntoIterator<Item = Arc<str>>) -> bool {
        let Some(events) = self.store().and_then(ferry_store::Store::follow) else {
            return false;
        };
        let known = uploaded.into_iter().collect();
        tokio::spawn(follow(self.downgrade(), events, known));
        true
    }
}

/// Sends `broadcast` (made only when needed) to the other nodes sharing `store`, if any.
pub(crate) fn tell_other_nodes(
    store: Option<&ferry_store::Store>,
    broadcast: impl FnOnce() -> Broadcast,
) {
    let Some(store) = store.filter(|store| store.is_shared()) else {
        return;
    };
    match serde_json::to_string(&broadcast()) {
        Ok(text) => store.broadcast(text),
        Err(error) => tracing::warn!(%error, "a message could not be sent to the other nodes"),
    }
}

/// Applies what the other nodes say until the engine or the store goes.
async fn follow(
    engine: WeakEngine,
    mut events: UnboundedReceiver<NodeEvent>,
    mut known: BTreeSet<Arc<str>>,
) {
    while let Some(event) = events.recv().await {
        let Some(engine) = engine.upgrade() else {
            return;
        };
        match event {
            NodeEvent::Message(text) => deliver(&engine, &text),
            NodeEvent::ScriptChanged(uri) => {
                if let Err(error) = apply(&engine, &uri, &mut known).await {
                    tracing::warn!(script = %uri, %error, "a script changed on another node could not be applied here");
                }
            }
            NodeEvent::CatchUp { reason } => {
                engine.asset_cache().forget_all();
                if let Err(error) = catch_up(&engine, &mut known, reason).await {
                    tracing::warn!(%error, "cannot compare the stored scripts with the running ones");
                }
            }
        }
    }
}

/// Hands another node's message to this node's subscribers.
fn deliver(engine: &Engine, text: &str) {
    let broadcast = match serde_json::from_str::<Broadcast>(text) {
        Ok(broadcast) => broadcast,
        Err(error) => {
            tracing::warn!(%error, "a message from another node was not understood (a different Ferry version?)");
            return;
        }
    };
    match broadcast {
        Broadcast::Stream { path, data, filter } => {
            let filter = filter.as_ref().and_then(FilterSpec::filter);
            match path {
                Some(path) => {
                    engine.streams().publish(&path, &data, filter.as_ref());
                }
                None => {
                    engine.streams().publish_everywhere(&data, filter.as_ref());
                }
            }
        }
        Broadcast::Socket {
            path,
            data,
            binary,
            filter,
        } => {
            let filter = filter.as_ref().and_then(FilterSpec::filter);
            let message = crate::bindings::socket_message(data, binary);
            engine
                .sockets()
                .publish(&path, &message, filter.as_ref(), None);
        }
        Broadcast::Subscription {
            name,
            value,
            filter,
        } => {
            let filter = filter.as_ref().and_then(FilterSpec::filter);
            engine.graphql().publish(&name, value, filter);
        }
        Broadcast::Asset { script, name } => engine.asset_cache().forget(&script, &name),
        Broadcast::Message(message) => crate::messages::deliver(engine, message),
    }
}

/// Runs `operation` on a store connection, off the async threads.
async fn with_store<T: Send + 'static>(
    engine: &Engine,
    operation: impl FnOnce(&mut ferry_store::StoreConnection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    engine
        .with_store(operation)
        .await
        .map_err(|error| error.to_string())
}

/// Loads the stored version of `uri` (or removes the script if it is no longer stored).
async fn apply(engine: &Engine, uri: &str, known: &mut BTreeSet<Arc<str>>) -> Result<(), String> {
    let key = uri.to_owned();
    let stored = with_store(engine, move |store| store.read_script(&key)).await?;
    match stored {
        Some(stored) => {
            known.insert(Arc::from(uri));
            if load_if_changed(engine, stored).await? {
                tracing::info!(script = %uri, "loaded the version another node stored");
            }
        }
        None => {
            if known.remove(uri)
                && engine
                    .remove(uri)
                    .await
                    .map_err(|error| error.to_string())?
            {
                tracing::info!(script = %uri, "removed: another node deleted it");
            }
        }
    }
    Ok(())
}

/// Loads `stored` unless it is the version running; says whether it loaded.
async fn load_if_changed(engine: &Engine, stored: StoredScript) -> Result<bool, String> {
    let running = engine
        .script(&stored.uri)
        .is_some_and(|script| **script.source() == *stored.content);
    if running {
        return Ok(false);
    }
    engine
        .load(Script::new(stored.uri, stored.content))
        .await
        .map(|_| true)
        .map_err(|error| error.to_string())
}

/// Compares every stored script with the running one: loads those that changed and
/// removes those deleted while this node was not listening.
async fn catch_up(
    engine: &Engine,
    known: &mut BTreeSet<Arc<str>>,
    reason: &'static str,
) -> Result<(), String> {
    let stored = with_store(engine, |store| store.list_scripts()).await?;
    let listed: BTreeSet<Arc<str>> = stored
        .iter()
        .map(|script| Arc::from(script.uri.as_str()))
        .collect();
    let mut changed = 0;
    for script in stored {
        let uri = script.uri.clone();
        match load_if_changed(engine, script).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(script = %uri, %error, "the stored version does not load here");
            }
        }
    }
    let mut removed = 0;
    for gone in known.difference(&listed) {
        if engine.remove(gone).await.unwrap_or(false) {
            removed += 1;
        }
    }
    *known = listed;
    if changed + removed > 0 {
        tracing::info!(
            changed,
            removed,
            "caught up with the other nodes ({reason}): {changed} scripts changed and {removed} removed while this node was not listening"
        );
    } else {
        tracing::debug!("caught up with the other nodes ({reason}): nothing had changed");
    }
    Ok(())
}

/// What `/engine/health/cluster` reports about `store`: the database (reached, and how
/// fast), and on PostgreSQL this node's id, pool and listener, and the nodes seen in the
/// last minute. Blocks.
pub(crate) fn health(store: &ferry_store::Store) -> serde_json::Value {
    let mut database = database_health(store);
    if let Some(fields) = database.as_object_mut() {
        fields.insert("url".into(), store.describe().into());
    }
    let ferry_store::Store::Postgres(shared) = store else {
        return serde_json::json!({ "backend": "sqlite", "database": database, "nodes": [] });
    };
    let (size, idle, max) = shared.pool_status();
    let listener = shared.listener_status();
    let nodes = match shared.nodes(std::time::Duration::from_secs(60)) {
        Ok(nodes) => nodes
            .into_iter()
            .map(|node| {
                serde_json::json!({
                    "id": node.id,
                    "host": node.host,
                    "started": node.started,
                    "last_seen": node.last_seen,
                    "this": node.id == shared.node_id(),
                })
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    serde_json::json!({
        "backend": "postgres",
        "node": shared.node_id(),
        "database": database,
        "pool": { "connections": size, "idle": idle, "max": max },
        "listener": {
            "connected": listener.connected,
            "reconnects": listener.reconnects,
            "received": listener.received,
            "last_error": listener.last_error,
        },
        "nodes": nodes,
    })
}

/// What `/health` says of `store`: `up` (and how fast it answered) or `unreachable` (and
/// why, without the password). Blocks.
pub fn database_health(store: &ferry_store::Store) -> serde_json::Value {
    match store.ping() {
        Ok(took) => serde_json::json!({
            "status": "up",
            "answered_ms": took.as_secs_f64() * 1000.0,
        }),
        Err(error) => serde_json::json!({
            "status": "unreachable",
            "error": error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_keep_their_filters_and_binary_data_through_json() {
        let broadcast = Broadcast::Socket {
            path: "/ws".into(),
            data: "\u{0}\u{ff}".into(),
            binary: true,
            filter: FilterSpec::of(Some(r#"{"room":"5"}"#), Some("overlap")),
        };
        let text = serde_json::to_string(&broadcast).unwrap();
        assert_eq!(serde_json::from_str::<Broadcast>(&text).unwrap(), broadcast);
        let Broadcast::Socket { filter, .. } = broadcast else {
            unreachable!()
        };
        assert!(filter.unwrap().filter().is_some());
    }
}
