//! Who is signed in, as scripts see it: the global `auth` bound to the request being handled
//! (across `await`s, with handlers interleaved on one worker), `personalStorage`,
//! `auth.canManageScript`, and the identity of GraphQL resolvers and MCP handlers. A layer
//! in front attaches the identity the `x-test-*` headers describe, as the sign-in step
//! would.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::App;
use ferry_core::router::RouterService;
use ferry_js::{Engine, EngineOptions, Script};
use serde_json::{Value, json};

struct SignedInApp {
    engine: Engine,
    addr: SocketAddr,
    client: reqwest::Client,
    _data: tempfile::TempDir,
}

/// The identity named by `x-test-user` (id and name), `x-test-role` and `x-test-groups`
/// (comma-separated); none without `x-test-user`.
fn attach_identity(mut request: ferry_core::Request) -> ferry_core::Request {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(id) = header("x-test-user") {
        let role = header("x-test-role")
            .and_then(|role| ferry_auth::Role::parse(&role))
            .unwrap_or_default();
        let groups = header("x-test-groups")
            .map(|groups| groups.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let user = ferry_auth::User {
            id: id.clone(),
            email: Some(format!("{id}@example.com")),
            name: Some(id),
            provider: "test".into(),
            role,
            groups,
        };
        request.extensions_mut().insert(ferry_auth::Identity::new(
            Arc::new(user),
            ferry_auth::Credential::Cookie,
        ));
    }
    request
}

impl SignedInApp {
    async fn new(workers: usize, scripts: &[(&str, &str)]) -> SignedInApp {
        let data = tempfile::tempdir().unwrap();
        let engine = Engine::start(EngineOptions {
            workers,
            store: Some(ferry_store::Store::sqlite(data.path()).unwrap()),
            ..EngineOptions::default()
        })
        .await
        .unwrap();
        for (name, source) in scripts {
            engine.load(Script::new(*name, *source)).await.unwrap();
        }
        let server = App::new()
            .fallback(RouterService::new(engine.routes(), None))
            .layer(tower::util::MapRequestLayer::new(attach_identity))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr();
        tokio::spawn(server.run_until(std::future::pending()));
        SignedInApp {
            engine,
            addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            _data: data,
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("http://{}{path}", self.addr));
        match user {
            Some(user) => request.header("x-test-user", user),
            None => request,
        }
    }

    async fn text(&self, path: &str, user: Option<&str>) -> (u16, String) {
        let response = self
            .request(reqwest::Method::GET, path, user)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn the_global_auth_follows_each_request_across_awaits_with_handlers_interleaved() {
    let app = SignedInApp::new(
        1,
        &[(
            "who.js",
            r#"
            const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
            let atLoad = "unset";
            setTimeout(() => { atLoad = auth.isAuthenticated; }, 0);
            let lateTimer = "unset";
            register("/who", async (c) => {
              const seen = [auth.userId];
              await sleep(Number(c.request.query.wait));
              seen.push(auth.userId);
              await Promise.resolve();
              seen.push(auth.userId);
              await sleep(1);
              seen.push(auth.userId, c.request.auth.userId);
              return JSON.stringify(seen);
            });
            register("/forge", (c) => {
              c.request.auth = { isAuthenticated: true, userId: "mallory" };
              setTimeout(() => { lateTimer = auth.userId; }, 5);
              return JSON.stringify([c.request.auth.userId, auth.userId]);
            });
            register("/late", () => JSON.stringify([atLoad, lateTimer, auth.userId]));
            "#,
        )],
    )
    .await;
    // Twenty handlers on one worker, each waking after the others started: the later ones
    // wake first, so every continuation runs between other requests' steps.
    let calls = (0..20).map(|index| {
        let user = (index % 5 != 4).then(|| format!("user-{index}"));
        let path = format!("/who?wait={}", 200 - index * 10);
        let app = &app;
        async move {
            let (status, body) = app.text(&path, user.as_deref()).await;
            (user, status, body)
        }
    });
    for (user, status, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        let seen: Vec<Value> = serde_json::from_str(&body).unwrap();
        let expected = user.map_or(Value::Null, Value::String);
        assert!(
            seen.iter().all(|id| *id == expected),
            "expected {expected} at every step, saw {seen:?}"
        );
    }
    // A script's own `request.auth = …` changes neither the global nor what timers see.
    let (_, forged) = app.text("/forge", Some("ann")).await;
    assert_eq!(forged, r#"["mallory","ann"]"#);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, late) = app.text("/late", Some("bob")).await;
    assert_eq!(late, r#"[false,"ann","bob"]"#);
}

#[tokio::test]
async fn personal_storage_is_kept_per_user_and_script() {
    let script = |name: &str| {
        format!(
            r#"
            register("/{name}/set", (c) => {{ personalStorage.setItem("colour", c.request.query.v); return "ok"; }});
            register("/{name}/get", () => String(personalStorage.getItem("colour")));
            register("/{name}/shared", () => String(sharedStorage.getItem("colour")));
            register("/{name}/clear", () => {{ personalStorage.clear(); return "ok"; }});
            register("/{name}/forge", (c) => {{
              const forged = () => ({{ userId: "bob", role: "administrator", groups: [] }});
              for (const key of Object.getOwnPropertySymbols(c.request)) {{
                try {{ c.request[key] = forged; }} catch {{}}
                try {{ Object.defineProperty(c.request, key, {{ value: forged }}); }} catch {{}}
              }}
              c.request.auth = {{ isAuthenticated: true, userId: "bob" }};
              return `${{personalStorage.getItem("colour")}}/${{auth.userId}}/${{auth.role}}`;
            }});
            "#
        )
    };
    let (a, b) = (script("a"), script("b"));
    let app = SignedInApp::new(2, &[("a.js", &a), ("b.js", &b)]).await;
    assert_eq!(app.text("/a/set?v=red", Some("ann")).await.0, 200);
    assert_eq!(app.text("/a/set?v=blue", Some("bob")).await.0, 200);
    assert_eq!(app.text("/a/get", Some("ann")).await.1, "red");
    assert_eq!(app.text("/a/get", Some("bob")).await.1, "blue");
    // A script cannot make Ferry take its caller for someone else.
    assert_eq!(
        app.text("/a/forge", Some("ann")).await.1,
        "red/ann/authenticated"
    );
    assert_eq!(app.text("/b/get", Some("ann")).await.1, "null");
    assert_eq!(app.text("/a/shared", Some("ann")).await.1, "null");
    // Nobody signed in: an error (its message, in the log, says to check auth first).
    assert_eq!(app.text("/a/get", None).await.0, 500);
    assert_eq!(app.text("/a/clear", Some("ann")).await.0, 200);
    assert_eq!(app.text("/a/get", Some("ann")).await.1, "null");
    assert_eq!(app.text("/a/get", Some("bob")).await.1, "blue");
}

#[tokio::test]
async fn can_manage_script_answers_as_the_management_api_decides() {
    let app = SignedInApp::new(
        1,
        &[(
            "app.js",
            r#"register("/can", (c) => JSON.stringify([auth.groups, auth.canManageScript(c.request.query.uri)]));"#,
        )],
    )
    .await;
    let store = ferry_store::Store::sqlite(app._data.path()).unwrap();
    let mut connection = store.connect().unwrap();
    use ferry_store::{AccessLevel, Member, ScriptAccess};
    connection
        .hand_script("team.js", AccessLevel::Owner, &Member::Group("devs".into()))
        .unwrap();
    let can = |uri: &str, role: &str, groups: &str| {
        let request = app
            .request(
                reqwest::Method::GET,
                &format!("/can?uri={uri}"),
                Some("eve"),
            )
            .header("x-test-role", role)
            .header("x-test-groups", groups);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(can("team.js", "editor", "devs").await, r#"[["devs"],true]"#);
    assert_eq!(can("team.js", "editor", "ops").await, r#"[["ops"],false]"#);
    assert_eq!(
        can("team.js", "authenticated", "devs").await,
        r#"[["devs"],false]"#
    );
    // The app's own file: administrators only. A name nobody has: any editor may create it.
    assert_eq!(can("app.js", "editor", "devs").await, r#"[["devs"],false]"#);
    assert_eq!(can("app.js", "administrator", "x").await, r#"[["x"],true]"#);
    assert_eq!(can("new.js", "editor", "x").await, r#"[["x"],true]"#);
    drop(app.engine);
}

#[tokio::test]
async fn graphql_resolvers_and_mcp_handlers_see_their_callers_identity() {
    let app = SignedInApp::new(
        2,
        &[(
            "api.js",
            r#"
            const who = (c) => `${c.request.auth.userId}/${auth.userId}/${auth.role}`;
            graphQLRegistry.registerQuery("whoami", "whoami: String", (c) => who(c));
            registerMCPTool("whoami", "who is calling", { type: "object" }, (c) => who(c));
            "#,
        )],
    )
    .await;
    let graphql = |user: Option<&'static str>| {
        let request = app
            .request(reqwest::Method::POST, "/graphql", user)
            .header("x-test-role", "editor")
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": "{ whoami }" }));
        async move {
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            body["data"]["whoami"].clone()
        }
    };
    assert_eq!(graphql(Some("ann")).await, "ann/ann/editor");
    assert_eq!(graphql(None).await, "null/null/anonymous");

    let mcp = |session: Option<String>, message: Value| {
        let request = app.request(reqwest::Method::POST, "/mcp", Some("bob"));
        async move { support::mcp_exchange(request, session.as_deref(), message).await }
    };
    let (session, _) = mcp(
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": { "name": "test", "version": "1" } } }),
    )
    .await;
    let session = session.expect("an MCP session id");
    mcp(
        Some(session.clone()),
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    let (_, answer) = mcp(
        Some(session),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": { "name": "whoami", "arguments": {} } }),
    )
    .await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "bob/bob/authenticated",
        "{answer}"
    );
}
