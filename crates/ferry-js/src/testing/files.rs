//! Where an app's test files are: `NAME.test.js|ts` at any depth of a directory, or one
//! such file; and the directory their imports may read.

use std::path::{Path, PathBuf};

use crate::script::Script;
use crate::watch::{ReadError, ScriptFiles, read_script_in};

/// Whether `path` is a test file: `NAME.test.js` (or `.mjs`, `.ts`, `.tsx`, `.jsx`, `.mts`).
pub fn is_test_file(path: &Path) -> bool {
    const EXTENSIONS: [&str; 6] = ["js", "mjs", "ts", "tsx", "jsx", "mts"];
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem.ends_with(".test") && !stem.starts_with('.'))
        && path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| EXTENSIONS.contains(&extension))
}

/// The test files under `dir`, at any depth, in name order; hidden directories and
/// `node_modules` are passed over.
pub fn find_test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name();
            let hidden = name.to_str().is_none_or(|name| name.starts_with('.'));
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !hidden && name != "node_modules" {
                    pending.push(path);
                }
            } else if !hidden && is_test_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The test files an app names and the directory their imports may read.
#[derive(Debug, Clone)]
pub struct TestFiles {
    /// The files, in name order, as paths under the one given.
    pub files: Vec<PathBuf>,
    /// The directory given (a single file's own directory), absolute with links resolved.
    pub root: PathBuf,
}

/// Why an app's test files could not be found.
#[derive(Debug, thiserror::Error)]
pub enum TestFilesError {
    /// The path could not be read or searched.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A directory without a test file.
    #[error("{0} holds no test file\n  hint: name test files NAME.test.js or NAME.test.ts")]
    NoTests(PathBuf),
    /// A file that is not named as a test file.
    #[error(
        "{0} is not a test file\n  hint: test files are named NAME.test.js or NAME.test.ts (give a directory to run all of them)"
    )]
    NotATestFile(PathBuf),
}

impl TestFiles {
    /// The test files of `app`: a directory searched at any depth, or one test file.
    pub fn find(app: &Path) -> Result<Self, TestFilesError> {
        let io = |source| TestFilesError::Io {
            path: app.to_path_buf(),
            source,
        };
        let canonical = std::fs::canonicalize(app).map_err(io)?;
        if canonical.is_dir() {
            let files = find_test_files(app).map_err(io)?;
            if files.is_empty() {
                return Err(TestFilesError::NoTests(app.to_path_buf()));
            }
            return Ok(TestFiles {
                files,
                root: canonical,
            });
        }
        if !is_test_file(app) {
            return Err(TestFilesError::NotATestFile(app.to_path_buf()));
        }
        let root = canonical
            .parent()
            .map_or_else(|| canonical.clone(), Path::to_path_buf);
        Ok(TestFiles {
            files: vec![app.to_path_buf()],
            root,
        })
    }

    /// The app's own scripts, as `ferry run` reads them: those directly in the directory
    /// given (beside the one test file given); none when there are none.
    pub fn app_scripts(app: &Path) -> Result<Vec<Script>, ReadError> {
        let dir = if app.is_dir() {
            app
        } else {
            app.parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        };
        match ScriptFiles::new(dir).and_then(|files| files.read_all()) {
            Err(ReadError::Empty { .. }) => Ok(Vec::new()),
            read => read,
        }
    }

    /// The test file `file` as a script whose imports read the files under the root.
    pub fn read(&self, file: &Path) -> Result<Script, ReadError> {
        read_script_in(file, &self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_are_told_apart() {
        for yes in ["a.test.js", "dir/b.test.ts", "c.test.tsx", "d.test.mjs"] {
            assert!(is_test_file(Path::new(yes)), "{yes}");
        }
        for no in [
            "a.js",
            "test.js",
            "a.test.json",
            "a.tests.js",
            ".test.js",
            "a.spec.ts",
        ] {
            assert!(!is_test_file(Path::new(no)), "{no}");
        }
    }

    #[test]
    fn test_files_are_found_at_any_depth_but_not_in_node_modules() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.test.ts",
            "a.test.js",
            "lib/c.test.js",
            "node_modules/x/d.test.js",
            ".git/e.test.js",
            "main.ts",
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let found: Vec<String> = find_test_files(dir.path())
            .unwrap()
            .iter()
            .map(|path| {
                path.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(found, ["a.test.js", "b.test.ts", "lib/c.test.js"]);
    }
}
