//! ES modules between the files of an app: a script with `import` or `export` at top level
//! is evaluated as a module, and its relative imports (`./lib/util.js`, `../data.json`) are
//! read from disk — never from outside the app's directory, never a bare package name.
//! JSON files import as their value (`export default`); TypeScript and JSX files are
//! transpiled; an import without an extension finds the file as TypeScript would. Each
//! worker's loader notes which files a script's modules read, so that a change to one
//! reloads the scripts that import it. Modules live in the context of the script version
//! that imported them: loading a script again reads its imports again.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Module};

/// The largest file a module import reads.
const MAX_MODULE_BYTES: u64 = 4 << 20;

/// What the engine knows about apps' files: the directories imports may read, and the
/// files each script's modules read. Cloning gives another handle to the same record.
#[derive(Debug, Clone, Default)]
pub(crate) struct AppFiles {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    roots: Mutex<BTreeSet<PathBuf>>,
    imports: Mutex<HashMap<Arc<str>, BTreeSet<PathBuf>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppFiles {
    /// Lets modules under `root` import the files beneath it.
    pub(crate) fn allow(&self, root: &Path) {
        lock(&self.inner.roots).insert(root.to_path_buf());
    }

    /// Records that `script`'s modules read `files`.
    pub(crate) fn record(&self, script: &Arc<str>, files: BTreeSet<PathBuf>) {
        let mut imports = lock(&self.inner.imports);
        if files.is_empty() {
            imports.remove(script);
        } else {
            imports.insert(script.clone(), files);
        }
    }

    /// The scripts whose modules read `file`.
    pub(crate) fn importers(&self, file: &Path) -> Vec<Arc<str>> {
        lock(&self.inner.imports)
            .iter()
            .filter(|(_, files)| files.contains(file))
            .map(|(script, _)| script.clone())
            .collect()
    }

    /// The app directory `path` is in, if any.
    fn root_of(&self, path: &Path) -> Option<PathBuf> {
        lock(&self.inner.roots)
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .cloned()
    }

    /// A resolver and a loader for one worker's runtime, and what that loader reads.
    pub(crate) fn for_worker(&self) -> (AppResolver, AppLoader, LoadedFiles) {
        let loaded = LoadedFiles::default();
        (
            AppResolver {
                files: self.clone(),
            },
            AppLoader {
                loaded: loaded.clone(),
            },
            loaded,
        )
    }
}

/// The files a worker's loader read since it was last asked.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadedFiles(Arc<Mutex<BTreeSet<PathBuf>>>);

impl LoadedFiles {
    /// What was read, emptying the record.
    pub(crate) fn take(&self) -> BTreeSet<PathBuf> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// Whether `source` is a module: a line that starts with an `import` declaration or an
/// `export` (a dynamic `import(…)` does not count).
pub(crate) fn is_module(source: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix("export") {
            return rest.starts_with(|c: char| c.is_whitespace() || c == '{' || c == '*');
        }
        if let Some(rest) = line.strip_prefix("import") {
            return match rest.chars().next() {
                Some('{' | '*' | '"' | '\'') => true,
                Some(c) if c.is_whitespace() => {
                    let rest = rest.trim_start();
                    !rest.is_empty() && !rest.starts_with('(')
                }
                _ => false,
            };
        }
        false
    })
}

/// Resolves relative specifiers against the importing file, inside its app's directory.
pub(crate) struct AppResolver {
    files: AppFiles,
}

impl Resolver for AppResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        let refuse = |message: String| Error::new_resolving_message(base, name, message);
        if !(name.starts_with("./") || name.starts_with("../")) {
            return Err(refuse(format!(
                "only files of the app can be imported, with a path that starts with ./ or ../ (not {name:?})"
            )));
        }
        let base_path = Path::new(base);
        let Some(root) = self.files.root_of(base_path) else {
            return Err(refuse(
                "imports work in scripts read from an app's files (not in scripts uploaded through the management API)"
                    .to_owned(),
            ));
        };
        let joined = normalize(&base_path.parent().unwrap_or(&root).join(name));
        if !joined.starts_with(&root) {
            return Err(refuse(format!(
                "{} is outside the app's directory {}",
                joined.display(),
                root.display()
            )));
        }
        let found = match std::fs::canonicalize(&joined) {
            Ok(found) if found.is_file() => found,
            other => with_extension(&joined).ok_or_else(|| {
                refuse(match other {
                    Err(error) => format!("cannot read {}: {error}", joined.display()),
                    Ok(_) => format!(
                        "{} is a directory without an index.ts or index.js",
                        joined.display()
                    ),
                })
            })?,
        };
        if !found.starts_with(&root) {
            return Err(refuse(format!(
                "{} leads outside the app's directory {} (a link)",
                joined.display(),
                root.display()
            )));
        }
        Ok(found.to_string_lossy().into_owned())
    }
}

