//! Running Ferry in production: Prometheus metrics (checked with the official Python
//! parser), JSON logs in rotated files with script logs apart, health checks through a
//! SIGTERM drain, security headers, CORS, rate limits and `ferry run`'s config file.

use std::process::Command;
use std::time::Duration;

use crate::support::{
    Ferry, client_json, examples, python_clients, run_app as run, run_to_end, site,
};

/// Parses the metrics at `url` with prometheus_client; returns its JSON report.
async fn scrape(url: &str) -> serde_json::Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/metrics_check.py"
    );
    let mut command = Command::new(python_clients());
    command.arg(script).arg(url);
    client_json(command, Duration::from_secs(30)).await
}

/// The value of the sample `name` with all of `labels`, if there is one.
fn sample(
    report: &serde_json::Value,
    family: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    report["families"][family]["samples"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(key, value)| s["labels"][key] == *value))
        .and_then(|s| s["value"].as_f64())
}

#[tokio::test]
async fn serve_metrics_are_valid_prometheus_text_with_every_family() {
    let site = site();
    let ferry = Ferry::serve(site.path(), &["--metrics"]);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client.get(ferry.url("/")).send().await.unwrap();
    }
    client.get(ferry.url("/missing")).send().await.unwrap();
    let report = scrape(&ferry.url("/metrics")).await;
    assert!(
        report["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{report}"
    );
    let families = &report["families"];
    assert_eq!(families["ferry_http_requests"]["type"], "counter");
    assert_eq!(
        families["ferry_http_request_duration_seconds"]["type"],
        "histogram"
    );
    assert_eq!(families["ferry_connections_open"]["type"], "gauge");
    assert_eq!(families["process_resident_memory_bytes"]["type"], "gauge");
    assert!(
        families["ferry_http_requests"]["help"]
            .as_str()
            .unwrap()
            .contains("by method")
    );
    let ok = [("method", "GET"), ("route", "(none)"), ("status", "200")];
    assert_eq!(
        sample(
            &report,
            "ferry_http_requests",
            "ferry_http_requests_total",
            &ok
        ),
        Some(3.0)
    );
    let missing = [("status", "404")];
    assert_eq!(
        sample(
            &report,
            "ferry_http_requests",
            "ferry_http_requests_total",
            &missing
        ),
        Some(1.0)
    );
    assert!(sample(&report, "ferry_sent_bytes", "ferry_sent_bytes_total", &[]).unwrap() > 0.0);
    assert!(
        sample(
            &report,
            "ferry_http_request_duration_seconds",
            "ferry_http_request_duration_seconds_count",
            &[("route", "(none)")]
        )
        .unwrap()
            >= 4.0
    );
}

