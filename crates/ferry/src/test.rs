//! `ferry test [APP]`: runs the app's test files on the engine and prints what passed,
//! then each failure with its file and line; the outcome is the exit status.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use ferry_js::testing::{TestFiles, TestOutcome, TestSummary};
use ferry_js::watch::{ReadError, ScriptFiles};
use ferry_js::{Engine, EngineError};

use crate::cli::TestArgs;

/// Runs the tests; `Ok(false)` when one failed or a test file did not load.
pub(crate) async fn run(args: TestArgs) -> anyhow::Result<bool> {
    let tests = TestFiles::find(&args.app)?;
    let engine = args.engine.start().await?;
    if !args.no_app {
        load_app(&engine, &args.app).await?;
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

/// Loads the app's own scripts, as `ferry run` would (those directly in the directory
/// given, or beside the one test file given): the tests then see what the app registers
/// (its GraphQL schema, its routes' global functions) and what its `init()` did.
async fn load_app(engine: &Engine, app: &Path) -> anyhow::Result<()> {
    let dir = if app.is_dir() {
        app
    } else {
        app.parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    };
    let scripts = match ScriptFiles::new(dir).and_then(|files| files.read_all()) {
        Ok(scripts) => scripts,
        // A directory of tests alone: nothing to load.
        Err(ReadError::Empty { .. }) => Vec::new(),
        Err(error) => {
            return Err(anyhow!(error))
                .with_context(|| format!("cannot read the app's scripts in {}", dir.display()));
        }
    };
    for script in scripts {
        engine.load(script).await.map_err(|error| {
            anyhow!(
                "{error}\n  hint: ferry test loads the app's scripts before its tests; fix the script, or pass --no-app"
            )
        })?;
    }
    Ok(())
}
