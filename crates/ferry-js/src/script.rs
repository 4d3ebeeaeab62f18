//! Scripts: a name and a source text; TypeScript and JSX also the JavaScript they became.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::ScriptError;
use crate::transpile::{self, LineMap};

/// One script: its name (a file path relative to the app, or a URI for scripts uploaded
/// through the management API) and its JavaScript source; for a script read from an
/// app's files, where the file is and the app's directory (what its imports may read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    name: Arc<str>,
    source: Arc<str>,
    file: Option<Arc<FileOrigin>>,
    compiled: Option<Arc<Compiled>>,
}

/// A TypeScript or JSX script's JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compiled {
    code: Arc<str>,
    lines: Arc<LineMap>,
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
            compiled: None,
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

    /// The source, as written (TypeScript for a `.ts` script).
    pub fn source(&self) -> &Arc<str> {
        &self.source
    }

    /// The JavaScript that runs: the source, or what a TypeScript or JSX source became
    /// (after [`Script::compiled`]).
    pub(crate) fn code(&self) -> &Arc<str> {
        self.compiled
            .as_ref()
            .map_or(&self.source, |compiled| &compiled.code)
    }

    /// Where the lines of [`Script::code`] came from, when it was transpiled.
    pub(crate) fn line_map(&self) -> Option<&Arc<LineMap>> {
        self.compiled.as_ref().map(|compiled| &compiled.lines)
    }

    /// Whether the script is evaluated as an ES module.
    pub(crate) fn is_module(&self) -> bool {
        crate::modules::is_module(&self.source)
    }

    /// The script ready to run: a TypeScript, TSX or JSX script (by its name's extension)
    /// transpiled, with an error at the source's line when it does not parse.
    pub(crate) fn compiled(self) -> Result<Self, ScriptError> {
        if self.compiled.is_some() || !transpile::needs_transpiling(&self.name) {
            return Ok(self);
        }
        match transpile::transpile(&self.name, &self.source, self.is_module()) {
            Ok(transpiled) => Ok(Script {
                compiled: Some(Arc::new(Compiled {
                    code: transpiled.code.into(),
                    lines: Arc::new(transpiled.lines),
                })),
                ..self
            }),
            Err(error) => Err(ScriptError {
                script: self.name.clone(),
                line: Some(error.line),
                message: format!("{} (column {})", error.message, error.column),
            }),
        }
    }
}
