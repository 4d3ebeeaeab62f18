//! What `ferry test` prints: a line per test as each file finishes, then every failure with
//! its file and line, then the counts.

use std::fmt::Write as _;

use super::{TestReport, TestStatus};

/// What one test file came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TestOutcome {
    /// Its tests ran.
    Ran(TestReport),
    /// It did not load (or its run did not finish): the error names the file and line.
    Broken(String),
}

/// The counts so far and the failures to show at the end.
#[derive(Debug, Default)]
pub struct TestSummary {
    passed: usize,
    failed: usize,
    skipped: usize,
    todo: usize,
    broken: usize,
    failures: String,
}

impl TestSummary {
    /// Counts `outcome`, notes its failures for the end, and gives its lines to print now.
    pub fn record(&mut self, outcome: &TestOutcome) -> String {
        match outcome {
            TestOutcome::Ran(report) => {
                self.passed += report.count(TestStatus::Passed);
                self.failed += report.count(TestStatus::Failed);
                self.skipped += report.count(TestStatus::Skipped);
                self.todo += report.count(TestStatus::Todo);
                self.report_lines(report)
            }
            TestOutcome::Broken(error) => {
                self.broken += 1;
                let _ = writeln!(self.failures, "{error}\n");
                format!("{error}\n\n")
            }
        }
    }

    /// One line per test, and the failures noted for the end.
    fn report_lines(&mut self, report: &TestReport) -> String {
        let mut out = format!(
            "running {} test{} from {}\n",
            report.tests.len(),
            if report.tests.len() == 1 { "" } else { "s" },
            report.file
        );
        for test in &report.tests {
            let verdict = match test.status {
                TestStatus::Passed => "ok",
                TestStatus::Failed => "FAILED",
                TestStatus::Skipped => "skipped",
                TestStatus::Todo => "todo",
            };
            let _ = writeln!(
                out,
                "{} ... {verdict} ({:.0}ms)",
                test.name, test.duration_ms
            );
            if let Some(error) = &test.error {
                let place = match error.line {
                    Some(line) => format!("{}:{line}", report.file),
                    None => report.file.clone(),
                };
                let hook = error
                    .hook
                    .as_deref()
                    .map(|hook| format!(" (in {hook})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    self.failures,
                    "{place}: {}{hook}\n{}\n{}",
                    test.name,
                    error.message,
                    error.stack.trim_end()
                );
            }
        }
        out.push('\n');
        out
    }

    /// Whether no test failed and every file loaded.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.broken == 0
    }

    /// The failures, then the counts: `ok | 3 passed | 0 failed (12ms)`.
    pub fn render(&self, millis: u128) -> String {
        let mut out = String::new();
        if !self.failures.is_empty() {
            let _ = writeln!(out, "failures:\n\n{}", self.failures.trim_end());
            out.push('\n');
        }
        let _ = write!(
            out,
            "{} | {} passed | {} failed",
            if self.passed() { "ok" } else { "FAILED" },
            self.passed,
            self.failed
        );
        if self.skipped > 0 {
            let _ = write!(out, " | {} skipped", self.skipped);
        }
        if self.todo > 0 {
            let _ = write!(out, " | {} todo", self.todo);
        }
        if self.broken > 0 {
            let _ = write!(
                out,
                " | {} file{} did not load",
                self.broken,
                if self.broken == 1 { "" } else { "s" }
            );
        }
        let _ = writeln!(out, " ({millis}ms)");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestFailure, TestResult};

    fn result(name: &str, status: TestStatus, error: Option<TestFailure>) -> TestResult {
        TestResult {
            name: name.to_owned(),
            status,
            duration_ms: 1.0,
            error,
        }
    }

    #[test]
    fn failures_are_listed_with_file_and_line_then_counted() {
        let mut summary = TestSummary::default();
        let report = TestReport {
            file: "a.test.ts".to_owned(),
            tests: vec![
                result("adds", TestStatus::Passed, None),
                result(
                    "is wrong",
                    TestStatus::Failed,
                    Some(TestFailure {
                        message: "AssertionError: expected 2 to be 3".to_owned(),
                        stack: "    at <anonymous> (a.test.ts:6:13)\n".to_owned(),
                        line: Some(6),
                        hook: None,
                    }),
                ),
                result("later", TestStatus::Todo, None),
            ],
        };
        let lines = summary.record(&TestOutcome::Ran(report));
        assert_eq!(
            lines,
            "running 3 tests from a.test.ts\nadds ... ok (1ms)\nis wrong ... FAILED (1ms)\nlater ... todo (1ms)\n\n"
        );
        summary.record(&TestOutcome::Broken("b.test.js:2: SyntaxError".to_owned()));
        assert!(!summary.passed());
        assert_eq!(
            summary.render(7),
            "failures:\n\na.test.ts:6: is wrong\nAssertionError: expected 2 to be 3\n    at <anonymous> (a.test.ts:6:13)\nb.test.js:2: SyntaxError\n\nFAILED | 1 passed | 1 failed | 1 todo | 1 file did not load (7ms)\n"
        );
        let mut clean = TestSummary::default();
        clean.record(&TestOutcome::Ran(TestReport {
            file: "c.test.js".to_owned(),
            tests: vec![result("x", TestStatus::Passed, None)],
        }));
        assert!(clean.passed());
        assert_eq!(clean.render(1), "ok | 1 passed | 0 failed (1ms)\n");
    }
}
