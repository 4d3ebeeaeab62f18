//! Ferry nodes on one database tell each other what changed: LISTEN/NOTIFY on one channel,
//! each notification an envelope naming the node that sent it (so nobody applies its own
//! change twice) and its sequence number (so that two equal messages stay two: PostgreSQL
//! folds identical notifications of one transaction into one).
//!
//! - A stored script's change is announced in the transaction that makes it, so other
//!   nodes hear of it exactly when it is committed.
//! - Messages for other nodes' subscribers are queued and sent in order, in batches; one
//!   too large for a notification (PostgreSQL allows under 8,000 bytes) travels through the
//!   table `node_messages`, and the notification names its row.
//! - One connection of its own (not pooled) listens; when it breaks it is opened again, and
//!   the node is told to catch up on what it may have missed.
//! - Each node notes itself in `nodes` every few seconds, for the cluster's health page.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_postgres::{AsyncMessage, Notification};

use super::{PostgresStore, Shared};

/// The channel every node listens on.
pub(super) const CHANNEL: &str = "ferry_nodes";

/// The `application_name` of the listening connection.
pub(super) const LISTENER_NAME: &str = "ferry-listener";

/// The largest notification sent as it is; larger messages go through `node_messages`.
const LARGEST_NOTIFICATION: usize = 7_900;

/// How long a message kept in `node_messages` stays for the nodes to read.
const SPILL_LIFETIME_SECONDS: i64 = 60;

/// How often the listener checks its connection and the node notes itself.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Messages sent in one round trip at most.
const BATCH: usize = 256;

/// What another node said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The stored script `uri` changed (written or deleted: read it to know which).
    ScriptChanged(String),
    /// Notifications may have been missed (the listener started or reconnected): compare
    /// everything kept in memory with the database.
    CatchUp {
        /// Why, for the log.
        reason: &'static str,
    },
    /// A message another node published for its subscribers and everybody else's.
    Message(String),
}

/// One notification.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    node: String,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    script: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The row of `node_messages` holding the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spilled: Option<i64>,
    /// Something changed that the notification could not describe.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    catch_up: bool,
}

/// How the listener is doing, for the cluster's health page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerStatus {
    /// Whether it is listening now.
    pub connected: bool,
    /// Times it connected again after losing its connection.
    pub reconnects: u64,
    /// Notifications from other nodes received.
    pub received: u64,
    /// Why it last lost (or could not open) its connection.
    pub last_error: Option<String>,
}

/// A node that noted itself in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// Its id (random, per process).
    pub id: String,
    /// The machine it runs on.
    pub host: String,
    /// When it started, in seconds since the Unix epoch.
    pub started: i64,
    /// When it last noted itself, in seconds since the Unix epoch.
    pub last_seen: i64,
}

/// What a node keeps for talking to the others.
pub(super) struct Nodes {
    /// This node's id.
    pub id: String,
    sequence: AtomicU64,
    /// Messages waiting to be sent; the sender starts with the first.
    outbox: Mutex<Option<UnboundedSender<String>>>,
    pub listener: Mutex<ListenerStatus>,
    /// Whether somebody follows the other nodes already.
    following: Mutex<bool>,
}

impl Nodes {
    pub(super) fn new(id: String) -> Nodes {
        Nodes {
            id,
            sequence: AtomicU64::new(0),
            outbox: Mutex::new(None),
            listener: Mutex::new(ListenerStatus::default()),
            following: Mutex::new(false),
        }
    }

    fn envelope(&self) -> Envelope {
        Envelope {
            node: self.id.clone(),
            seq: self.sequence.fetch_add(1, Ordering::Relaxed),
            script: None,
            message: None,
            spilled: None,
            catch_up: false,
        }
    }

    /// The notification announcing a change of the stored script `uri`.
    pub(super) fn script_changed(&self, uri: &str) -> String {
        let mut envelope = self.envelope();
        envelope.script = Some(uri.to_owned());
        let text = to_text(&envelope);
        if text.len() <= LARGEST_NOTIFICATION {
            return text;
        }
        // A name too long to announce: the others compare everything.
        envelope.script = None;
        envelope.catch_up = true;
        to_text(&envelope)
    }
}

