//! Test runs of script test files (`*.test.js|ts`): what `ferry test` prints and
//! `POST /engine/run_tests` returns. A test file runs in a script context of its own
//! with the test prelude (`describe`, `it`, `expect`, …; `bindings/testing.js`), all its
//! database work in one transaction that is rolled back at the end (each test in a
//! savepoint of it, rolled back after the test). [`TestFiles`] finds an app's test files,
//! [`TestSummary`] writes the text `ferry test` prints.

mod files;
mod summary;

use serde::{Deserialize, Serialize};

pub use files::{TestFiles, TestFilesError, find_test_files, is_test_file};
pub use summary::{TestOutcome, TestSummary};

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
