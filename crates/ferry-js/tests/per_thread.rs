//! The thread-per-core model: the server thread's own worker runs the scripts of the
//! requests it accepts; and the `auto` model, which adds a pool for what is slow. Each test
//! serves on the test's current-thread runtime, with the worker attached to it.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::time::Duration;

use ferry_core::App;
use ferry_core::router::RouterService;
use ferry_js::{Engine, EngineOptions, Limits, NetPolicy, OutboundOptions, Script, WorkerModel};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Serves `scripts` on this thread's worker and runs `test` against the base URL.
async fn with_local_server<F, Fut>(limits: Limits, scripts: &[(&str, &str)], test: F)
where
    F: FnOnce(Engine, String) -> Fut,
    Fut: Future<Output = ()>,
{
    serve_attached(WorkerModel::PerThread, limits, scripts, test).await;
}

/// Serves `scripts` in `model` with this thread's worker attached (and, in `auto`, a pool
/// of one) and runs `test` against the base URL.
async fn serve_attached<F, Fut>(
    model: WorkerModel,
    limits: Limits,
    scripts: &[(&str, &str)],
    test: F,
) where
    F: FnOnce(Engine, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineOptions {
        limits,
        store: Some(ferry_store::Store::sqlite(data.path()).unwrap()),
        model,
        workers: 1,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            tokio::task::spawn_local(engine.attach_worker().unwrap());
            for (name, source) in scripts {
                engine.load(Script::new(*name, *source)).await.unwrap();
            }
            let server = App::new()
                .fallback(RouterService::new(engine.routes(), None))
                .bind("127.0.0.1:0")
                .await
                .unwrap();
            let base = format!("http://{}", server.local_addr());
            tokio::spawn(server.run_until(std::future::pending()));
            test(engine.clone(), base).await;
        })
        .await;
}

async fn text(url: String) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn requests_run_on_the_server_threads_worker() {
    let script = r#"
        let calls = 0;
        register("/count", () => String(++calls));
        register("/later", () => new Promise((resolve) => setTimeout(() => resolve("later"), 20)));
    "#;
    with_local_server(
        Limits::default(),
        &[("app.js", script)],
        |engine, base| async move {
            assert_eq!(engine.workers(), 1);
            assert_eq!(text(format!("{base}/count")).await, (200, "1".into()));
            assert_eq!(text(format!("{base}/count")).await, (200, "2".into()));
            assert_eq!(text(format!("{base}/later")).await, (200, "later".into()));
        },
    )
    .await;
}

/// `auto`: a route's first calls are trials on the pool, then the server thread's worker
/// runs it; WebSocket handlers stay on the pool, where a slow one holds no server thread.
#[tokio::test]
async fn auto_runs_quick_routes_here_and_sockets_on_the_pool() {
    let script = r#"
        const token = String(Math.random());
        register("/token", () => token);
        registerWebSocket("/ws", { message(socket) { socket.send(token); } });
    "#;
    serve_attached(
        WorkerModel::Auto,
        Limits::default(),
        &[("app.js", script)],
        |engine, base| async move {
            assert_eq!(engine.workers(), 2);
            let (status, on_pool) = text(format!("{base}/token")).await;
            assert_eq!(status, 200);
            let mut here = None;
            for _ in 0..500 {
                let (_, token) = text(format!("{base}/token")).await;
                if token != on_pool {
                    here = Some(token);
                    break;
                }
            }
            let here = here.expect("the route moved to the server thread's worker");
            assert_eq!(text(format!("{base}/token")).await.1, here);

            let addr = base.trim_start_matches("http://").to_owned();
            let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let (mut socket, _) =
                tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
                    .await
                    .unwrap();
            socket.send(Message::text("who")).await.unwrap();
            let answer = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(answer.into_text().unwrap().as_str(), on_pool);
        },
    )
    .await;
}

