//! Subscription fields: each subscriber's resolver names its metadata (or its arguments do),
//! then it receives the messages published to the field's name that its metadata lets
//! through, until it leaves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ferry_core::sse::{Filter, Metadata};
use tokio::sync::broadcast;

/// Messages one subscriber may fall behind by before it is ended (it would otherwise miss
/// messages silently).
const BACKLOG: usize = 256;

/// One published message.
#[derive(Debug)]
pub(crate) struct Published {
    pub value: serde_json::Value,
    pub filter: Option<Filter>,
}

/// Publication channels by subscription field name.
#[derive(Debug, Default)]
pub(crate) struct SubscriptionHub {
    channels: Mutex<HashMap<String, broadcast::Sender<Arc<Published>>>>,
}

impl SubscriptionHub {
    fn channel(&self, name: &str) -> broadcast::Sender<Arc<Published>> {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_owned())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .clone()
    }

    /// A receiver of the messages published to `name` from now on.
    pub(crate) fn subscribe(&self, name: &str) -> broadcast::Receiver<Arc<Published>> {
        self.channel(name).subscribe()
    }

    /// Publishes `value` to the subscribers of `name` (those `filter` lets through);
    /// returns how many subscribers there are.
    pub(crate) fn publish(
        &self,
        name: &str,
        value: serde_json::Value,
        filter: Option<Filter>,
    ) -> usize {
        let sender = self.channel(name);
        sender
            .send(Arc::new(Published { value, filter }))
            .unwrap_or(0)
    }
}

/// Whether a subscriber with `metadata` gets `message`.
pub(crate) fn lets_through(message: &Published, metadata: &Metadata) -> bool {
    message
        .filter
        .as_ref()
        .is_none_or(|filter| filter.matches(metadata))
}
