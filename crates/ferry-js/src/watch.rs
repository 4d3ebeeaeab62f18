//! Script files on disk: reading an app (one file, or every script of a directory) and
//! reloading scripts into the engine when they change.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::engine::Engine;
use crate::script::Script;

/// How long file events settle before scripts are reloaded (an editor's save is several).
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Why an app's scripts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A script is not UTF-8 text.
    #[error("{path} is not UTF-8 text; save it as UTF-8")]
    NotText {
        /// The path.
        path: PathBuf,
    },
    /// The directory holds no script.
    #[error("{path} holds no script (.js, .ts, .tsx or .jsx file)")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

/// Where an app's scripts come from: one file, or every script (`.js`, `.mjs`, `.ts`,
/// `.tsx`, `.jsx`; not tests) directly in a directory.
/// A script's name is its path as given on the command line (`app.js`, `scripts/users.js`),
/// so errors point at files the user can open.
#[derive(Debug, Clone)]
pub struct ScriptFiles {
    path: PathBuf,
    is_dir: bool,
}

impl ScriptFiles {
    /// The scripts at `path` (a script file or a directory).
    pub fn new(path: &Path) -> Result<Self, ReadError> {
        let metadata = std::fs::metadata(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ScriptFiles {
            path: path.to_path_buf(),
            is_dir: metadata.is_dir(),
        })
    }

    /// Reads every script, in name order.
    pub fn read_all(&self) -> Result<Vec<Script>, ReadError> {
        if !self.is_dir {
            return Ok(vec![read_script(&self.path)?]);
        }
        let entries = std::fs::read_dir(&self.path).map_err(|source| ReadError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| is_script(path) && path.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(ReadError::Empty {
                path: self.path.clone(),
            });
        }
        paths.iter().map(|path| read_script(path)).collect()
    }

    /// Whether `path` (as the watcher reports it, absolute) is one of this app's scripts, and
    /// its script name if so.
    fn script_path(&self, changed: &Path, watched: &Path) -> Option<PathBuf> {
        let file_name = changed.file_name()?;
        if changed.parent()? != watched {
            return None;
        }
        if self.is_dir {
            is_script(changed).then(|| self.path.join(file_name))
        } else {
            (Some(file_name) == self.path.file_name()).then(|| self.path.clone())
        }
    }

    /// Watches the scripts and loads each changed one into `engine` (on `runtime`); a
    /// deleted script is unloaded. Errors are logged, and the previous version keeps
    /// running. Dropping the watcher stops it.
    pub fn watch(
        &self,
        engine: Engine,
        runtime: tokio::runtime::Handle,
    ) -> Result<ScriptWatcher, notify::Error> {
        let dir = if self.is_dir {
            self.path.clone()
        } else {
            match self.path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        // Watch the directory, not the file: editors save by replacing files.
        let watched = std::fs::canonicalize(&dir).map_err(notify::Error::io)?;
        let files = self.clone();
        let watched_dir = watched.clone();
        let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let paths: Vec<&PathBuf> = events
                .iter()
                .filter(|event| !event.kind.is_access())
                .flat_map(|event| event.paths.iter())
                .collect();
            let mut changed: Vec<PathBuf> = paths
                .iter()
                .filter_map(|path| files.script_path(path, &watched_dir))
                .collect();
            // A file a script imports: that script is loaded again, its source unchanged.
            let mut importers: Vec<PathBuf> = paths
                .iter()
                .flat_map(|path| engine.scripts_importing(path))
                .map(|script| PathBuf::from(&*script))
                .filter(|script| !changed.contains(script))
                .collect();
            changed.sort();
            changed.dedup();
            importers.sort();
            importers.dedup();
            for (path, again) in changed
                .into_iter()
                .map(|path| (path, false))
                .chain(importers.into_iter().map(|path| (path, true)))
            {
                let engine = engine.clone();
                runtime.spawn(async move { reload(&engine, &path, again).await });
            }
        })?;
        // Recursive: the files scripts import may sit in subdirectories.
        debouncer.watch(&watched, RecursiveMode::Recursive)?;
        Ok(ScriptWatcher {
            _debouncer: debouncer,
        })
    }
}

/// Keeps scripts reloading while it lives.
pub struct ScriptWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for ScriptWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScriptWatcher")
    }
}

/// Whether `path` is one of an app's scripts: JavaScript, TypeScript or JSX; not a hidden
/// file, a declaration file (`types.d.ts`) or a test file (`users.test.ts`, for `ferry
/// test`).
fn is_script(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    let javascript = path
        .extension()
        .is_some_and(|extension| extension == "js" || extension == "mjs");
    (javascript || crate::transpile::needs_transpiling(name))
        && !name.starts_with('.')
        && !crate::testing::is_test_file(path)
}

/// Reads the script at `path`, whose imports may read the files under `root` (an
/// absolute path with links resolved).
pub fn read_script_in(path: &Path, root: &Path) -> Result<Script, ReadError> {
    read_script_at(path, |_| root.to_path_buf())
}

/// Reads the script at `path`; its imports read the files of its directory and below.
fn read_script(path: &Path) -> Result<Script, ReadError> {
    read_script_at(path, |file| file.parent().unwrap_or(file).to_path_buf())
}

/// Reads the script at `path`, its imports reading under `root_of` its resolved file.
fn read_script_at(
    path: &Path,
    root_of: impl FnOnce(&Path) -> PathBuf,
) -> Result<Script, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let source =
        String::from_utf8(std::fs::read(path).map_err(io)?).map_err(|_| ReadError::NotText {
            path: path.to_path_buf(),
        })?;
    let file = std::fs::canonicalize(path).map_err(io)?;
    let root = root_of(&file);
    Ok(Script::new(path.display().to_string(), source).with_file(&file, &root))
}

/// Loads the script at `path` again (`again`: even if its source did not change, because a
/// file it imports did), or unloads it if it is gone.
async fn reload(engine: &Engine, path: &Path, again: bool) {
    let name: Arc<str> = Arc::from(path.display().to_string());
    if !path.exists() {
        match engine.remove(&name).await {
            Ok(true) => tracing::info!(script = &*name, "script deleted; its routes are gone"),
            Ok(false) => {}
            Err(error) => tracing::error!(script = &*name, "cannot unload the script: {error}"),
        }
        return;
    }
    let script = match read_script(path) {
        Ok(script) => script,
        Err(error) => {
            tracing::error!(
                script = &*name,
                "{error}; the previous version keeps running"
            );
            return;
        }
    };
    if !again
        && engine
            .script(&name)
            .is_some_and(|running| running == script)
    {
        return;
    }
    match engine.load(script).await {
        Ok(loaded) => tracing::info!(
            script = &*name,
            "reloaded {name} ({} route{})",
            loaded.routes.len(),
            if loaded.routes.len() == 1 { "" } else { "s" }
        ),
        Err(error) => tracing::error!(
            script = &*name,
            "{error}; the previous version keeps running"
        ),
    }
}
