//! `ferry run`, run as a user runs it: the examples, static files beside routes, script
//! errors at start-up, hot reload from disk, the management API and shutdown.

use std::path::Path;
use std::time::Duration;

use crate::support::{
    Ferry, assert_bad_targets_and_hosts_are_refused, client_json, examples, python_clients,
    run_app as run, run_to_end,
};

#[tokio::test]
async fn run_serves_the_benchmark_script_and_lists_its_routes() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(&examples().join("bench.js"), data.path(), &[]);
    let banner = ferry.banner.join("\n");
    assert!(banner.contains("GET /users/:id"), "{banner}");
    assert!(banner.contains("POST /echo"), "{banner}");
    let client = reqwest::Client::new();
    let hello = client.get(ferry.url("/hello")).send().await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "Hello, world!");
    let json = client.get(ferry.url("/json")).send().await.unwrap();
    assert_eq!(json.headers()["content-type"], "application/json");
    let echo = client
        .post(ferry.url("/echo"))
        .header("content-type", "text/plain")
        .body("ping")
        .send()
        .await
        .unwrap();
    assert_eq!(echo.text().await.unwrap(), "ping");
    let health = client.get(ferry.url("/health")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);
    let user = client.get(ferry.url("/users/42")).send().await.unwrap();
    assert_eq!(
        user.text().await.unwrap(),
        r#"{"id":"42","name":"Ferry User"}"#
    );
    let logged = ferry.stderr_until(Duration::from_secs(5), |l| l.contains("GET /users/42"));
    assert!(
        logged.iter().any(|l| l.contains("GET /users/42 - 200 OK")),
        "{logged:?}"
    );
}

