//! `schedulerService`: jobs registered by scripts run on time from the job table, once
//! per cluster (two engines on one store), keep their schedule across reloads, record
//! their failures, go with their script, and refuse bad schedules at load.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_js::{EngineOptions, Script};
use ferry_store::{JobQueue, JobRecord, Store};
use support::TestApp;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A script whose jobs append what they were told to `sharedStorage` key "runs".
fn recorder(jobs: &str) -> String {
    format!(
        r#"
function record(context) {{
  const runs = JSON.parse(sharedStorage.getItem("runs") ?? "[]");
  runs.push([context.kind, context.args.name, context.args.scheduledTime, context.args.cron]);
  sharedStorage.setItem("runs", JSON.stringify(runs));
}}
register("/runs", () => sharedStorage.getItem("runs") ?? "[]");
{jobs}
"#
    )
}

async fn runs(app: &TestApp) -> Vec<serde_json::Value> {
    serde_json::from_str(&app.text("/runs").await.1).unwrap()
}

/// Waits until `done` holds for the runs recorded, at most `limit`.
async fn wait_for(
    app: &TestApp,
    limit: Duration,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let seen = runs(app).await;
        if done(&seen) || started.elapsed() > limit {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn jobs_of(store: &Store, script: &str) -> Vec<JobRecord> {
    store.connect().unwrap().jobs(script).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn jobs_run_on_time_and_once() {
    let at = now_ms() + 300;
    let source = recorder(&format!(
        r#"
schedulerService.registerRecurring({{ handler: record, name: "tick", intervalMilliseconds: 1000, startAt: Date.now() }});
schedulerService.registerOnce({{ handler: "record", name: "once", runAt: {at} }});
"#
    ));
    let app =
        TestApp::with_options(EngineOptions::default(), &[("jobs.js", source.as_str())]).await;
    let seen = wait_for(&app, Duration::from_secs(5), |runs| {
        runs.iter().filter(|run| run[1] == "tick").count() >= 3
    })
    .await;
    let ticks: Vec<i64> = seen
        .iter()
        .filter(|run| run[1] == "tick")
        .map(|run| run[2].as_i64().unwrap())
        .collect();
    assert!(ticks.len() >= 3, "{seen:?}");
    for pair in ticks.windows(2) {
        assert!(pair[1] - pair[0] >= 900, "a second apart: {ticks:?}");
    }
    let once: Vec<_> = seen.iter().filter(|run| run[1] == "once").collect();
    assert_eq!(once.len(), 1, "{seen:?}");
    assert_eq!(once[0][0], "scheduledJob");
    assert_eq!(once[0][2], at);

    // Loading the same script again keeps the schedule: the one-off job does not run again.
    app.engine
        .load(Script::new("jobs.js", source.as_str()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = runs(&app).await;
    assert_eq!(
        again.iter().filter(|run| run[1] == "once").count(),
        1,
        "{again:?}"
    );
    let store = app.engine.store().unwrap();
    let names: Vec<String> = jobs_of(store, "jobs.js")
        .into_iter()
        .map(|job| job.name)
        .collect();
    assert_eq!(names, ["once", "tick"]);

    // A script that is removed takes its jobs with it.
    assert!(app.engine.remove("jobs.js").await.unwrap());
    assert!(jobs_of(store, "jobs.js").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cron_job_fires_and_is_due_at_the_next_match() {
    let source = recorder(
        r#"schedulerService.registerCron({ handler: record, name: "quarter", cron: "*/15 * * * *" });"#,
    );
    // Times are compared with the moments before and after the step, not with "now"
    // afterwards: the clock may pass a quarter hour during the test.
    let loading = now_ms();
    let app =
        TestApp::with_options(EngineOptions::default(), &[("cron.js", source.as_str())]).await;
    let store = app.engine.store().unwrap().clone();
    let job = jobs_of(&store, "cron.js").remove(0);
    let quarter = 15 * 60 * 1000;
    assert_eq!(job.due % quarter, 0, "due on a quarter hour");
    assert!(job.due > loading && job.due <= now_ms() + quarter);

    // Make it due now, as the clock reaching the quarter would.
    let due_now = JobRecord {
        due: now_ms(),
        ..job.clone()
    };
    store.connect().unwrap().schedule_job(&due_now).unwrap();
    let seen = wait_for(&app, Duration::from_secs(5), |runs| !runs.is_empty()).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0][1], "quarter");
    assert_eq!(seen[0][3], "*/15 * * * *");
    let after = jobs_of(&store, "cron.js").remove(0);
    assert_eq!(after.runs, 1);
    assert_eq!(after.due % quarter, 0);
    // The next match after the run, which came once it was due.
    assert!(after.due > due_now.due, "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_engines_on_one_store_run_each_job_once() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::sqlite(data.path()).unwrap();
    let source = recorder(
        r#"schedulerService.registerRecurring({ handler: record, name: "shared", intervalMilliseconds: 1000, startAt: 0 });"#,
    );
    let first = TestApp::with_store(
        EngineOptions::default(),
        Some(store.clone()),
        &[("both.js", source.as_str())],
    )
    .await;
    let _second = TestApp::with_store(
        EngineOptions::default(),
        Some(store.clone()),
        &[("both.js", source.as_str())],
    )
    .await;
    let seen = wait_for(&first, Duration::from_secs(6), |runs| runs.len() >= 4).await;
    let mut times: Vec<i64> = seen.iter().map(|run| run[2].as_i64().unwrap()).collect();
    assert!(times.len() >= 4, "{seen:?}");
    let count = times.len();
    times.dedup();
    assert_eq!(times.len(), count, "no run twice: {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_recorded_and_the_job_goes_on() {
    let source = r#"
let calls = 0;
schedulerService.registerRecurring({
  name: "flaky",
  intervalMilliseconds: 1000,
  startAt: 0,
  handler: () => {
    calls += 1;
    throw new Error("the upstream is down");
  },
});
"#;
    let app = TestApp::with_options(EngineOptions::default(), &[("flaky.js", source)]).await;
    let store = app.engine.store().unwrap().clone();
    let started = Instant::now();
    let job = loop {
        let job = jobs_of(&store, "flaky.js").remove(0);
        if job.runs >= 1 || started.elapsed() > Duration::from_secs(5) {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(job.runs >= 1);
    assert!(
        job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("the upstream is down"),
        "{job:?}"
    );
    assert!(job.due > now_ms() - 1000, "due again");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_schedules_are_refused_at_load() {
    let app = TestApp::with_options(EngineOptions::default(), &[]).await;
    for (jobs, expected) in [
        (
            r#"schedulerService.registerCron({ handler: record, name: "bad", cron: "every minute" });"#,
            "not a 5-field cron expression",
        ),
        (
            r#"schedulerService.registerRecurring({ handler: record, intervalMilliseconds: 10 });"#,
            "the shortest is 1000 ms",
        ),
        (
            r#"schedulerService.registerCron({ handler: record, cron: "0 9 * * *", timezone: "Mars/Olympus" });"#,
            "fixed offset",
        ),
        (
            r#"schedulerService.registerOnce({ handler: record, runAt: "not a date" });"#,
            "runAt must be a Date",
        ),
        (
            r#"schedulerService.registerOnce({ handler: 42, runAt: 0 });"#,
            "handler must be a function",
        ),
    ] {
        let error = app
            .engine
            .load(Script::new("bad.js", recorder(jobs).as_str()))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{jobs}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_default_scheduled_runs_on_its_crons() {
    let source = r#"
register("/runs", () => sharedStorage.getItem("runs") ?? "[]");
export default {
  crons: ["*/15 * * * *"],
  async scheduled(controller, env, ctx) {
    await Promise.resolve();
    ctx.waitUntil(Promise.resolve().then(() => {
      const runs = JSON.parse(sharedStorage.getItem("runs") ?? "[]");
      runs.push([controller.type, controller.cron, typeof controller.scheduledTime]);
      sharedStorage.setItem("runs", JSON.stringify(runs));
    }));
  },
};
"#;
    let app = TestApp::with_options(EngineOptions::default(), &[("worker.js", source)]).await;
    let store = app.engine.store().unwrap().clone();
    let job = jobs_of(&store, "worker.js").remove(0);
    assert_eq!(job.name, "scheduled */15 * * * *");
    let due_now = JobRecord {
        due: now_ms(),
        ..job.clone()
    };
    store.connect().unwrap().schedule_job(&due_now).unwrap();
    let seen = wait_for(&app, Duration::from_secs(5), |runs| !runs.is_empty()).await;
    assert_eq!(
        seen,
        [serde_json::json!(["scheduled", "*/15 * * * *", "number"])]
    );
    // Without crons there is no schedule: the load says how to give one.
    let error = app
        .engine
        .load(Script::new(
            "nocron.js",
            "export default { scheduled() {} };",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("crons"), "{error}");
}
