//! `ferry test [APP]`: runs the app's test files on the engine and prints what passed,
//! then each failure with its file and line; the outcome is the exit status.

use std::time::Instant;

use anyhow::{Context as _, anyhow};
use ferry_js::EngineError;
use ferry_js::testing::{TestFiles, TestOutcome, TestSummary};

use crate::cli::TestArgs;
use crate::run::load_each;

/// Runs the tests; `Ok(false)` when one failed or a test file did not load.
pub(crate) async fn run(args: TestArgs) -> anyhow::Result<bool> {
    let tests = TestFiles::find(&args.app)?;
    let engine = args.engine.start().await?;
    if !args.no_app {
        // The app's own scripts first: the tests see what it registers (its GraphQL
        // schema, the global functions its routes name) and what its `init()` did.
        let scripts = TestFiles::app_scripts(&args.app).with_context(|| {
            format!(
                "cannot read the app's scripts beside {}",
                args.app.display()
            )
        })?;
        let hint =
            "ferry test loads the app's scripts before its tests; fix the script, or pass --no-app";
        load_each(&engine, scripts, hint).await?;
    }
    let started = Instant::now();
    let mut summary = TestSummary::default();
    for file in &tests.files {
        let outcome = match engine
            .run_tests(tests.read(file)?, args.filter.clone())
            .await
        {
            Ok(report) => TestOutcome::Ran(report),
            Err(EngineError::Script(error)) => TestOutcome::Broken(error.to_string()),
            Err(error) => return Err(anyhow!(error)),
        };
        let lines = summary.record(&outcome);
        if !args.json {
            print!("{lines}");
            continue;
        }
        match &outcome {
            TestOutcome::Ran(report) => println!("{}", serde_json::json!(report)),
            TestOutcome::Broken(error) => println!("{}", serde_json::json!({ "error": error })),
        }
    }
    if !args.json {
        print!("{}", summary.render(started.elapsed().as_millis()));
    }
    Ok(summary.passed())
}