/// The file an import without an extension means, as TypeScript resolves it:
/// `./util` is `./util.ts`, `./util.tsx`, `./util.js`, …, or `./util/index.ts`, ….
fn with_extension(path: &Path) -> Option<PathBuf> {
    const TRIED: [&str; 6] = ["ts", "tsx", "js", "jsx", "mts", "mjs"];
    let candidates = TRIED
        .iter()
        .map(|extension| {
            let mut file = path.as_os_str().to_owned();
            file.push(".");
            file.push(extension);
            PathBuf::from(file)
        })
        .chain(
            TRIED
                .iter()
                .map(|extension| path.join(format!("index.{extension}"))),
        );
    candidates
        .filter(|candidate| candidate.is_file())
        .find_map(|candidate| std::fs::canonicalize(candidate).ok())
}

/// `path` with `.` and `..` worked out, without asking the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

/// Reads the files the resolver found: JavaScript as it is, JSON as its value.
pub(crate) struct AppLoader {
    loaded: LoadedFiles,
}

impl Loader for AppLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let path = Path::new(name);
        let refuse = |message: String| Error::new_loading_message(name, message);
        let size = std::fs::metadata(path)
            .map_err(|error| refuse(error.to_string()))?
            .len();
        if size > MAX_MODULE_BYTES {
            return Err(refuse(format!(
                "the file is {size} bytes; an imported file may have at most {MAX_MODULE_BYTES}"
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| refuse(format!("cannot read it as UTF-8 text: {error}")))?;
        lock(&self.loaded.0).insert(path.to_path_buf());
        let source = match path.extension().and_then(|extension| extension.to_str()) {
            Some("json") => {
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|error| refuse(format!("not JSON: {error}")))?;
                format!("export default {text};")
            }
            Some("js" | "mjs") => text,
            _ if crate::transpile::needs_transpiling(name) => {
                let transpiled =
                    crate::transpile::transpile(name, &text, true).map_err(|error| {
                        refuse(format!(
                            "{name}:{}:{}: {}",
                            error.line, error.column, error.message
                        ))
                    })?;
                crate::source_lines::remember(ctx, name, Arc::new(transpiled.lines));
                transpiled.code
            }
            other => {
                return Err(refuse(format!(
                    "files ending in {} cannot be imported (.js, .mjs, .ts, .tsx, .jsx and .json can)",
                    other.map_or("nothing".to_owned(), |extension| format!(".{extension}"))
                )));
            }
        };
        Module::declare(ctx.clone(), name, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_told_from_scripts() {
        assert!(is_module("import { a } from './a.js';\nregister('/', a);"));
        assert!(is_module("  import * as b from \"./b.js\""));
        assert!(is_module(
            "import config from './config.json' with { type: 'json' };"
        ));
        assert!(is_module("import './side-effect.js';"));
        assert!(is_module("export default { fetch() {} };"));
        assert!(is_module("export function helper() {}"));
        assert!(is_module("export { a, b };"));
        assert!(!is_module("register('/', () => 'x');"));
        assert!(!is_module("const m = await import('./m.js');"));
        assert!(!is_module("const important = 1; // import nothing"));
        assert!(!is_module("exports.x = 1; const exported = 2;"));
        assert!(!is_module("importantThing();"));
    }

    #[test]
    fn paths_are_worked_out_without_the_file_system() {
        assert_eq!(
            normalize(Path::new("/app/lib/../data/./x.json")),
            Path::new("/app/data/x.json")
        );
        assert_eq!(
            normalize(Path::new("/app/../../etc/passwd")),
            Path::new("/etc/passwd")
        );
    }
}