#[tokio::test]
async fn a_worker_stuck_in_host_code_is_replaced_logged_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.js");
    std::fs::write(
        &app,
        r#"register("/ok", () => "ok");
register("/write", function write() { sharedStorage.setItem("k", "v"); return "written"; });"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    // The pool's threads are what the watchdog replaces (a server thread's worker it can
    // only report: see `every_documented_metric_family_appears`).
    let ferry = run(
        &app,
        &data,
        &[
            "--worker-model",
            "pool",
            "--workers",
            "1",
            "--timeout",
            "300",
            "--metrics",
        ],
    );
    let client = reqwest::Client::new();
    let write = || async {
        let response = client.get(ferry.url("/write")).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    assert_eq!(write().await, (200, "written".into()));
    // Another process holds the database: the write blocks inside SQLite, past the
    // interrupt handler's reach.
    let holder = rusqlite::Connection::open(data.join("ferry.db")).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let (status, body) = write().await;
    assert_eq!(status, 504, "{body}");
    // The deadline, the grace period (1 s) and the watchdog's tick: well before SQLite's
    // own five-second wait ends.
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "{:?}",
        started.elapsed()
    );
    // The only worker was replaced: the server still answers.
    let ok = client.get(ferry.url("/ok")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let logged = ferry.stderr_until(Duration::from_secs(5), |line| {
        line.contains("a fresh worker replaces it")
    });
    let line = logged.last().unwrap();
    assert!(
        line.contains("handler write (GET /write) in") && line.contains("stuck"),
        "{line}"
    );
    let report = scrape(&ferry.url("/metrics")).await;
    assert_eq!(
        sample(
            &report,
            "ferry_js_worker_replacements",
            "ferry_js_worker_replacements_total",
            &[]
        ),
        Some(1.0),
        "{report}"
    );
    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(write().await, (200, "written".into()));
}

#[tokio::test]
async fn run_metrics_on_their_own_listener_count_script_routes() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run(
        &examples().join("bench.js"),
        data.path(),
        &["--metrics-addr", "127.0.0.1:0"],
    );
    let banner = ferry.banner.join("\n");
    let metrics_url = banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("Metrics:"))
        .map(|url| url.trim().to_owned())
        .unwrap_or_else(|| panic!("no metrics URL in {banner}"));
    let client = reqwest::Client::new();
    for id in ["1", "2"] {
        let user = client
            .get(ferry.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(user.status(), 200);
    }
    // Not on the public port.
    let public = client.get(ferry.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let report = scrape(&metrics_url).await;
    let by_route = [("route", "/users/:id"), ("status", "200")];
    assert_eq!(
        sample(
            &report,
            "ferry_http_requests",
            "ferry_http_requests_total",
            &by_route
        ),
        Some(2.0),
        "{report}"
    );
    assert_eq!(
        report["families"]["ferry_js_call_duration_seconds"]["type"],
        "histogram"
    );
}

#[tokio::test]
async fn json_logs_go_to_a_rotated_file_and_script_logs_to_their_own() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let server_log = logs.path().join("ferry.log");
    let script_log = logs.path().join("scripts.log");
    let mut ferry = run(
        &examples().join("hello/app.js"),
        data.path(),
        &[
            "--log-format",
            "json",
            "--log-file",
            server_log.to_str().unwrap(),
            "--script-log-file",
            script_log.to_str().unwrap(),
        ],
    );
    let hello = reqwest::get(ferry.url("/hello?name=Ada")).await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "Hello, Ada!");
    ferry.signal("TERM");
    assert!(ferry.wait_exit(Duration::from_secs(10)).is_some());

    let read_all = |prefix: &str| -> String {
        std::fs::read_dir(logs.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(prefix)
            })
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect()
    };
    // Daily rotation: the file name carries the date.
    let names: Vec<String> = std::fs::read_dir(logs.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|name| name.starts_with("ferry.log.2")),
        "{names:?}"
    );
    let server = read_all("ferry.log");
    let scripts = read_all("scripts.log");
    let access = server
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|event| event["path"] == "/hello?name=Ada")
        .unwrap_or_else(|| panic!("no access line in {server}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["status"], 200);
    assert!(access["timestamp"].is_string());
    assert!(
        access["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let greeting = scripts
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|event| {
            event["message"]
                .as_str()
                .is_some_and(|m| m.contains("greeting Ada"))
        })
        .unwrap_or_else(|| panic!("no script line in {scripts}"));
    assert_eq!(greeting["request_id"], access["request_id"]);
    assert!(!server.contains("greeting Ada"), "{server}");
}

#[tokio::test]
async fn ready_answers_503_during_the_shutdown_delay_while_requests_are_served() {
    let data = tempfile::tempdir().unwrap();
    let mut ferry = run(
        &examples().join("hello/app.js"),
        data.path(),
        &["--shutdown-delay", "2"],
    );
    let client = reqwest::Client::new();
    let health: serde_json::Value = serde_json::from_str(
        &client
            .get(ferry.url("/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        client
            .get(ferry.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    ferry.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = reqwest::Client::new();
    assert_eq!(
        fresh
            .get(ferry.url("/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    let hello = fresh.get(ferry.url("/hello")).send().await.unwrap();
    assert_eq!(hello.text().await.unwrap(), "Hello, world!");
    assert!(ferry.wait_exit(Duration::from_secs(10)).unwrap().success());
}

#[tokio::test]
async fn security_headers_differ_between_serve_and_run_and_can_be_set() {
    let site = site();
    let serve = Ferry::serve(
        site.path(),
        &[
            "--csp",
            "default-src 'self'",
            "--referrer-policy",
            "no-referrer",
        ],
    );
    let page = reqwest::get(serve.url("/")).await.unwrap();
    let headers = page.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["content-security-policy"], "default-src 'self'");
    assert!(!headers.contains_key("strict-transport-security"));

    let data = tempfile::tempdir().unwrap();
    let app = run(&examples().join("hello/app.js"), data.path(), &[]);
    let hello = reqwest::get(app.url("/hello")).await.unwrap();
    assert_eq!(hello.headers()["x-frame-options"], "DENY");
    assert_eq!(
        hello.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );

    let bare = Ferry::serve(site.path(), &["--no-security-headers"]);
    let page = reqwest::get(bare.url("/")).await.unwrap();
    assert!(!page.headers().contains_key("x-frame-options"));
    assert!(!page.headers().contains_key("x-content-type-options"));
}

#[tokio::test]
async fn run_reads_its_config_file_for_rate_limits_and_cors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples().join("hello/app.js"), dir.path().join("app.js")).unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "rate_limit = \"2/min\"\ncors_origin = [\"https://app.example.com\"]\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let ferry = run(dir.path(), data.path(), &[]);
    assert!(
        ferry
            .banner
            .iter()
            .any(|line| line.contains("Settings:") && line.contains("ferry.toml")),
        "{:?}",
        ferry.banner
    );
    let client = reqwest::Client::new();
    let allowed = client
        .get(ferry.url("/hello"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let other = client
        .get(ferry.url("/hello"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    let limited = client.get(ferry.url("/hello")).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // Health checks are never rate limited.
    let health = client.get(ferry.url("/live")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn a_bad_limit_in_a_config_file_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "register('/', () => 'hi');\n").unwrap();
    std::fs::write(
        dir.path().join("ferry.toml"),
        "port = 0\nrate_limit = \"fast\"\n",
    )
    .unwrap();
    let (status, _, stderr) = run_to_end(&["run", dir.path().to_str().unwrap()]);
    assert!(!status.success());
    assert!(stderr.contains("ferry.toml:2"), "{stderr}");
    assert!(stderr.contains("rate_limit"), "{stderr}");
    assert!(stderr.contains("100/s"), "{stderr}");
}

/// The metric families of docs/operations.md's table, as the Prometheus parser names them
/// (a counter's family drops `_total`).
fn documented_families() -> std::collections::BTreeSet<String> {
    let operations = include_str!("../../docs/operations.md");
    let table = operations
        .split("| metric | type | labels | what |")
        .nth(1)
        .expect("docs/operations.md has the metrics table");
    table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('|').nth(1))
        .flat_map(|cell| cell.split(',').map(str::to_owned).collect::<Vec<_>>())
        .map(|name| {
            let name = name.trim().trim_matches('`');
            name.strip_suffix("_total").unwrap_or(name).to_owned()
        })
        .collect()
}

/// The URL of a `--metrics-addr` listener, from the banner.
fn metrics_url(ferry: &Ferry) -> String {
    let banner = ferry.banner.join("\n");
    banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("Metrics:"))
        .map(|url| url.trim().to_owned())
        .unwrap_or_else(|| panic!("no metrics URL in {banner}"))
}

/// The families a scrape of `url` reports.
async fn families_at(url: &str) -> Vec<String> {
    let report = scrape(url).await;
    report["families"]
        .as_object()
        .map(|families| families.keys().cloned().collect())
        .unwrap_or_default()
}

/// Sends `request` on a fresh connection to `ferry` and returns the stream, unread.
fn raw(ferry: &Ferry, request: &str) -> std::net::TcpStream {
    use std::io::Write;
    let authority = ferry
        .url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream
}

/// Every family the operations guide documents is exported once what it counts happens:
/// connections (refused, timed out, over TLS), requests, rate limits, scripts (errors,
/// queue, streams, sockets, a replaced worker, a stuck thread-per-core worker).
#[tokio::test]
async fn every_documented_metric_family_appears() {
    let documented = documented_families();
    assert!(documented.len() >= 20, "{documented:?}");
    let mut seen = std::collections::BTreeSet::new();
    let client = reqwest::Client::new();

    // Plain `ferry serve`: connections, limits, timeouts, requests, rate limits.
    let site = site();
    std::fs::write(site.path().join("big.bin"), vec![7u8; 16 << 20]).unwrap();
    let serve = Ferry::serve(
        site.path(),
        &[
            "--metrics-addr",
            "127.0.0.1:0",
            "--max-connections-per-ip",
            "3",
            "--header-timeout",
            "0.5",
            "--send-timeout",
            "0.5",
            "--rate-limit",
            "2/s",
        ],
    );
    let idle: Vec<_> = (0..4).map(|_| raw(&serve, "")).collect();
    let slow_reader = raw(&serve, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop((idle, slow_reader));
    for _ in 0..4 {
        let _ = client.get(serve.url("/")).send().await;
    }
    seen.extend(families_at(&metrics_url(&serve)).await);

    // TLS: a handshake (a failed one: plain HTTP sent to the HTTPS port).
    let tls = Ferry::serve(
        site.path(),
        &["--tls-self-signed", "--metrics-addr", "127.0.0.1:0"],
    );
    drop(raw(&tls, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.extend(families_at(&metrics_url(&tls)).await);

    // `ferry run`: scripts, streams, sockets, and a worker stuck in host code.
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.js");
    std::fs::write(
        &app,
        r#"register("/throw", () => { throw new Error("boom"); });
registerWebStream("/events");
registerWebSocket("/ws", { message(socket, data) { socket.send(data); } });
register("/write", () => { sharedStorage.setItem("k", "v"); return "written"; });
register("/turns", (context) => { const end = Date.now() + Number(context.request.query.ms); while (Date.now() < end) {} return "ok"; });"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let scripts = run(
        &app,
        &data,
        &[
            "--workers",
            "1",
            "--timeout",
            "300",
            "--metrics-addr",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(
        client
            .get(scripts.url("/throw"))
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    // A quick route (past its trials on the pool) turning slow on a server thread moves.
    for ms in [0; 100].into_iter().chain([50]) {
        let url = scripts.url(&format!("/turns?ms={ms}"));
        assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    }
    assert_eq!(
        client
            .get(scripts.url("/write"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let stream = raw(&scripts, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    let socket = raw(
        &scripts,
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    let holder = rusqlite::Connection::open(data.join("ferry.db")).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    assert_eq!(
        client
            .get(scripts.url("/write"))
            .send()
            .await
            .unwrap()
            .status(),
        504
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    seen.extend(families_at(&metrics_url(&scripts)).await);
    drop((stream, socket));

    // Thread-per-core: a stuck worker is its server thread, reported rather than replaced.
    let per_thread = run(
        &app,
        &dir.path().join("data-2"),
        &[
            "--worker-model",
            "thread-per-core",
            "--workers",
            "2",
            "--timeout",
            "300",
            "--metrics-addr",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(
        client
            .get(per_thread.url("/write"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let second = rusqlite::Connection::open(dir.path().join("data-2/ferry.db")).unwrap();
    second.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Both server threads get a write, so one of them is stuck whichever took it.
    let stuck: Vec<_> = (0..2)
        .map(|_| raw(&per_thread, "GET /write HTTP/1.1\r\nHost: x\r\n\r\n"))
        .collect();
    let url = metrics_url(&per_thread);
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    loop {
        let families = families_at(&url).await;
        let done = families.iter().any(|name| name == "ferry_js_worker_stuck");
        seen.extend(families);
        if done || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    second.execute_batch("COMMIT").unwrap();
    holder.execute_batch("COMMIT").unwrap();
    drop(stuck);

    let missing: Vec<&String> = documented.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "documented but never exported: {missing:?}"
    );
}
