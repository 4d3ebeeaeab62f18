//! Test runs of script test files (`*.test.js|ts`): what `ferry test` prints and
//! `POST /engine/run_tests` returns. A test file runs in a script context of its own
//! with the test prelude (`describe`, `it`, `expect`, …; `bindings/testing.js`), all its
//! database work in one transaction that is rolled back at the end (each test in a
//! savepoint of it, rolled back after the test).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The outcome of one test file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// The test file's name.
    pub file: String,
    /// Its tests, in the order they were declared.
    pub tests: Vec<TestResult>,
}

impl TestReport {
    /// How many tests ended with `status`.
    pub fn count(&self, status: TestStatus) -> usize {
        self.tests
            .iter()
            .filter(|test| test.status == status)
            .count()
    }

    /// Whether no test failed.
    pub fn passed(&self) -> bool {
        self.count(TestStatus::Failed) == 0
    }
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Its name, after the names of the `describe` blocks around it (`users > signs up`).
    pub name: String,
    /// Passed, failed, skipped or to do.
    pub status: TestStatus,
    /// How long it took, hooks included, in milliseconds.
    #[serde(rename = "duration", default)]
    pub duration_ms: f64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TestFailure>,
}

/// Whether a test passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// Every assertion held.
    Passed,
    /// It threw, an assertion failed, a hook failed or it ran out of time.
    Failed,
    /// `it.skip`, `describe.skip`, or left out by `.only` elsewhere.
    Skipped,
    /// `it.todo`.
    Todo,
}

/// Why a test failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    /// `AssertionError: expected 2 to be 3`.
    pub message: String,
    /// Where it was thrown, with the test file's own lines (TypeScript's for `.ts`).
    #[serde(default)]
    pub stack: String,
    /// The line of the test file the failure points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// A hook that failed rather than the test (`beforeAll`, `afterEach`, …).
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
}

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