fn to_text(envelope: &Envelope) -> String {
    serde_json::to_string(envelope).unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PostgresStore {
    /// This node's id, as other nodes see it.
    pub fn node_id(&self) -> &str {
        &self.shared.nodes.id
    }

    /// Sends `message` to every other node on this database, after those sent before it
    /// (without waiting: it is queued). A message the database cannot take now is dropped
    /// and logged.
    pub fn broadcast(&self, message: String) {
        let mut outbox = lock(&self.shared.nodes.outbox);
        let sender = outbox.get_or_insert_with(|| {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            let weak = Arc::downgrade(&self.shared);
            self.spawn(send_messages(weak, receiver));
            sender
        });
        let _ = sender.send(message);
    }

    /// What the other nodes say, from now on: changed scripts, their messages, and when to
    /// catch up. The first call starts listening; later calls get `None` (one follower per
    /// store).
    pub fn follow(&self) -> Option<UnboundedReceiver<NodeEvent>> {
        let mut following = lock(&self.shared.nodes.following);
        if *following {
            return None;
        }
        *following = true;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let weak = Arc::downgrade(&self.shared);
        self.spawn(listen(weak, sender));
        Some(receiver)
    }

    /// How the listener is doing.
    pub fn listener_status(&self) -> ListenerStatus {
        lock(&self.shared.nodes.listener).clone()
    }

    /// The nodes that noted themselves within `within`, most recent first.
    pub fn nodes(&self, within: Duration) -> Result<Vec<NodeRecord>, crate::StoreError> {
        let since =
            crate::clock::unix_now() - i64::try_from(within.as_secs()).unwrap_or(i64::MAX / 2);
        self.connect().with(async |client| {
            client
                .query(
                    "SELECT id, host, started, last_seen FROM nodes WHERE last_seen >= $1
                     ORDER BY last_seen DESC, id",
                    &[&since],
                )
                .await?
                .iter()
                .map(|row| {
                    Ok(NodeRecord {
                        id: row.try_get(0)?,
                        host: row.try_get(1)?,
                        started: row.try_get(2)?,
                        last_seen: row.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    /// The pool's size now, the connections idle in it, and its most.
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let status = self.shared.pool.status();
        (status.size, status.available, status.max_size)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.shared.runtime.0 {
            runtime.spawn(task);
        }
    }
}

/// Sends queued messages in order, a batch per round trip.
async fn send_messages(shared: std::sync::Weak<Shared>, mut outbox: UnboundedReceiver<String>) {
    let mut failures = 0u64;
    while let Some(first) = outbox.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match outbox.try_recv() {
                Ok(message) => batch.push(message),
                Err(_) => break,
            }
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let store = PostgresStore { shared };
        match send_batch(&store, batch).await {
            Ok(()) => failures = 0,
            Err(error) => {
                failures += 1;
                // Once per outage, then every hundredth failure.
                if failures == 1 || failures.is_multiple_of(100) {
                    tracing::warn!(%error, failures, "messages for the other nodes were dropped");
                }
            }
        }
    }
}

async fn send_batch(store: &PostgresStore, batch: Vec<String>) -> Result<(), crate::StoreError> {
    let nodes = &store.shared.nodes;
    let mut client = store.client().await?;
    let result: Result<(), tokio_postgres::Error> = async {
        let transaction = client.transaction().await?;
        let mut notifications = Vec::with_capacity(batch.len());
        let mut spilled = false;
        for message in batch {
            let mut envelope = nodes.envelope();
            envelope.message = Some(message);
            let text = to_text(&envelope);
            if text.len() <= LARGEST_NOTIFICATION {
                notifications.push(text);
                continue;
            }
            let now = crate::clock::unix_now();
            let row = transaction
                .query_one(
                    "INSERT INTO node_messages (body, sent) VALUES ($1, $2) RETURNING id",
                    &[&envelope.message, &now],
                )
                .await?;
            envelope.message = None;
            envelope.spilled = Some(row.try_get(0)?);
            notifications.push(to_text(&envelope));
            spilled = true;
        }
        if spilled {
            let expired = crate::clock::unix_now() - SPILL_LIFETIME_SECONDS;
            transaction
                .execute("DELETE FROM node_messages WHERE sent < $1", &[&expired])
                .await?;
        }
        transaction
            .execute(
                "SELECT pg_notify($1, payload)
                 FROM unnest($2::text[]) WITH ORDINALITY AS batch (payload, position)
                 ORDER BY position",
                &[&CHANNEL, &notifications],
            )
            .await?;
        transaction.commit().await
    }
    .await;
    result.map_err(|error| store.error(error))
}

/// Listens for the other nodes until the store goes, connecting again whenever the
/// connection breaks, and notes this node in `nodes` on every heartbeat.
async fn listen(shared: std::sync::Weak<Shared>, events: UnboundedSender<NodeEvent>) {
    let mut pause = Duration::from_millis(100);
    let mut reason = "the listener started";
    loop {
        let Some(store) = shared.upgrade().map(|shared| PostgresStore { shared }) else {
            return;
        };
        if events.is_closed() {
            return;
        }
        let lost = listen_once(&store, &events, reason).await;
        {
            let mut status = lock(&store.shared.nodes.listener);
            if status.connected {
                status.reconnects += 1;
                pause = Duration::from_millis(100);
            }
            status.connected = false;
            status.last_error = Some(lost.clone());
        }
        tracing::warn!(database = %store.describe(), reason = %lost, "not listening to the other nodes; trying again");
        drop(store);
        reason = "the listener reconnected";
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One connection's worth of listening; returns why it ended.
async fn listen_once(
    store: &PostgresStore,
    events: &UnboundedSender<NodeEvent>,
    reason: &'static str,
) -> String {
    let shared = &store.shared;
    let mut config = shared.target.config.clone();
    // Told apart from the pool's connections in pg_stat_activity.
    config.application_name(LISTENER_NAME);
    let (client, mut connection) = match config.connect(shared.target.tls.clone()).await {
        Ok(opened) => opened,
        Err(error) => return error.to_string(),
    };
    let (notes, mut received) = tokio::sync::mpsc::unbounded_channel::<Notification>();
    let driver = tokio::spawn(async move {
        std::future::poll_fn(|cx| {
            loop {
                match connection.poll_message(cx) {
                    std::task::Poll::Ready(Some(Ok(AsyncMessage::Notification(note)))) => {
                        let _ = notes.send(note);
                    }
                    std::task::Poll::Ready(Some(Ok(_))) => {}
                    std::task::Poll::Ready(Some(Err(error))) => {
                        return std::task::Poll::Ready(error.to_string());
                    }
                    std::task::Poll::Ready(None) => {
                        return std::task::Poll::Ready("the connection closed".to_owned());
                    }
                    std::task::Poll::Pending => return std::task::Poll::Pending,
                }
            }
        })
        .await
    });
    if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        driver.abort();
        return error.to_string();
    }
    {
        let mut status = lock(&shared.nodes.listener);
        status.connected = true;
        status.last_error = None;
    }
    // Listening now: whatever changed before is in the database to compare with.
    let _ = events.send(NodeEvent::CatchUp { reason });
    note_node(store).await;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            note = received.recv() => {
                let Some(note) = note else { break };
                if !deliver(store, events, note.payload()).await {
                    driver.abort();
                    return "nobody follows the other nodes any more".to_owned();
                }
            }
            _ = heartbeat.tick() => {
                let alive = tokio::time::timeout(HEARTBEAT, client.simple_query("SELECT 1")).await;
                if !matches!(alive, Ok(Ok(_))) {
                    driver.abort();
                    return "the listening connection stopped answering".to_owned();
                }
                note_node(store).await;
            }
        }
    }
    match driver.await {
        Ok(why) => why,
        Err(_) => "the listening connection's task ended".to_owned(),
    }
}

/// Hands one notification to the follower; `false` when nobody follows any more.
async fn deliver(
    store: &PostgresStore,
    events: &UnboundedSender<NodeEvent>,
    payload: &str,
) -> bool {
    let Ok(envelope) = serde_json::from_str::<Envelope>(payload) else {
        tracing::warn!("a notification on {CHANNEL} that no Ferry sent was ignored");
        return true;
    };
    if envelope.node == store.shared.nodes.id {
        return true;
    }
    lock(&store.shared.nodes.listener).received += 1;
    let event = if let Some(uri) = envelope.script {
        NodeEvent::ScriptChanged(uri)
    } else if envelope.catch_up {
        NodeEvent::CatchUp {
            reason: "another node made a change too large to announce",
        }
    } else if let Some(message) = envelope.message {
        NodeEvent::Message(message)
    } else if let Some(id) = envelope.spilled {
        match read_spilled(store, id).await {
            Ok(Some(message)) => NodeEvent::Message(message),
            Ok(None) => {
                tracing::warn!(
                    id,
                    "a large message from another node expired before it was read"
                );
                return true;
            }
            Err(error) => {
                tracing::warn!(%error, id, "a large message from another node could not be read");
                return true;
            }
        }
    } else {
        return true;
    };
    events.send(event).is_ok()
}

async fn read_spilled(store: &PostgresStore, id: i64) -> Result<Option<String>, crate::StoreError> {
    let client = store.client().await?;
    let row = client
        .query_opt("SELECT body FROM node_messages WHERE id = $1", &[&id])
        .await
        .map_err(|error| store.error(error))?;
    row.map(|row| row.try_get(0))
        .transpose()
        .map_err(|error| store.error(error))
}

/// Notes this node in `nodes` (a failure only costs the health page a line).
async fn note_node(store: &PostgresStore) {
    let now = crate::clock::unix_now();
    let host = hostname();
    let noted: Result<(), crate::StoreError> = async {
        let client = store.client().await?;
        client
            .execute(
                "INSERT INTO nodes (id, host, started, last_seen) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                &[&store.shared.nodes.id, &host, &now],
            )
            .await
            .map_err(|error| store.error(error))?;
        client
            .execute("DELETE FROM nodes WHERE last_seen < $1", &[&(now - 86_400)])
            .await
            .map_err(|error| store.error(error))?;
        Ok(())
    }
    .await;
    if let Err(error) = noted {
        tracing::debug!(%error, "this node could not note itself");
    }
}

/// This machine's name, as the kernel has it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_messages_stay_apart_and_long_script_names_ask_for_a_catch_up() {
        let nodes = Nodes::new("n1".into());
        let first = nodes.script_changed("a.js");
        let second = nodes.script_changed("a.js");
        assert_ne!(first, second, "the sequence tells them apart");
        let envelope: Envelope = serde_json::from_str(&first).unwrap();
        assert_eq!(envelope.script.as_deref(), Some("a.js"));
        let long = nodes.script_changed(&"x".repeat(10_000));
        assert!(long.len() < LARGEST_NOTIFICATION);
        let envelope: Envelope = serde_json::from_str(&long).unwrap();
        assert!(envelope.catch_up && envelope.script.is_none());
    }
}
