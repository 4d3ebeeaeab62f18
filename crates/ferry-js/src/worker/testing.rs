//! Test runs on a worker: a test file is evaluated as a staged script version with the
//! test prelude, its declared tests run through the worker's event loop (each from a
//! timer turn of its own, so each has the call time limit), and the version is dropped
//! again. All its database work belongs to one call scope, which ends rolled back.

use std::sync::Arc;
use std::time::Instant;

use rquickjs::{Function, Object, Promise};

use super::Worker;
use super::call;
use super::scripts::{Stop, load_error};
use crate::error::ScriptError;
use crate::script::Script;
use crate::testing::{TestReport, TestResult};
use crate::thrown::line_in_stack;

/// The key a test run's promise is parked under (call ids never reach it).
const TESTS: u64 = u64::MAX;

/// How many sections one test may take at most: `beforeAll`, `beforeEach`, the test,
/// `afterEach`, `afterAll`, each within the call time limit.
const SECTIONS_PER_TEST: u32 = 5;

impl Worker {
    /// Runs the tests of the test file `script` (as `version`) whose full names contain
    /// `filter`.
    pub(super) fn run_tests(
        &mut self,
        script: Script,
        version: u64,
        filter: Option<String>,
    ) -> Result<TestReport, ScriptError> {
        let name = script.name().clone();
        let file = script
            .origin()
            .map(|origin| origin.file.to_string_lossy().into_owned());
        let scope = self.next_call();
        let outer = self.host.enter_scope(scope);
        let result = self
            .load_staged(script, version, Some(scope))
            .and_then(|()| self.run_declared(&name, file.as_deref(), version, filter));
        self.host.enter_scope(outer);
        // Whatever the tests wrote goes.
        self.host.end_scope(scope, false);
        self.discard_staged(&name, version);
        result
    }

    fn run_declared(
        &mut self,
        name: &Arc<str>,
        file: Option<&str>,
        version: u64,
        filter: Option<String>,
    ) -> Result<TestReport, ScriptError> {
        let limit = self.settings.limits.call_timeout;
        let guard = &self.deadline;
        let Some(instance) = self.find(name, version) else {
            return Err(ScriptError::new(name, "the test file was unloaded"));
        };
        let count = instance.context.with(|ctx| {
            let deadline = Instant::now() + limit;
            call::guarded(guard, deadline, || {
                let started =
                    instance
                        .internal
                        .clone()
                        .restore(&ctx)
                        .and_then(|internal: Object| {
                            let runner: Object = internal.get("tests")?;
                            let run: Function = runner.get("run")?;
                            let timeout = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
                            let promise: Promise = run.call((filter, timeout))?;
                            instance.parked.park(&ctx, TESTS, promise);
                            runner.get::<_, u32>("count")
                        });
                call::drain_microtasks(&ctx, guard, deadline);
                started.map_err(|error| load_error(&ctx, guard, &error, name, limit))
            })
        })?;
        let sections = count.saturating_mul(SECTIONS_PER_TEST).saturating_add(2);
        let deadline = Instant::now() + limit.saturating_mul(sections);
        let waited = self.await_parked(name, version, TESTS, deadline);
        let report = match waited {
            Ok(()) => self.read_report(name, file, version),
            Err(Stop::Rejected(error)) => Err(error),
            Err(Stop::TimedOut) => Err(ScriptError::new(
                name,
                format!(
                    "the tests did not finish within {} ms",
                    limit.saturating_mul(sections).as_millis()
                ),
            )),
            Err(Stop::Replaced) => Err(ScriptError::new(
                name,
                "the worker was replaced while the tests ran",
            )),
        };
        if let Some(instance) = self.find(name, version) {
            instance.parked.forget(TESTS);
        }
        report
    }

    /// The settled run's results, with stacks moved to the test file's own lines.
    fn read_report(
        &self,
        name: &Arc<str>,
        file: Option<&str>,
        version: u64,
    ) -> Result<TestReport, ScriptError> {
        let Some(instance) = self.find(name, version) else {
            return Err(ScriptError::new(name, "the test file was unloaded"));
        };
        instance.context.with(|ctx| {
            let text = instance
                .parked
                .get(&ctx, TESTS)
                .and_then(|promise| promise.result::<String>())
                .and_then(Result::ok)
                .ok_or_else(|| ScriptError::new(name, "the test run gave no results"))?;
            let mut tests: Vec<TestResult> = serde_json::from_str(&text).map_err(|error| {
                ScriptError::new(name, format!("the test results could not be read: {error}"))
            })?;
            for failure in tests.iter_mut().filter_map(|test| test.error.as_mut()) {
                let stack = crate::source_lines::rewrite(&ctx, std::mem::take(&mut failure.stack));
                // Frames of Ferry's own prelude (evaluated without a file name) say nothing
                // about the test.
                failure.stack = stack
                    .lines()
                    .filter(|frame| !frame.contains("(eval_script:"))
                    .map(|frame| format!("{frame}\n"))
                    .collect();
                failure.line = file
                    .and_then(|file| line_in_stack(&failure.stack, file))
                    .or_else(|| line_in_stack(&failure.stack, name));
            }
            Ok(TestReport {
                file: name.to_string(),
                tests,
            })
        })
    }
}