#[tokio::test]
async fn notes_example_keeps_its_data_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let app = examples().join("notes/app.js");
    let client = reqwest::Client::new();
    {
        let ferry = run(&app, data.path(), &[]);
        let created = client
            .post(ferry.url("/notes"))
            .body(r#"{"text":"buy milk"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let invalid = client
            .post(ferry.url("/notes"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(invalid.status(), 422);
    }
    let ferry = run(&app, data.path(), &[]);
    let notes: serde_json::Value = client
        .get(ferry.url("/notes"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap();
    assert_eq!(notes[0]["text"], "buy milk");
}

#[tokio::test]
async fn routes_come_first_and_static_files_answer_the_rest() {
    let data = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<p>static home</p>").unwrap();
    std::fs::write(site.path().join("hello"), "shadowed by the route").unwrap();
    let ferry = run(
        &examples().join("bench.js"),
        data.path(),
        &["--static", site.path().to_str().unwrap()],
    );
    let home = reqwest::get(ferry.url("/")).await.unwrap();
    assert_eq!(home.text().await.unwrap(), "<p>static home</p>");
    let hello = reqwest::get(ferry.url("/hello")).await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "Hello, world!");
    assert_eq!(
        reqwest::get(ferry.url("/missing")).await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn static_files_of_run_are_served_as_serve_serves_them_and_config_files_never() {
    // The app's directory is its own site: the config file beside the app (with the
    // management token in it) is also in the served directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.js"),
        r#"register("/api", () => "from the script");"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "admin-token = \"a-secret-token-of-32-characters!\"\n[headers]\n\"*.css\" = { \"X-Rule\" = \"css\" }\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("other")).unwrap();
    std::fs::write(
        dir.path().join("other/ferry.json"),
        "{\"admin-token\": \"x\"}",
    )
    .unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>home</p>").unwrap();
    std::fs::write(dir.path().join("style.css"), "p {}").unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run(
        &dir.path().join("app.js"),
        data.path(),
        &[
            "--static",
            dir.path().to_str().unwrap(),
            "--cache",
            "60",
            "-H",
            "X-Site: ferry",
        ],
    );
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(ferry.url(path)).send();
    for secret in ["/ferry.toml", "/other/ferry.json", "/FERRY.TOML"] {
        let response = get(secret).await.unwrap();
        assert_eq!(response.status(), 404, "{secret}");
        assert!(!response.text().await.unwrap().contains("secret"));
    }
    let listing = get("/other/").await.unwrap().text().await.unwrap();
    assert!(!listing.contains("ferry.json"), "{listing}");
    // The files get what `ferry serve` gives them: isolation, cache policy, -H, rules.
    let home = get("/").await.unwrap();
    assert_eq!(home.headers()["cross-origin-opener-policy"], "same-origin");
    assert_eq!(
        home.headers()["cross-origin-embedder-policy"],
        "require-corp"
    );
    assert_eq!(home.headers()["cache-control"], "max-age=60");
    assert_eq!(home.headers()["x-site"], "ferry");
    let style = get("/style.css").await.unwrap();
    assert_eq!(style.headers()["x-rule"], "css");
    // The script's own answers keep theirs.
    let api = get("/api").await.unwrap();
    assert!(api.headers().get("cross-origin-embedder-policy").is_none());
    assert!(api.headers().get("x-site").is_none());
    assert_eq!(api.text().await.unwrap(), "from the script");
}

#[test]
fn a_broken_script_stops_start_up_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.js");
    std::fs::write(
        &script,
        "register('/a', () => 'a');\n\nmissingFunction();\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let (status, _, stderr) = run_to_end(&[
        "run",
        script.to_str().unwrap(),
        "--port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("app.js:3: ReferenceError: missingFunction is not defined"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_data_directory_from_a_newer_ferry_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.js");
    std::fs::write(&script, "register('/a', () => 'a');\n").unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let database = data.join("ferry.db");
    rusqlite::Connection::open(&database)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let (status, _, stderr) = run_to_end(&[
        "run",
        script.to_str().unwrap(),
        "--port",
        "0",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(!status.success());
    assert!(
        stderr.contains("was written by a newer Ferry (schema version 999"),
        "{stderr}"
    );
    let tables: u32 = rusqlite::Connection::open(&database)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tables, 0, "nothing was written");
}

#[test]
fn a_missing_app_is_a_clear_error() {
    let (status, _, stderr) = run_to_end(&["run", "/nonexistent/app.js", "--port", "0"]);
    assert!(!status.success());
    assert!(
        stderr.contains("cannot read /nonexistent/app.js"),
        "{stderr}"
    );
}

#[tokio::test]
async fn editing_a_script_reloads_it_and_a_broken_edit_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("app.js");
    std::fs::write(&script, "register('/v', () => 'one');").unwrap();
    let ferry = run(&script, &dir.path().join("data"), &[]);
    let fetch = |ferry: &Ferry| {
        let url = ferry.url("/v");
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    assert_eq!(fetch(&ferry).await, "one");
    std::fs::write(&script, "register('/v', () => 'two');").unwrap();
    let reloaded = ferry.stderr_until(Duration::from_secs(10), |l| l.contains("reloaded"));
    assert!(
        reloaded.iter().any(|l| l.contains("reloaded")),
        "{reloaded:?}"
    );
    assert_eq!(fetch(&ferry).await, "two");
    std::fs::write(
        &script,
        "register('/v', () => 'three');\nthis is not javascript",
    )
    .unwrap();
    let failed = ferry.stderr_until(Duration::from_secs(10), |l| l.contains("keeps running"));
    let failure = failed.last().cloned().unwrap_or_default();
    assert!(failure.contains("app.js:2: SyntaxError"), "{failed:?}");
    assert_eq!(fetch(&ferry).await, "two");
}

#[tokio::test]
async fn the_management_api_needs_its_token_and_uploads_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let script = examples().join("bench.js");
    let token = "e2e-token-0123456789abcdef";
    let client = reqwest::Client::new();
    {
        let ferry = run(&script, &data, &["--admin-token", token]);
        let refused = client
            .get(ferry.url("/engine/scripts"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let uploaded = client
            .post(ferry.url("/engine/upsert_script"))
            .bearer_auth(token)
            .form(&[
                ("uri", "https://example.com/extra"),
                ("content", "register('/extra', () => 'extra')"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 200);
        assert_eq!(
            reqwest::get(ferry.url("/extra"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "extra"
        );
    }
    // Without a token the API does not exist, but the uploaded script still runs.
    let ferry = run(&script, &data, &[]);
    assert_eq!(
        reqwest::get(ferry.url("/extra"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "extra"
    );
    assert_eq!(
        reqwest::get(ferry.url("/engine/scripts"))
            .await
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn a_short_admin_token_is_refused() {
    let (status, _, stderr) = run_to_end(&["run", "app.js", "--admin-token", "short"]);
    assert!(!status.success());
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

#[tokio::test]
async fn sigterm_stops_ferry_run_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let mut ferry = run(&examples().join("bench.js"), data.path(), &[]);
    assert_eq!(
        reqwest::get(ferry.url("/hello")).await.unwrap().status(),
        200
    );
    ferry.signal("TERM");
    let status = ferry
        .wait_exit(Duration::from_secs(10))
        .expect("ferry exits");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn every_worker_model_serves_the_same_app() {
    let data = tempfile::tempdir().unwrap();
    for (model, workers) in [
        ("thread-per-core", "on 2 JavaScript workers\n"),
        ("pool", "on 2 JavaScript workers\n"),
        (
            "auto",
            "on 4 JavaScript workers (2 on the server threads, 2 in the pool)",
        ),
    ] {
        let ferry = run(
            &examples().join("bench.js"),
            data.path(),
            &["--worker-model", model, "--workers", "2"],
        );
        let banner = ferry.banner.join("\n");
        assert!(banner.contains(workers), "{model}: {banner}");
        let client = reqwest::Client::new();
        for _ in 0..10 {
            let user = client.get(ferry.url("/users/7")).send().await.unwrap();
            assert_eq!(user.status(), 200, "{model}");
            assert_eq!(
                user.text().await.unwrap(),
                r#"{"id":"7","name":"Ferry User"}"#
            );
        }
    }
}

/// `--worker-model auto` starts a route on the pool and runs it on the server thread once it
/// has shown itself quick; a route whose call then holds the thread too long goes back to
/// the pool. Either way a quick request on the same (only) server thread is answered while
/// a slow call runs. Thread-per-core, the control, makes the quick request wait.
#[tokio::test]
async fn auto_model_keeps_slow_calls_off_the_server_thread() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("paces.js");
    std::fs::write(
        &script,
        "const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} };\n\
         register('/work', (context) => { spin(Number(context.request.query.ms ?? 0)); return 'worked'; });\n\
         register('/slow', () => { spin(700); return 'slow'; });\n\
         register('/quick', () => 'quick');\n",
    )
    .unwrap();
    // How long `/quick` waits while `path` runs.
    async fn quick_beside(ferry: &Ferry, path: &str) -> Duration {
        let slow = tokio::spawn(reqwest::get(ferry.url(path)));
        // The slow call is under way.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = std::time::Instant::now();
        let quick = reqwest::get(ferry.url("/quick")).await.unwrap();
        assert_eq!(quick.text().await.unwrap(), "quick");
        let waited = asked.elapsed();
        assert_eq!(slow.await.unwrap().unwrap().status(), 200, "{path}");
        waited
    }
    for model in ["auto", "thread-per-core"] {
        let ferry = run(
            &script,
            &dir.path().join(model),
            &[
                "--worker-model",
                model,
                "--workers",
                "1",
                "--timeout",
                "5000",
            ],
        );
        let client = reqwest::Client::new();
        // Trials: the default wants eight calls answered within a millisecond.
        for _ in 0..100 {
            for path in ["/quick", "/work?ms=0"] {
                let answer = client.get(ferry.url(path)).send().await.unwrap();
                assert_eq!(answer.status(), 200, "{model} {path}");
            }
        }
        // A route slow from its first call.
        let waited = quick_beside(&ferry, "/slow").await;
        if model == "auto" {
            assert!(
                waited < Duration::from_millis(300),
                "auto: waited {waited:?}"
            );
        } else {
            assert!(
                waited >= Duration::from_millis(300),
                "{model}: waited {waited:?}"
            );
            continue;
        }
        // A quick route turning slow: one call holds the thread, then it moves.
        let turned = client.get(ferry.url("/work?ms=700")).send().await.unwrap();
        assert_eq!(turned.text().await.unwrap(), "worked");
        let lines = ferry.stderr_until(Duration::from_secs(5), |line| {
            line.contains("held a server thread")
        });
        let moved = lines.last().cloned().unwrap_or_default();
        assert!(
            moved.contains("GET /work") && moved.contains("worker pool"),
            "{lines:?}"
        );
        let waited = quick_beside(&ferry, "/work?ms=700").await;
        assert!(
            waited < Duration::from_millis(300),
            "auto: waited {waited:?}"
        );
    }
}

#[tokio::test]
async fn script_logs_carry_the_script_and_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("logging.js");
    std::fs::write(
        &script,
        "register('/log', () => { console.warn('custom marker', { n: 1 }); return 'ok'; });",
    )
    .unwrap();
    let ferry = run(&script, &dir.path().join("data"), &[]);
    let response = reqwest::get(ferry.url("/log")).await.unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let lines = ferry.stderr_until(Duration::from_secs(5), |l| l.contains("custom marker"));
    let line = lines.last().cloned().unwrap_or_default();
    assert!(
        line.starts_with("warning: custom marker {\"n\":1}"),
        "{lines:?}"
    );
    assert!(line.contains("logging.js"), "{line}");
    assert!(line.contains(&request_id), "{line} lacks {request_id}");
}

/// The dashboard example: a browser-style client follows `/live` for one sensor while
/// readings are posted; it receives its sensor's readings only, as SSE events.
#[tokio::test]
async fn dashboard_example_pushes_readings_to_stream_clients() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(
        &examples().join("dashboard/app.js"),
        data.path(),
        &["--sse-heartbeat", "1"],
    );
    assert!(
        ferry.banner.join("\n").contains("STREAM /live"),
        "{:?}",
        ferry.banner
    );
    let client = reqwest::Client::new();
    let mut live = client
        .get(ferry.url("/live?sensor=temperature"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    // The first heartbeat shows the stream is established before readings are posted.
    let first = tokio::time::timeout(Duration::from_secs(5), live.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b": keep-alive\n\n");
    for (sensor, value) in [("humidity", 40), ("temperature", 21)] {
        let posted = client
            .post(ferry.url("/readings"))
            .body(format!(r#"{{"sensor":"{sensor}","value":{value}}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
    }
    let mut received = String::new();
    while !received.contains("\n\n") || received.starts_with(':') {
        if received.starts_with(": keep-alive\n\n") {
            received.drain(..": keep-alive\n\n".len());
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), live.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        received.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(
        received.starts_with("id: 2\ndata: {\"sensor\":\"temperature\",\"value\":21,"),
        "{received}"
    );
    let page = client.get(ferry.url("/")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("new EventSource"));
}

/// The WebSocket example, driven by a real client (Python `websockets`): echo of text,
/// binary, fragmented and large messages, ping/pong, the close handshake, and the chat's
/// joins, broadcasts, refusal of binary messages and leaves.
#[tokio::test]
async fn websocket_example_works_with_the_python_websockets_client() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(&examples().join("websocket/app.js"), data.path(), &[]);
    assert!(
        ferry.banner.join("\n").contains("WEBSOCKET /chat"),
        "{:?}",
        ferry.banner
    );
    let base = ferry.url("").replacen("http://", "ws://", 1);
    let client = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/ws_client.py"
    ));
    let mut command = std::process::Command::new(python_clients());
    command.arg(client).arg(base.trim_end_matches('/'));
    let seen = client_json(command, Duration::from_secs(30)).await;
    let echo = &seen["echo"];
    assert_eq!(echo["text"], "hello");
    assert_eq!(echo["binary"], serde_json::json!([0, 1, 255]));
    assert_eq!(echo["fragmented"], "fragmented");
    assert_eq!(echo["big"], true);
    assert_eq!(echo["pong"], true);
    assert_eq!(echo["close_code"], 1000);
    let chat = &seen["chat"];
    assert_eq!(chat["ann_welcome"]["name"], "ann");
    assert_eq!(chat["bob_welcome"]["name"], "bob");
    assert_eq!(
        chat["joined"],
        serde_json::json!({ "type": "joined", "name": "bob" })
    );
    assert_eq!(
        chat["to_bob"],
        serde_json::json!({ "type": "message", "from": "ann", "text": "hi bob" })
    );
    assert_eq!(chat["refused"]["code"], 4003);
    assert_eq!(chat["refused"]["reason"], "text messages only");
    assert_eq!(
        chat["left"],
        serde_json::json!({ "type": "left", "name": "bob" })
    );
}

/// Runs `tests/graphql/SCRIPT URL` (real GraphQL clients on Node, installed by
/// scripts/install-test-tools) and returns the JSON it prints last.
async fn graphql_client(script: &str, url: &str) -> serde_json::Value {
    let clients = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/graphql"));
    assert!(
        clients.join("node_modules/graphql-http").is_dir(),
        "the GraphQL clients are not installed: run scripts/install-test-tools"
    );
    let mut command = std::process::Command::new("node");
    command.arg(clients.join(script)).arg(url);
    client_json(command, Duration::from_secs(60)).await
}

/// The GraphQL example: queries and mutations over HTTP, a resolver's error with its path,
/// and every audit of the `graphql-http` suite (GraphQL over HTTP conformance) passing.
#[tokio::test]
async fn graphql_example_answers_and_passes_the_graphql_http_audit() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(&examples().join("graphql/app.js"), data.path(), &[]);
    assert!(
        ferry.banner.join("\n").contains("GRAPHQL query todos"),
        "{:?}",
        ferry.banner
    );
    let client = reqwest::Client::new();
    let post = |query: &str| {
        client
            .post(ferry.url("/graphql"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "query": query }).to_string())
            .send()
    };
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let added = json(
        post("mutation { addTodo(text: \"write docs\") { id text done } }")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        added,
        serde_json::json!({ "data": { "addTodo": { "id": "1", "text": "write docs", "done": false } } })
    );
    let failed = json(
        post("mutation { setDone(id: \"9\") { id } }")
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(failed["errors"][0]["message"], "no todo 9");
    assert_eq!(failed["errors"][0]["path"], serde_json::json!(["setDone"]));
    let listed = json(
        client
            .get(ferry.url("/graphql?query=%7Btodos%7Btext%7D%7D"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        listed,
        serde_json::json!({ "data": { "todos": [{ "text": "write docs" }] } })
    );

    let report = graphql_client("audit.mjs", &ferry.url("/graphql")).await;
    let audits = report["audits"].as_array().unwrap();
    assert!(audits.len() >= 50, "the suite ran {} audits", audits.len());
    let failing: Vec<_> = audits
        .iter()
        .filter(|audit| audit["status"] != "ok")
        .collect();
    assert!(failing.is_empty(), "audits not passed: {failing:#?}");
}

/// The GraphQL chat example with the real graphql-ws (WebSocket) and graphql-sse clients:
/// both subscriptions receive the message a mutation sends to their room.
#[tokio::test]
async fn chat_example_delivers_subscriptions_to_graphql_ws_and_graphql_sse_clients() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(&examples().join("chat/app.js"), data.path(), &[]);
    assert!(
        ferry
            .banner
            .join("\n")
            .contains("GRAPHQL subscription messages"),
        "{:?}",
        ferry.banner
    );
    let received = graphql_client("subscribe.mjs", &ferry.url("/graphql")).await;
    let expected = serde_json::json!({ "room": "e2e", "author": "node", "text": "hello" });
    assert_eq!(received["ws"]["data"]["messages"], expected, "{received}");
    assert_eq!(received["sse"]["data"]["messages"], expected, "{received}");
}

/// Runs `tests/python/mcp_client.py ARGS` (the official MCP Python SDK) and returns what
/// it printed last.
async fn mcp_client(args: Vec<std::ffi::OsString>) -> serde_json::Value {
    let client = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/mcp_client.py"
    ));
    let mut command = std::process::Command::new(python_clients());
    command.arg(client).args(args);
    client_json(command, Duration::from_secs(60)).await
}

/// What the MCP example offers, as the SDK sees it over either transport.
fn assert_mcp_example(seen: &serde_json::Value) {
    assert_eq!(seen["server"], "ferry", "{seen}");
    assert_eq!(
        seen["tools"],
        serde_json::json!(["add", "save_note"]),
        "{seen}"
    );
    assert_eq!(seen["add"], "5", "{seen}");
    assert_eq!(seen["bad_args"]["is_error"], true, "{seen}");
    assert!(
        seen["bad_args"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("$.b is required"),
        "{seen}"
    );
    assert_eq!(
        seen["save"]["structured"],
        serde_json::json!({ "saved": "n1", "length": 11 }),
        "{seen}"
    );
    assert_eq!(
        seen["resources"],
        serde_json::json!(["config://app"]),
        "{seen}"
    );
    assert_eq!(
        seen["templates"],
        serde_json::json!(["notes://{id}"]),
        "{seen}"
    );
    assert_eq!(seen["note"], serde_json::json!(["hello notes"]), "{seen}");
    assert_eq!(seen["config_mime"], "application/json", "{seen}");
    assert_eq!(
        seen["prompts"],
        serde_json::json!(["summarize", "translate"]),
        "{seen}"
    );
    // aiwebengine's prompt shape: the result object, and completions for its arguments.
    assert_eq!(
        seen["translate"],
        serde_json::json!({
            "description": "Translate into English",
            "messages": [["user", "Translate into English:\n\nhei"]],
        }),
        "{seen}"
    );
    assert_eq!(
        seen["completion"],
        serde_json::json!({ "values": ["Finnish", "French"], "total": 2, "has_more": false }),
        "{seen}"
    );
    assert_eq!(
        seen["prompt"],
        serde_json::json!([[
            "user",
            "Summarize in one sentence:\n\nFerry is a web server."
        ]]),
        "{seen}"
    );
}

/// The MCP example over Streamable HTTP with the official Python SDK: tools (arguments
/// checked against the schema), resources and templates, prompts, and
/// `notifications/tools/list_changed` when the script is edited.
#[tokio::test]
async fn mcp_example_over_streamable_http_with_the_python_sdk() {
    let data = tempfile::tempdir().unwrap();
    let app = data.path().join("app.js");
    std::fs::copy(examples().join("mcp/app.js"), &app).unwrap();
    let ferry = run(&app, &data.path().join("data"), &[]);
    assert!(
        ferry.banner.join("\n").contains("MCP tool add"),
        "{:?}",
        ferry.banner
    );
    let seen = mcp_client(vec!["http".into(), ferry.url("/mcp").into(), app.into()]).await;
    assert_mcp_example(&seen);
    assert_eq!(seen["list_changed"], true, "{seen}");
    assert_eq!(
        seen["tools_after_reload"],
        serde_json::json!(["add", "ping", "save_note"]),
        "{seen}"
    );
}

/// `ferry mcp APP` speaks MCP over stdio to the same SDK.
#[tokio::test]
async fn ferry_mcp_serves_the_example_over_stdio() {
    let data = tempfile::tempdir().unwrap();
    let ferry = std::path::PathBuf::from(env!("CARGO_BIN_EXE_ferry"));
    let seen = mcp_client(vec![
        "stdio".into(),
        ferry.into(),
        examples().join("mcp/app.js").into(),
        data.path().into(),
    ])
    .await;
    assert_mcp_example(&seen);
}

/// `/mcp` refuses browsers from other origins (DNS rebinding, cross-site requests) and,
/// with `--mcp-token`, requests without the token.
#[tokio::test]
async fn mcp_checks_origin_and_token() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(
        &examples().join("mcp/app.js"),
        data.path(),
        &["--mcp-token", "a-long-enough-token-123"],
    );
    let client = reqwest::Client::new();
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "e2e", "version": "1" } }
    });
    let post = |token: Option<&str>, origin: Option<&str>| {
        let mut request = client
            .post(ferry.url("/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(initialize.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let no_token = post(None, None).await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(
        no_token.headers()["www-authenticate"],
        "Bearer realm=\"ferry\""
    );
    assert_eq!(post(Some("wrong"), None).await.unwrap().status(), 401);
    let evil = post(
        Some("a-long-enough-token-123"),
        Some("https://evil.example"),
    )
    .await
    .unwrap();
    assert_eq!(evil.status(), 403);
    let local = post(
        Some("a-long-enough-token-123"),
        Some("http://localhost:3000"),
    )
    .await
    .unwrap();
    assert_eq!(local.status(), 200);
}

#[test]
fn run_refuses_requests_without_a_valid_host_or_target() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(&examples().join("bench.js"), data.path(), &[]);
    assert_bad_targets_and_hosts_are_refused(&ferry);
}

/// The board example: posts kept in the script's SQL database, posting for signed-in
/// users only, new posts pushed to every open stream, deleting for authors and
/// administrators.
#[tokio::test]
async fn the_board_example_keeps_posts_in_sql_for_signed_in_users_and_streams_them() {
    use crate::auth::{dev_sign_in, json};
    use reqwest::header::COOKIE;
    let data = tempfile::tempdir().unwrap();
    let ferry = run(
        &examples().join("board"),
        data.path(),
        &["--dev", "--sse-heartbeat", "1"],
    );
    let client = reqwest::Client::new();
    assert_eq!(
        json(client.get(ferry.url("/posts")).send().await.unwrap()).await,
        serde_json::json!([])
    );
    let anonymous = client
        .post(ferry.url("/posts"))
        .body(r#"{"text":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut live = client.get(ferry.url("/events")).send().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), live.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(&first[..], b": keep-alive\n\n");

    let (eve, _) = dev_sign_in(&ferry, "eve", "editor").await;
    let post = |cookie: String, text: &'static str| {
        client
            .post(ferry.url("/posts"))
            .header(COOKIE, cookie)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "text": text }).to_string())
            .send()
    };
    let created = post(eve.clone(), "hello <board>").await.unwrap();
    assert_eq!(created.status(), 201);
    let created = json(created).await;
    assert_eq!(
        (created["author"].clone(), created["text"].clone()),
        ("eve".into(), "hello <board>".into())
    );
    let mut received = String::new();
    while !received.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), live.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        received.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let data_line = received
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(data_line).unwrap(),
        created
    );
    assert_eq!(post(eve.clone(), "   ").await.unwrap().status(), 422);
    post(eve.clone(), "second").await.unwrap();
    let posts = json(client.get(ferry.url("/posts")).send().await.unwrap()).await;
    let texts: Vec<&str> = posts
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["second", "hello <board>"]);

    let id = created["id"].as_i64().unwrap();
    let delete = |cookie: String, id: i64| {
        client
            .delete(ferry.url(&format!("/posts/{id}")))
            .header(COOKIE, cookie)
            .send()
    };
    let (bob, _) = dev_sign_in(&ferry, "bob", "user").await;
    assert_eq!(delete(bob, id).await.unwrap().status(), 403);
    assert_eq!(delete(eve.clone(), id).await.unwrap().status(), 204);
    assert_eq!(delete(eve, id).await.unwrap().status(), 404);
    let (ada, _) = dev_sign_in(&ferry, "ada", "administrator").await;
    let second = posts[0]["id"].as_i64().unwrap();
    assert_eq!(delete(ada, second).await.unwrap().status(), 204);
    assert_eq!(
        json(client.get(ferry.url("/posts")).send().await.unwrap()).await,
        serde_json::json!([])
    );
    let page = client
        .get(ferry.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("EventSource(\"/events\")"), "{page}");
}
