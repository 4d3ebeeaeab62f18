//! Scripts: a name and a source text.

use std::sync::Arc;

/// One script: its name (a file path relative to the app, or a URI for scripts uploaded
/// through the management API) and its JavaScript source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    name: Arc<str>,
    source: Arc<str>,
}

impl Script {
    /// A script called `name` with `source`.
    pub fn new(name: impl Into<Arc<str>>, source: impl Into<Arc<str>>) -> Self {
        Script {
            name: name.into(),
            source: source.into(),
        }
    }

    /// The script's name; errors and logs refer to the script by it.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The JavaScript source.
    pub fn source(&self) -> &Arc<str> {
        &self.source
    }
}
