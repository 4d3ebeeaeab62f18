//! The script set: the version of each script the engine runs, with the routes it
//! registered. The engine changes it; the worker pool reads it to start a replacement
//! worker with every running script, and to name the handler a stuck worker was in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::job::RouteKey;
use crate::registration::{Registration, RouteKind};
use crate::script::Script;

/// A script the engine runs, with the routes it registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedScript {
    /// The script's name.
    pub name: Arc<str>,
    /// Its routes, as `METHOD /pattern`.
    pub routes: Vec<String>,
}

/// A script version the engine runs, with what it registered.
pub(crate) struct Loaded {
    pub script: Script,
    pub version: u64,
    pub registrations: Vec<Registration>,
}

impl Loaded {
    /// The key of this version's registration at `index`.
    pub(crate) fn key(&self, index: usize) -> RouteKey {
        RouteKey {
            script: self.script.name().clone(),
            version: self.version,
            index,
        }
    }

    /// What the engine's API says about it.
    pub(crate) fn describe(&self) -> LoadedScript {
        LoadedScript {
            name: self.script.name().clone(),
            routes: self
                .registrations
                .iter()
                .map(|registration| match registration.kind {
                    RouteKind::Http => format!("{} {}", registration.method, registration.pattern),
                    RouteKind::Stream { .. } => format!("STREAM {}", registration.pattern),
                    RouteKind::WebSocket => format!("WEBSOCKET {}", registration.pattern),
                    RouteKind::GraphQl(_) => format!("GRAPHQL {}", registration.pattern),
                    RouteKind::Mcp(_) => format!("MCP {}", registration.pattern),
                    RouteKind::Job => format!("JOB {}", &registration.pattern[4..]),
                    RouteKind::Listener => format!("LISTENER {}", &registration.pattern[9..]),
                    RouteKind::Asset => {
                        format!("ASSET {} {}", registration.pattern, registration.definition)
                    }
                })
                .collect(),
        }
    }
}

/// The running scripts by name. Cloning gives another handle to the same set.
///
/// Lock order: a holder of this lock may take the pool's worker list, never the other way
/// round (the engine commits a version with both held; the watchdog snapshots the set for
/// a replacement with both held, so neither misses the other's change).
#[derive(Clone, Default)]
pub(crate) struct ScriptSet {
    scripts: Arc<Mutex<BTreeMap<Arc<str>, Loaded>>>,
}

impl ScriptSet {
    /// The set, locked. A panic while it is held cannot leave it half-changed: every
    /// change is a single insert or remove.
    pub(crate) fn lock(&self) -> MutexGuard<'_, BTreeMap<Arc<str>, Loaded>> {
        self.scripts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// "handler NAME (METHOD /path) in SCRIPT" for the registration `key` points at, as
    /// far as the running version still knows it.
    pub(crate) fn describe_handler(&self, key: &RouteKey) -> String {
        let scripts = self.lock();
        let registration = scripts
            .get(&key.script)
            .filter(|loaded| loaded.version == key.version)
            .and_then(|loaded| loaded.registrations.get(key.index));
        match registration {
            Some(registration) => format!(
                "handler {} ({} {}) in {}",
                registration.handler, registration.method, registration.pattern, key.script
            ),
            None => format!("a handler of an earlier version of {}", key.script),
        }
    }
}
