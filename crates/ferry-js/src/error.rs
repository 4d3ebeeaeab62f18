//! Errors of the engine and of the scripts it loads.

use std::fmt;
use std::sync::Arc;

/// Why a script could not be loaded: it does not parse, its top level or `init()` threw, it
/// is too large, or its routes clash with another script's. Displayed as
/// `app.js:12: ReferenceError: x is not defined`, so that editors can jump to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The script's name.
    pub script: Arc<str>,
    /// The line the error points at, when known.
    pub line: Option<u32>,
    /// What went wrong.
    pub message: String,
}

impl ScriptError {
    /// An error in `script` with no line.
    pub(crate) fn new(script: &Arc<str>, message: impl Into<String>) -> Self {
        ScriptError {
            script: script.clone(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.script, self.message),
            None => write!(f, "{}: {}", self.script, self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Why the engine could not start or change.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A worker thread could not be started.
    #[error("cannot start a JavaScript worker thread: {0}")]
    Spawn(std::io::Error),
    /// A worker could not build its QuickJS runtime.
    #[error("cannot create a JavaScript runtime: {0}")]
    Runtime(String),
    /// The data store could not be opened.
    #[error(transparent)]
    Store(#[from] ferry_store::StoreError),
    /// A script failed to load; the previous version, if any, keeps running.
    #[error(transparent)]
    Script(#[from] ScriptError),
    /// The workers have stopped (the engine is shutting down).
    #[error("the JavaScript workers have stopped")]
    Stopped,
}

impl EngineError {
    /// Whether the database could not be reached (worth trying again later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, EngineError::Store(error) if error.is_unavailable())
    }
}
