//! Messages between scripts: `BroadcastChannel` (every channel of a name, in every script
//! and worker) and aiwebengine's `dispatcher` (each script's listener for a message type,
//! once per node). Bindings hand messages to the engine's message task, which delivers them
//! on this node and sends them to the other nodes on the database, which deliver them too.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::engine::WeakEngine;
use crate::job::{CallInput, Control};
use crate::registration::RouteKind;

/// A message a script sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Message {
    /// `new BroadcastChannel(name).postMessage(data)`, from the channel `sender`.
    Channel {
        name: Arc<str>,
        data: Arc<str>,
        sender: Option<Arc<str>>,
    },
    /// `dispatcher.sendMessage(kind, data)`.
    Dispatch { kind: String, data: String },
}

/// Where bindings send messages. Cloning gives another handle to the same task.
#[derive(Debug, Clone)]
pub(crate) struct MessageBus(mpsc::UnboundedSender<Message>);

impl MessageBus {
    /// A bus, and the end the engine's message task reads.
    pub(crate) fn new() -> (MessageBus, mpsc::UnboundedReceiver<Message>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (MessageBus(sender), receiver)
    }

    /// Sends `message` on its way (dropped once the engine has stopped).
    pub(crate) fn send(&self, message: Message) {
        let _ = self.0.send(message);
    }
}

/// Delivers what scripts send, on this node and to the other nodes, until the engine stops.
pub(crate) fn start(engine: WeakEngine, mut messages: mpsc::UnboundedReceiver<Message>) {
    tokio::spawn(async move {
        while let Some(message) = messages.recv().await {
            let Some(engine) = engine.upgrade() else {
                break;
            };
            crate::cluster::tell_other_nodes(engine.store(), || match &message {
                // The sender is a channel of this node: the other nodes deliver to all.
                Message::Channel { name, data, .. } => {
                    crate::cluster::Broadcast::Message(Message::Channel {
                        name: name.clone(),
                        data: data.clone(),
                        sender: None,
                    })
                }
                Message::Dispatch { .. } => crate::cluster::Broadcast::Message(message.clone()),
            });
            deliver(&engine, message);
        }
    });
}

/// Delivers `message` on this node: to every worker's channels of its name, or to each
/// script's dispatcher listener for its type (once, on some worker).
pub(crate) fn deliver(engine: &crate::Engine, message: Message) {
    match message {
        Message::Channel { name, data, sender } => engine.tell_workers(|| Control::Channel {
            name: name.clone(),
            data: data.clone(),
            sender: sender.clone(),
        }),
        Message::Dispatch { kind, data } => {
            let input = format!(
                "{{\"type\":{},\"data\":{data}}}",
                serde_json::Value::String(kind.clone())
            );
            for call in engine.handlers(RouteKind::Listener, &format!("listener {kind}"), None) {
                let input = input.clone();
                let kind = kind.clone();
                tokio::spawn(async move {
                    let outcome = call
                        .run(CallInput::Json {
                            input,
                            caller: None,
                        })
                        .await;
                    if let Err(error) = outcome {
                        tracing::warn!(message = %kind, %error, "a dispatcher listener failed");
                    }
                });
            }
        }
    }
}
