//! Shared by the engine's integration tests: an engine behind a real server on port 0.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use ferry_core::App;
use ferry_core::router::RouterService;
use ferry_js::{Engine, EngineOptions, Limits, Script};

pub(crate) struct TestApp {
    pub engine: Engine,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub data: tempfile::TempDir,
}

impl TestApp {
    /// An engine with `workers` workers and `limits`, serving `scripts`.
    pub(crate) async fn with(
        workers: usize,
        limits: Limits,
        dev: bool,
        scripts: &[(&str, &str)],
    ) -> TestApp {
        let options = EngineOptions {
            workers,
            limits,
            dev,
            ..EngineOptions::default()
        };
        TestApp::with_options(options, scripts).await
    }

    /// An engine started with `options` (its data directory a fresh temporary one),
    /// serving `scripts`.
    pub(crate) async fn with_options(options: EngineOptions, scripts: &[(&str, &str)]) -> TestApp {
        TestApp::with_store(options, None, scripts).await
    }

    /// An engine started with `options` on `store` (by default SQLite in a fresh
    /// temporary directory), serving `scripts`.
    pub(crate) async fn with_store(
        mut options: EngineOptions,
        store: Option<ferry_store::Store>,
        scripts: &[(&str, &str)],
    ) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        options.store =
            Some(store.unwrap_or_else(|| ferry_store::Store::sqlite(data.path()).unwrap()));
        let engine = Engine::start(options).await.unwrap();
        for (name, source) in scripts {
            engine.load(Script::new(*name, *source)).await.unwrap();
        }
        let server = App::new()
            .fallback(RouterService::new(engine.routes(), None))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr();
        tokio::spawn(server.run_until(std::future::pending()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        TestApp {
            engine,
            addr,
            client,
            data,
        }
    }

    /// Two workers, default limits, production mode.
    pub(crate) async fn new(scripts: &[(&str, &str)]) -> TestApp {
        TestApp::with(2, Limits::default(), false, scripts).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET `path` and return status and body text.
    pub(crate) async fn text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

/// One JSON-RPC message to `/mcp` as `request` (already addressed and authenticated), in the
/// MCP session `session` if any: the session id the server gave, and the answer's JSON (the
/// first `data:` line of an event stream, or the body).
pub(crate) async fn mcp_exchange(
    request: reqwest::RequestBuilder,
    session: Option<&str>,
    message: serde_json::Value,
) -> (Option<String>, serde_json::Value) {
    let mut request = request
        .header("accept", "application/json, text/event-stream")
        .json(&message);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let response = request.send().await.unwrap();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let json = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .find(|data| !data.is_empty())
        .unwrap_or(text.as_str());
    (
        session,
        serde_json::from_str(json).unwrap_or(serde_json::Value::Null),
    )
}

/// An engine keeping its data in `data`, with no scripts yet, behind a real server that
/// also offers the management API to the holder of `token`: the engine, the server's base
/// URL and a client.
pub(crate) async fn managed_server(
    data: &std::path::Path,
    token: &str,
) -> (Engine, String, reqwest::Client) {
    let engine = Engine::start(EngineOptions {
        workers: 2,
        store: Some(ferry_store::Store::sqlite(data).unwrap()),
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let app = App::new().fallback(RouterService::new(engine.routes(), None));
    let server = ferry_js::management::Management::new(engine.clone())
        .admin_token(token)
        .install(app)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    (engine, base, reqwest::Client::new())
}
