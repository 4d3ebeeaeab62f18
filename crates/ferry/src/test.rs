//! `ferry test [APP]`: runs the app's test files on the engine and prints what passed,
//! then each failure with its file and line; the outcome is the exit status.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use ferry_js::testing::{TestReport, TestStatus, find_test_files, is_test_file};
use ferry_js::watch::read_script_in;
use ferry_js::{Engine, EngineError};

use crate::cli::TestArgs;

/// Runs the tests; `Ok(false)` when one failed or a test file did not load.
pub(crate) async fn run(args: TestArgs) -> anyhow::Result<bool> {
    let (files, root) = test_files(&args.app)?;
    let engine = args.engine.start().await?;
    let started = Instant::now();
    let mut summary = Summary::default();
    for file in &files {
        let outcome = run_file(&engine, file, &root, args.filter.clone()).await?;
        summary.add(&outcome, args.json);
    }
    if !args.json {
        print!("{}", summary.render(started.elapsed().as_millis()));
    }
    Ok(summary.passed())
}

/// The test files `app` names, and the directory their imports may read.
fn test_files(app: &Path) -> anyhow::Result<(Vec<PathBuf>, PathBuf)> {
    let metadata =
        std::fs::metadata(app).with_context(|| format!("cannot read {}", app.display()))?;
    let canonical =
        std::fs::canonicalize(app).with_context(|| format!("cannot read {}", app.display()))?;
    if metadata.is_dir() {
        let files = find_test_files(app)
            .with_context(|| format!("cannot search {} for test files", app.display()))?;
        if files.is_empty() {
            return Err(anyhow!(
                "{} holds no test file\n  hint: name test files NAME.test.js or NAME.test.ts",
                app.display()
            ));
        }
        return Ok((files, canonical));
    }
    if !is_test_file(app) {
        return Err(anyhow!(
            "{} is not a test file\n  hint: test files are named NAME.test.js or NAME.test.ts (give a directory to run all of them)",
            app.display()
        ));
    }
    let root = canonical
        .parent()
        .map_or_else(|| canonical.clone(), Path::to_path_buf);
    Ok((vec![app.to_path_buf()], root))
}

/// What one test file came to.
enum Outcome {
    Ran(TestReport),
    /// It did not load (or its run did not finish): the error names the file and line.
    Broken(String),
}

async fn run_file(
    engine: &Engine,
    file: &Path,
    root: &Path,
    filter: Option<String>,
) -> anyhow::Result<Outcome> {
    let script = read_script_in(file, root)?;
    match engine.run_tests(script, filter).await {
        Ok(report) => Ok(Outcome::Ran(report)),
        Err(EngineError::Script(error)) => Ok(Outcome::Broken(error.to_string())),
        Err(error) => Err(anyhow!(error)),
    }
}

/// The counts so far and the failures to show at the end.
#[derive(Default)]
struct Summary {
    passed: usize,
    failed: usize,
    skipped: usize,
    todo: usize,
    broken: usize,
    failures: String,
}

impl Summary {
    /// Counts `outcome` and prints its lines (or its JSON).
    fn add(&mut self, outcome: &Outcome, json: bool) {
        match outcome {
            Outcome::Ran(report) => {
                self.passed += report.count(TestStatus::Passed);
                self.failed += report.count(TestStatus::Failed);
                self.skipped += report.count(TestStatus::Skipped);
                self.todo += report.count(TestStatus::Todo);
                if json {
                    println!("{}", serde_json::json!(report));
                } else {
                    print!("{}", self.report_lines(report));
                }
            }
            Outcome::Broken(error) => {
                self.broken += 1;
                if json {
                    println!("{}", serde_json::json!({ "error": error }));
                } else {
                    println!("{error}\n");
                }
                let _ = writeln!(self.failures, "{error}\n");
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

    fn passed(&self) -> bool {
        self.failed == 0 && self.broken == 0
    }

    /// The failures, then the counts: `ok | 3 passed | 0 failed (12ms)`.
    fn render(&self, millis: u128) -> String {
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
