//! Scripts' life cycle: init(), load errors that name file and line, replacing a script
//! while it serves, route clashes between scripts, unloading, and reloading from disk.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use ferry_js::{EngineError, Script};
use support::TestApp;

#[tokio::test]
async fn init_runs_once_per_worker_and_may_register_routes() {
    let app = TestApp::new(&[(
        "init.js",
        r#"
        let ready = false;
        async function init(context) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            ready = context.kind === "init";
            register("/ready", () => String(ready));
        }
        "#,
    )])
    .await;
    assert_eq!(app.text("/ready").await, (200, "true".into()));
}

#[tokio::test]
async fn registering_after_loading_throws() {
    let app = TestApp::new(&[(
        "late.js",
        r#"register("/late", () => { try { register("/later", () => "x"); return "no error"; } catch (e) { return e.message; } });"#,
    )])
    .await;
    let (status, body) = app.text("/late").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("only be registered while the script loads"),
        "{body}"
    );
}

#[tokio::test]
async fn load_errors_name_the_script_and_line() {
    let app = TestApp::new(&[]).await;
    let syntax = app
        .engine
        .load(Script::new(
            "broken.js",
            "register('/a', () => 'a');\nlet x = ;\n",
        ))
        .await
        .unwrap_err();
    assert!(
        syntax.to_string().starts_with("broken.js:2: SyntaxError"),
        "{syntax}"
    );
    let thrown = app
        .engine
        .load(Script::new("throws.js", "\n\nundefinedFunction();"))
        .await
        .unwrap_err();
    assert_eq!(
        thrown.to_string(),
        "throws.js:3: ReferenceError: undefinedFunction is not defined"
    );
    let init = app
        .engine
        .load(Script::new(
            "init.js",
            "function init() {\n  throw new Error('no database');\n}",
        ))
        .await
        .unwrap_err();
    assert_eq!(init.to_string(), "init.js:2: Error: no database");
    let pattern = app
        .engine
        .load(Script::new(
            "pattern.js",
            "register('no-slash', () => 'x');",
        ))
        .await
        .unwrap_err();
    assert!(
        pattern
            .to_string()
            .starts_with("pattern.js:1: Error: invalid route pattern"),
        "{pattern}"
    );
    assert!(app.engine.scripts().is_empty());
}

#[tokio::test]
async fn an_endless_loop_at_top_level_is_stopped() {
    let app = TestApp::with(
        1,
        ferry_js::Limits {
            call_timeout: Duration::from_millis(200),
            ..ferry_js::Limits::default()
        },
        false,
        &[],
    )
    .await;
    let error = app
        .engine
        .load(Script::new("spin.js", "while (true) {}"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("longer than 200 ms"), "{error}");
}

#[tokio::test]
async fn a_failed_reload_keeps_the_previous_version_running() {
    let app = TestApp::new(&[("app.js", r#"register("/v", () => "one");"#)]).await;
    let error = app
        .engine
        .load(Script::new(
            "app.js",
            "register('/v', () => 'two');\nthrow new Error('half done');",
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::Script(_)));
    assert_eq!(app.text("/v").await, (200, "one".into()));
    app.engine
        .load(Script::new("app.js", r#"register("/v", () => "three");"#))
        .await
        .unwrap();
    assert_eq!(app.text("/v").await, (200, "three".into()));
}

#[tokio::test]
async fn a_reload_swaps_routes_atomically() {
    let app = TestApp::new(&[("app.js", r#"register("/old", () => "old");"#)]).await;
    app.engine
        .load(Script::new("app.js", r#"register("/new", () => "new");"#))
        .await
        .unwrap();
    assert_eq!(app.get("/old").await.status(), 404);
    assert_eq!(app.text("/new").await, (200, "new".into()));
}

#[tokio::test]
async fn no_request_fails_while_a_script_is_replaced_under_load() {
    let app = Arc::new(TestApp::new(&[("app.js", r#"register("/x", () => "v0");"#)]).await);
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (app, stop, served) = (app.clone(), stop.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = app.text("/x").await;
                assert_eq!(status, 200, "a request failed during a reload: {body}");
                assert!(body.starts_with('v'), "{body}");
                served.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for version in 1..=20 {
        let source = format!("register('/x', () => 'v{version}');");
        app.engine
            .load(Script::new("app.js", source))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    assert!(served.load(Ordering::Relaxed) > 20);
    assert_eq!(app.text("/x").await.1, "v20");
}

#[tokio::test]
async fn a_route_clash_between_scripts_names_the_other_script() {
    let app = TestApp::new(&[("first.js", r#"register("/shared", () => "first");"#)]).await;
    let error = app
        .engine
        .load(Script::new(
            "second.js",
            r#"register("/shared", () => "second");"#,
        ))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("second.js:"), "{message}");
    assert!(message.contains("(by first.js)"), "{message}");
    assert_eq!(app.text("/shared").await.1, "first");
}

#[tokio::test]
async fn removing_a_script_removes_its_routes() {
    let app = TestApp::new(&[
        ("keep.js", r#"register("/keep", () => "kept");"#),
        ("drop.js", r#"register("/drop", () => "dropped");"#),
    ])
    .await;
    assert!(app.engine.remove("drop.js").await.unwrap());
    assert!(!app.engine.remove("drop.js").await.unwrap());
    assert_eq!(app.get("/drop").await.status(), 404);
    assert_eq!(app.text("/keep").await.1, "kept");
    let names: Vec<_> = app.engine.scripts().into_iter().map(|s| s.name).collect();
    assert_eq!(names, [Arc::from("keep.js")]);
}

#[tokio::test]
async fn a_removal_that_would_break_another_script_changes_nothing() {
    let app = TestApp::new(&[
        (
            "types.js",
            r#"register("/types", () => "types");
               registerGraphQLQuery("me", "me: User type User { name: String }", () => ({ name: "me" }));"#,
        ),
        (
            "uses.js",
            r#"registerGraphQLQuery("other", "other: User", () => ({ name: "other" }));"#,
        ),
    ])
    .await;
    let error = app.engine.remove("types.js").await.unwrap_err().to_string();
    assert!(error.contains("types.js"), "{error}");
    // Nothing was half-applied: the routes, the schema and the script list are as before.
    assert_eq!(app.text("/types").await, (200, "types".into()));
    let answer: serde_json::Value = app
        .client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({ "query": "{ me { name } other { name } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["data"],
        serde_json::json!({ "me": { "name": "me" }, "other": { "name": "other" } })
    );
    assert_eq!(app.engine.scripts().len(), 2);
}

#[tokio::test]
async fn changed_files_are_reloaded_and_broken_ones_leave_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.js");
    std::fs::write(&path, r#"register("/file", () => "first");"#).unwrap();
    let files = ferry_js::watch::ScriptFiles::new(dir.path()).unwrap();
    let app = TestApp::new(&[]).await;
    for script in files.read_all().unwrap() {
        app.engine.load(script).await.unwrap();
    }
    let _watcher = files
        .watch(app.engine.clone(), tokio::runtime::Handle::current())
        .unwrap();
    assert_eq!(app.text("/file").await.1, "first");

    std::fs::write(&path, r#"register("/file", () => "second");"#).unwrap();
    wait_for(&app, "/file", "second").await;

    std::fs::write(&path, "register('/file', () => 'third'); syntax error here").unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(app.text("/file").await.1, "second");

    std::fs::remove_file(&path).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.get("/file").await.status() != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "the deleted script still serves"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for(app: &TestApp, path: &str, expected: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if app.text(path).await.1 == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never answered {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
