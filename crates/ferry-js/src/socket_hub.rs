//! The registry of a script engine's open WebSockets, which `socket.send`,
//! `socket.broadcast` and `sendWebSocketMessage` write to: each socket's outgoing queue,
//! its path, owner and metadata. A socket that does not keep up is dropped, not buffered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use ferry_core::sse::{Filter, Metadata};
use ferry_core::ws::{CloseCode, CloseFrame, Message};
use tokio::sync::mpsc;

/// The open WebSockets of an engine, by id. Cloning gives another handle to the same
/// registry.
#[derive(Clone, Default)]
pub(crate) struct SocketHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    next_id: AtomicU64,
    sockets: RwLock<HashMap<u64, Entry>>,
}

pub(crate) struct Entry {
    pub path: Arc<str>,
    pub script: Arc<str>,
    pub version: u64,
    pub outgoing: mpsc::Sender<Message>,
    /// Set when the socket is dropped for not keeping up.
    pub too_slow: Arc<AtomicBool>,
    pub metadata: Metadata,
}

/// Why a message could not be queued for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// No open socket has this id (it closed).
    Closed,
}

impl SocketHub {
    /// A fresh socket id (ids count up from 1).
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<u64, Entry>> {
        self.inner
            .sockets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<u64, Entry>> {
        self.inner
            .sockets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the open socket `id`.
    pub(crate) fn insert(&self, id: u64, entry: Entry) {
        let mut sockets = self.write();
        sockets.insert(id, entry);
        record_open(sockets.len());
    }

    /// The number of open sockets at `path`.
    pub(crate) fn count(&self, path: &str) -> usize {
        self.read()
            .values()
            .filter(|entry| &*entry.path == path)
            .count()
    }

    /// Queues `message` for the socket `id`. A socket whose queue is full is closed as too
    /// slow (and the message counts as sent: it is gone either way).
    pub(crate) fn send(&self, id: u64, message: Message) -> Result<(), SendError> {
        let full = {
            let sockets = self.read();
            let entry = sockets.get(&id).ok_or(SendError::Closed)?;
            match entry.outgoing.try_send(message) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(SendError::Closed),
                Err(mpsc::error::TrySendError::Full(_)) => true,
            }
        };
        if full {
            self.drop_slow(id);
        }
        Ok(())
    }

    /// Queues `message` for every socket at `path` whose metadata `filter` lets through,
    /// except `except`; returns how many got it.
    pub(crate) fn publish(
        &self,
        path: &str,
        message: &Message,
        filter: Option<&Filter>,
        except: Option<u64>,
    ) -> usize {
        let mut slow = Vec::new();
        let mut delivered = 0;
        for (id, entry) in self.read().iter() {
            if &*entry.path != path
                || Some(*id) == except
                || filter.is_some_and(|filter| !filter.matches(&entry.metadata))
            {
                continue;
            }
            match entry.outgoing.try_send(message.clone()) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for id in slow {
            self.drop_slow(id);
        }
        delivered
    }

    /// Asks the socket `id` to close with `code` and `reason` (cut to the 123 bytes a close
    /// frame can carry).
    pub(crate) fn close(&self, id: u64, code: u16, mut reason: String) -> Result<(), SendError> {
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        self.send(id, Message::Close(Some(frame)))
    }

    /// Closes every socket whose id `which` picks with `code` and `reason`; returns how
    /// many.
    pub(crate) fn close_where(
        &self,
        which: impl Fn(u64) -> bool,
        code: u16,
        reason: &str,
    ) -> usize {
        let ids: Vec<u64> = self
            .read()
            .keys()
            .copied()
            .filter(|id| which(*id))
            .collect();
        for id in &ids {
            let _ = self.close(*id, code, reason.to_owned());
        }
        ids.len()
    }

    /// Closes the sockets of `script` that belong to a version other than `keep` (with
    /// 1012, "service restart": the script was reloaded or removed).
    pub(crate) fn restart(&self, script: &str, keep: Option<u64>) {
        let ids: Vec<u64> = self
            .read()
            .iter()
            .filter(|(_, entry)| &*entry.script == script && Some(entry.version) != keep)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let _ = self.close(
                id,
                CloseCode::Restart.into(),
                "the script was reloaded; reconnect".into(),
            );
        }
    }

    fn drop_slow(&self, id: u64) {
        let mut sockets = self.write();
        if let Some(entry) = sockets.remove(&id) {
            entry.too_slow.store(true, Ordering::Relaxed);
        }
        record_open(sockets.len());
    }

    /// Replaces the metadata filtered sends match socket `id` against.
    pub(crate) fn set_metadata(&self, id: u64, metadata: Metadata) {
        if let Some(entry) = self.write().get_mut(&id) {
            entry.metadata = metadata;
        }
    }

    /// Forgets socket `id` (it closed).
    pub(crate) fn remove(&self, id: u64) {
        let mut sockets = self.write();
        sockets.remove(&id);
        record_open(sockets.len());
    }
}

/// Reports the number of open script WebSockets (a no-op without a metrics recorder).
fn record_open(count: usize) {
    metrics::gauge!("ferry_websocket_connections").set(count as f64);
}