#[tokio::test]
async fn limits_hold_and_the_worker_recovers() {
    let limits = Limits {
        call_timeout: Duration::from_millis(200),
        memory_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let script = r#"
        register("/fast", () => "fast");
        register("/loop", () => { for (;;) {} });
        register("/never", () => new Promise(() => {}));
        register("/bomb", () => { const hog = []; for (;;) hog.push(new Array(100000).fill(1)); });
        register("/getter", () => ({ get status() { for (;;) {} } }));
    "#;
    with_local_server(limits, &[("app.js", script)], |_engine, base| async move {
        assert_eq!(text(format!("{base}/loop")).await.0, 504);
        // Reading what the handler returned is under the deadline too.
        assert_eq!(text(format!("{base}/getter")).await.0, 504);
        assert_eq!(text(format!("{base}/never")).await.0, 504);
        assert_eq!(text(format!("{base}/bomb")).await.0, 500);
        assert_eq!(text(format!("{base}/fast")).await, (200, "fast".into()));
    })
    .await;
}

#[tokio::test]
async fn reloads_reach_the_attached_worker() {
    with_local_server(
        Limits::default(),
        &[("app.js", "register('/v', () => 'one');")],
        |engine, base| async move {
            assert_eq!(text(format!("{base}/v")).await.1, "one");
            engine
                .load(Script::new("app.js", "register('/v', () => 'two');"))
                .await
                .unwrap();
            assert_eq!(text(format!("{base}/v")).await.1, "two");
        },
    )
    .await;
}

#[tokio::test]
async fn jobs_from_other_threads_reach_an_attached_worker() {
    with_local_server(
        Limits::default(),
        &[("app.js", "register('/here', () => 'answered');")],
        |engine, base| async move {
            // A request served by a runtime without a worker is queued to one.
            let routes = engine.routes();
            let answer = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    let server = App::new()
                        .fallback(RouterService::new(routes, None))
                        .bind("127.0.0.1:0")
                        .await
                        .unwrap();
                    let url = format!("http://{}/here", server.local_addr());
                    tokio::spawn(server.run_until(std::future::pending()));
                    text(url).await
                })
            });
            // Keep this thread's runtime turning while the other thread waits on it.
            while !answer.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(answer.join().unwrap(), (200, "answered".into()));
            assert_eq!(text(format!("{base}/here")).await.1, "answered");
        },
    )
    .await;
}

/// An attached worker that waits for a promise of its own — an async `init()`, a test
/// run — takes the answers of `fetch` meanwhile (they come from the engine's runtime, not
/// from the server thread the worker holds).
#[tokio::test(flavor = "multi_thread")]
async fn init_and_tests_on_an_attached_worker_await_fetch() {
    let upstream = App::new()
        .get("/word", |_request: ferry_core::Request| async {
            "upstream"
        })
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let up = format!("http://{}", upstream.local_addr());
    tokio::spawn(upstream.run_until(std::future::pending()));
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineOptions {
        store: Some(ferry_store::Store::sqlite(data.path()).unwrap()),
        model: WorkerModel::PerThread,
        outbound: OutboundOptions {
            policy: NetPolicy::Everything,
            ..OutboundOptions::default()
        },
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            tokio::task::spawn_local(engine.attach_worker().unwrap());
            let app = format!(
                r#"let word = "none";
async function init() {{ word = await (await fetch("{up}/word")).text(); }}
register("/word", () => word);"#
            );
            engine.load(Script::new("app.js", app)).await.unwrap();
            let server = App::new()
                .fallback(RouterService::new(engine.routes(), None))
                .bind("127.0.0.1:0")
                .await
                .unwrap();
            let base = format!("http://{}", server.local_addr());
            tokio::spawn(server.run_until(std::future::pending()));
            assert_eq!(text(format!("{base}/word")).await, (200, "upstream".into()));

            let tests = format!(
                r#"test("fetches", async () => {{
  expect(await (await fetch("{up}/word")).text()).toBe("upstream");
}});"#
            );
            let report = engine
                .run_tests(Script::new("word.test.js", tests), None)
                .await
                .unwrap();
            assert_eq!(report.tests.len(), 1);
            assert_eq!(
                report.tests[0].status,
                ferry_js::testing::TestStatus::Passed,
                "{report:#?}"
            );
        })
        .await;
}
