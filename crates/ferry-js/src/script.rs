//! Scripts: a name and a source text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One script: its name (a file path relative to the app, or a URI for scripts uploaded
/// through the management API) and its JavaScript source; for a script read from an
/// app's files, where the file is and the app's directory (what its imports may read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    name: Arc<str>,
    source: Arc<str>,
    file: Option<Arc<FileOrigin>>,
}

/// Where a script read from disk lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileOrigin {
    /// The file, as an absolute path with links resolved.
    pub file: PathBuf,
    /// The app's directory, likewise: imports never read outside it.
    pub root: PathBuf,
}

impl Script {
    /// A script called `name` with `source`.
    pub fn new(name: impl Into<Arc<str>>, source: impl Into<Arc<str>>) -> Self {
        Script {
            name: name.into(),
            source: source.into(),
            file: None,
        }
    }

    /// The same script, read from `file` in the app directory `root` (both absolute, links
    /// resolved): its `import`s of the app's other files work.
    pub fn with_file(self, file: &Path, root: &Path) -> Self {
        Script {
            file: Some(Arc::new(FileOrigin {
                file: file.to_path_buf(),
                root: root.to_path_buf(),
            })),
            ..self
        }
    }

    /// Where the script's file is, if it was read from one.
    pub(crate) fn origin(&self) -> Option<&FileOrigin> {
        self.file.as_deref()
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
