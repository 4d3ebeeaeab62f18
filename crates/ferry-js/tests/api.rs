//! The script API, exercised from JavaScript through a real server: routes, the request
//! object, responses, async handlers, storage, logging and utilities.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::TestApp;

#[tokio::test]
async fn register_serves_a_plain_string_handler() {
    let app = TestApp::new(&[("hello.js", r#"register("/hello", () => "Hello from JS");"#)]).await;
    let response = app.get("/hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), "Hello from JS");
}

#[tokio::test]
async fn context_request_carries_path_method_params_query_headers_and_body() {
    let app = TestApp::new(&[(
        "echo.js",
        r#"
        routeRegistry.registerRoute("/users/:id", (context) => ResponseBuilder.json(context.request), "POST");
        routeRegistry.registerRoute("/raw", (context) => ResponseBuilder.json({
            target: context.request.target,
            bytes: context.request.rawBody === null ? null : Array.from(context.request.rawBody),
            inJson: Object.keys(JSON.parse(JSON.stringify(context.request))).includes("rawBody"),
        }), "POST");
        "#,
    )])
    .await;
    let response = app
        .client
        .post(app.url("/users/42?tab=posts&tab=ignored&q=a%20b"))
        .header("X-Custom", "yes")
        .body("raw text")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let request: Value = response.json().await.unwrap();
    assert_eq!(request["path"], "/users/42");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["params"]["id"], "42");
    assert_eq!(request["query"]["tab"], "posts");
    assert_eq!(request["query"]["q"], "a b");
    assert_eq!(request["headers"]["x-custom"], "yes");
    assert_eq!(request["body"], "raw text");
    assert_eq!(request["files"], serde_json::json!([]));
    assert_eq!(request["auth"]["isAuthenticated"], false);

    // What was received, as received: the target and the body's bytes.
    let raw: Value = app
        .client
        .post(app.url("/raw?q=a%20b&q=c"))
        .body(vec![0u8, 255, 10])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["target"], "/raw?q=a%20b&q=c");
    assert_eq!(raw["bytes"], serde_json::json!([0, 255, 10]));
    assert_eq!(raw["inJson"], false, "JSON keeps aiwebengine's fields");
}

/// `context.request` builds its fields on first read; it must still behave as a plain
/// object: the same value on every read, writable, enumerable once read, complete in
/// JSON, and readable after an `await`.
#[tokio::test]
async fn lazily_built_request_fields_behave_like_plain_properties() {
    let app = TestApp::new(&[(
        "lazy.js",
        r#"
        register("/lazy/:id", async (context) => {
          const request = context.request;
          const same = request.headers === request.headers && request.params === request.params;
          request.query.added = "yes";
          request.method = "CHANGED";
          const keysAfterReads = Object.keys(request).sort();
          await new Promise((resolve) => setTimeout(resolve, 5));
          return ResponseBuilder.json({
            same,
            added: request.query.added,
            method: request.method,
            keysAfterReads,
            late: request.params.id,
            whole: JSON.parse(JSON.stringify(context)),
            kind: context.kind,
            hasInvocationId: typeof context.invocationId === "string" && context.invocationId.length > 0,
          });
        });
        "#,
    )])
    .await;
    let response = app.get("/lazy/7?q=1").await;
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["same"], true);
    assert_eq!(seen["added"], "yes");
    assert_eq!(seen["method"], "CHANGED");
    assert_eq!(
        seen["keysAfterReads"],
        serde_json::json!(["headers", "method", "params", "query"])
    );
    assert_eq!(seen["late"], "7");
    assert_eq!(seen["whole"]["request"]["path"], "/lazy/7");
    assert_eq!(seen["whole"]["request"]["query"]["q"], "1");
    assert_eq!(seen["whole"]["request"]["query"]["added"], "yes");
    assert_eq!(seen["whole"]["request"]["method"], "CHANGED");
    assert_eq!(seen["whole"]["request"]["body"], Value::Null);
    assert_eq!(seen["whole"]["request"]["ip"], "127.0.0.1");
    assert_eq!(seen["whole"]["kind"], "httpRoute");
    assert_eq!(seen["kind"], "httpRoute");
    assert_eq!(seen["hasInvocationId"], true);
}

#[tokio::test]
async fn body_is_null_without_one_and_form_fields_are_parsed() {
    let app = TestApp::new(&[(
        "form.js",
        r#"
        register("/form", (c) => ResponseBuilder.json({ body: c.request.body, form: c.request.form }), "POST");
        register("/empty", (c) => ResponseBuilder.json({ body: c.request.body }));
        "#,
    )])
    .await;
    let empty: Value = app.get("/empty").await.json().await.unwrap();
    assert_eq!(empty["body"], Value::Null);
    let form: Value = app
        .client
        .post(app.url("/form"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=Ada+Lovelace&year=1815")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["form"]["name"], "Ada Lovelace");
    assert_eq!(form["form"]["year"], "1815");
}

#[tokio::test]
async fn multipart_uploads_give_every_file_with_base64_data() {
    let app = TestApp::new(&[(
        "upload.js",
        r#"register("/upload", (c) => ResponseBuilder.json({ form: c.request.form, files: c.request.files }), "POST");"#,
    )])
    .await;
    let form = reqwest::multipart::Form::new()
        .text("title", "holiday")
        .part(
            "photos",
            reqwest::multipart::Part::bytes(vec![0u8, 1, 2, 255])
                .file_name("a.bin")
                .mime_str("application/octet-stream")
                .unwrap(),
        )
        .part(
            "photos",
            reqwest::multipart::Part::text("second file").file_name("b.txt"),
        );
    let response = app
        .client
        .post(app.url("/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["form"]["title"], "holiday");
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["field"], "photos");
    assert_eq!(files[0]["filename"], "a.bin");
    assert_eq!(files[0]["contentType"], "application/octet-stream");
    assert_eq!(files[0]["data"], "AAEC/w==");
    assert_eq!(files[0]["size"], 4);
    assert_eq!(files[1]["filename"], "b.txt");
    assert_eq!(files[1]["size"], 11);
}

#[tokio::test]
async fn handler_may_be_the_name_of_a_global_function() {
    let app = TestApp::new(&[(
        "named.js",
        r#"
        function greet(context) { return "hi " + context.request.query.name; }
        register("/greet", "greet");
        "#,
    )])
    .await;
    assert_eq!(app.text("/greet?name=Bo").await, (200, "hi Bo".into()));
}

#[tokio::test]
async fn get_answers_head_and_other_methods_get_405_with_allow() {
    let app = TestApp::new(&[(
        "methods.js",
        r#"
        register("/thing", () => "got");
        register("/thing", () => ({ status: 201, body: "made" }), "post");
        "#,
    )])
    .await;
    let head = app.client.head(app.url("/thing")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let made = app.client.post(app.url("/thing")).send().await.unwrap();
    assert_eq!(made.status(), 201);
    let refused = app.client.delete(app.url("/thing")).send().await.unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "GET, POST, HEAD");
    assert_eq!(app.get("/nothing-here").await.status(), 404);
}

#[tokio::test]
async fn wildcard_routes_capture_the_rest_of_the_path() {
    let app = TestApp::new(&[(
        "blog.js",
        r#"register("/blog/*", (c) => "post " + c.request.params["*"]);"#,
    )])
    .await;
    assert_eq!(
        app.text("/blog/2026/hello").await,
        (200, "post 2026/hello".into())
    );
}

#[tokio::test]
async fn response_builder_builds_every_kind_of_response() {
    let app = TestApp::new(&[(
        "builders.js",
        r#"
        register("/json", () => ResponseBuilder.json({ ok: true }, 202));
        register("/text", () => ResponseBuilder.text("plain"));
        register("/html", () => ResponseBuilder.html("<p>hi</p>"));
        register("/error", () => ResponseBuilder.error(418, "short and stout"));
        register("/none", () => ResponseBuilder.noContent());
        register("/moved", () => ResponseBuilder.redirect("/elsewhere", 301));
        register("/binary", () => ({ status: 200, bodyBase64: "AAEC", contentType: "application/x-test" }));
        "#,
    )])
    .await;
    let json = app.get("/json").await;
    assert_eq!(json.status(), 202);
    assert_eq!(json.text().await.unwrap(), r#"{"ok":true}"#);
    let text = app.get("/text").await;
    assert_eq!(text.headers()["content-type"], "text/plain; charset=UTF-8");
    let html = app.get("/html").await;
    assert_eq!(html.headers()["content-type"], "text/html; charset=UTF-8");
    let error = app.get("/error").await;
    assert_eq!(error.status(), 418);
    assert_eq!(
        error.text().await.unwrap(),
        r#"{"error":"short and stout"}"#
    );
    assert_eq!(app.get("/none").await.status(), 204);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = client.get(app.url("/moved")).send().await.unwrap();
    assert_eq!(moved.status(), 301);
    assert_eq!(moved.headers()["location"], "/elsewhere");
    let binary = app.get("/binary").await;
    assert_eq!(binary.headers()["content-type"], "application/x-test");
    assert_eq!(&binary.bytes().await.unwrap()[..], [0, 1, 2]);
}

#[tokio::test]
async fn async_handlers_await_promises_and_timers() {
    let app = TestApp::new(&[(
        "async.js",
        r#"
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        register("/now", async () => "at once");
        register("/later", async (c) => { await sleep(30); return ResponseBuilder.json({ waited: true }); });
        register("/fails", async () => { await sleep(5); throw new Error("async failure"); });
        "#,
    )])
    .await;
    assert_eq!(app.text("/now").await, (200, "at once".into()));
    let later = app.get("/later").await;
    assert_eq!(later.status(), 200);
    assert_eq!(later.text().await.unwrap(), r#"{"waited":true}"#);
    assert_eq!(app.get("/fails").await.status(), 500);
}

#[tokio::test]
async fn many_async_handlers_wait_on_one_worker_at_once() {
    let app = TestApp::with(
        1,
        ferry_js::Limits::default(),
        false,
        &[(
            "wait.js",
            r#"register("/wait", () => new Promise((resolve) => setTimeout(() => resolve("done"), 200)));"#,
        )],
    )
    .await;
    let started = std::time::Instant::now();
    let requests = (0..20).map(|_| app.text("/wait"));
    let results = futures_util::future::join_all(requests).await;
    assert!(
        results
            .iter()
            .all(|result| *result == (200, "done".to_owned()))
    );
    // Twenty 200 ms waits on one worker finish together, not one after another.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn module_state_persists_between_requests_of_one_worker() {
    let app = TestApp::with(
        1,
        ferry_js::Limits::default(),
        false,
        &[(
            "count.js",
            "let count = 0; register('/count', () => String(++count));",
        )],
    )
    .await;
    assert_eq!(app.text("/count").await.1, "1");
    assert_eq!(app.text("/count").await.1, "2");
}

#[tokio::test]
async fn shared_storage_is_shared_by_workers_scoped_per_script_and_persisted() {
    let app = TestApp::new(&[
        (
            "a.js",
            r#"
            register("/a/set", (c) => { sharedStorage.setItem("k", c.request.query.v); return "ok"; });
            register("/a/get", () => String(sharedStorage.getItem("k")));
            register("/a/remove", () => String(sharedStorage.removeItem("k")));
            register("/a/clear", () => { sharedStorage.clear(); return "cleared"; });
            "#,
        ),
        ("b.js", r#"register("/b/get", () => String(sharedStorage.getItem("k")));"#),
    ])
    .await;
    assert_eq!(app.text("/a/set?v=hello").await, (200, "ok".into()));
    // Every worker sees the value (several requests reach both workers).
    for _ in 0..6 {
        assert_eq!(app.text("/a/get").await.1, "hello");
    }
    assert_eq!(app.text("/b/get").await.1, "null");
    assert_eq!(app.text("/a/remove").await.1, "true");
    assert_eq!(app.text("/a/get").await.1, "null");
    app.text("/a/set?v=kept").await;
    let store = ferry_store::Store::sqlite(app.data.path()).unwrap();
    let kept = ferry_store::KeyValue::get_item(&mut store.connect().unwrap(), "a.js", "k").unwrap();
    assert_eq!(kept.as_deref(), Some("kept"));
    assert_eq!(app.text("/a/clear").await.1, "cleared");
    assert_eq!(app.text("/a/get").await.1, "null");
}

#[tokio::test]
async fn convert_utilities_render_markdown_handlebars_and_base64() {
    let app = TestApp::new(&[(
        "convert.js",
        r##"
        register("/md", () => convert.markdown_to_html("# Title\n\n*x*"));
        register("/hbs", () => convert.render_handlebars_template("Hi {{name}}!", JSON.stringify({ name: "<Ann>" })));
        register("/hbs-object", () => convert.render_handlebars_template("{{#each n}}{{this}}{{/each}}", { n: [1, 2] }));
        register("/b64", () => btoa("Ferry") + " " + atob("RmVycnk=") + " " + convert.btoa("a"));
        register("/bad-b64", () => { try { btoa("€"); return "no error"; } catch (e) { return "threw"; } });
        register("/escape", () => convert.escape_html(`<a href="x" title='y'>Tom & Jerry</a>`) + "|" + convert.escape_html(42));
        "##,
    )])
    .await;
    assert_eq!(
        app.text("/md").await.1,
        "<h1>Title</h1>\n<p><em>x</em></p>\n"
    );
    assert_eq!(app.text("/hbs").await.1, "Hi &lt;Ann&gt;!");
    assert_eq!(app.text("/hbs-object").await.1, "12");
    assert_eq!(app.text("/b64").await.1, "RmVycnk= Ferry YQ==");
    assert_eq!(app.text("/bad-b64").await.1, "threw");
    assert_eq!(
        app.text("/escape").await.1,
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;|42"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_are_hashed_with_argon2id_and_verified() {
    let limits = ferry_js::Limits {
        call_timeout: std::time::Duration::from_secs(10),
        ..ferry_js::Limits::default()
    };
    let app = TestApp::with(2, limits, false, &[(
        "passwords.js",
        r#"
        register("/hash", async () => {
            const hash = await passwords.hash("correct horse");
            const again = await passwords.hash("correct horse");
            const cheap = await passwords.hash("pw", { memoryCost: 1024, timeCost: 1 });
            return JSON.stringify({
                hash, differs: hash !== again,
                right: await passwords.verify("correct horse", hash),
                wrong: await passwords.verify("correct hose", hash),
                cheap: cheap.split("$").slice(1, 4), cheapRight: await passwords.verify("pw", cheap),
            });
        });
        register("/bad", async () => {
            const outcomes = [];
            for (const attempt of [
                () => passwords.verify("x", "not a hash"),
                () => passwords.hash("x", { memoryCost: 10 * 1024 * 1024 }),
                () => passwords.hash(42),
                () => passwords.verify("x", "$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            ]) {
                try {
                    await attempt();
                    outcomes.push("no error");
                } catch (error) {
                    outcomes.push(error.message);
                }
            }
            return JSON.stringify(outcomes);
        });
        "#,
    )])
    .await;
    let (status, body) = app.text("/hash").await;
    assert_eq!(status, 200, "{body}");
    let got: serde_json::Value = serde_json::from_str(&body).unwrap();
    let hash = got["hash"].as_str().unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(got["differs"], true, "a fresh salt each time");
    assert_eq!(got["right"], true);
    assert_eq!(got["wrong"], false);
    assert_eq!(
        got["cheap"],
        serde_json::json!(["argon2id", "v=19", "m=1024,t=1,p=1"])
    );
    assert_eq!(got["cheapRight"], true);
    let (_, bad) = app.text("/bad").await;
    let bad: Vec<String> = serde_json::from_str(&bad).unwrap();
    assert!(bad[0].contains("not a PHC string"), "{bad:?}");
    assert!(bad[1].contains("memoryCost"), "{bad:?}");
    assert!(bad[2].contains("must be a string"), "{bad:?}");
    assert!(bad[3].contains("more memory or time"), "{bad:?}");
}

#[tokio::test]
async fn logging_functions_are_callable_with_any_values() {
    let app = TestApp::new(&[(
        "log.js",
        r#"
        register("/log", (c) => {
            console.log("a", 1, { b: [2] }, null);
            console.info("info"); console.warn("warn"); console.error(new Error("shown"));
            console.debug("debug");
            return writeLog("written");
        });
        "#,
    )])
    .await;
    assert_eq!(app.text("/log").await, (200, "logged".into()));
}

#[tokio::test]
async fn url_search_params_parses_and_serialises() {
    let app = TestApp::new(&[(
        "params.js",
        r#"
        register("/p", () => {
            const p = new URLSearchParams("?a=1&b=x+y&a=2");
            p.append("c", "&=");
            return [p.get("a"), p.getAll("a").join(","), p.get("b"), p.has("z"), p.toString()].join("|");
        });
        "#,
    )])
    .await;
    assert_eq!(
        app.text("/p").await.1,
        "1|1,2|x y|false|a=1&b=x+y&a=2&c=%26%3D"
    );
}

#[tokio::test]
async fn scripts_have_no_file_or_process_access_and_reach_the_network_through_fetch_only() {
    let app = TestApp::new(&[(
        "sandbox.js",
        r#"
        register("/globals", () => ["std", "os", "require", "process", "Deno", "Bun", "XMLHttpRequest", "WebSocket"]
            .filter((name) => typeof globalThis[name] !== "undefined").join(",") || "none");
        register("/fetch", () => typeof fetch);
        "#,
    )])
    .await;
    assert_eq!(app.text("/globals").await.1, "none");
    // fetch is there, under the network policy (tests/fetch.rs).
    assert_eq!(app.text("/fetch").await.1, "function");
}

/// The scripts of `scripts` behind a server that attaches, as the sign-in step would, the
/// identity `x-test-role` names (none without the header).
async fn signed_in_app(scripts: &[(&str, &str)]) -> (TestApp, ferry_core::BoxService) {
    let app = TestApp::new(scripts).await;
    let attach = tower::util::MapRequestLayer::new(|mut request: ferry_core::Request| {
        let role = request
            .headers()
            .get("x-test-role")
            .and_then(|value| value.to_str().ok())
            .and_then(ferry_auth::Role::parse);
        if let Some(role) = role {
            let user = ferry_auth::User {
                id: "u-1".into(),
                email: Some("ann@example.com".into()),
                name: Some("Ann".into()),
                provider: "test".into(),
                role,
                groups: Vec::new(),
            };
            request.extensions_mut().insert(ferry_auth::Identity::new(
                std::sync::Arc::new(user),
                ferry_auth::Credential::Cookie,
            ));
        }
        request
    });
    let service = ferry_core::App::new()
        .fallback(ferry_core::router::RouterService::new(
            app.engine.routes(),
            None,
        ))
        .layer(attach)
        .into_service()
        .unwrap();
    (app, service)
}

#[tokio::test]
async fn request_auth_describes_the_signed_in_user_and_checks_roles() {
    let (app, service) = signed_in_app(&[(
        "who.js",
        r#"
        register("/who", (c) => {
            const a = c.request.auth;
            return JSON.stringify({
                isAuthenticated: a.isAuthenticated, isAdmin: a.isAdmin, isEditor: a.isEditor,
                userId: a.userId, userEmail: a.userEmail, userName: a.userName,
                provider: a.provider, role: a.role, user: a.user, current: a.currentUser(),
                same: c.request.auth === a,
            });
        });
        register("/edit", (c) => c.request.auth.requireEditor().name);
        register("/admin", (c) => c.request.auth.requireAdmin().name);
        "#,
    )])
    .await;
    let call = |path: &str, role: Option<&str>| {
        let mut request = http::Request::get(path);
        if let Some(role) = role {
            request = request.header("x-test-role", role);
        }
        let request = request.body(ferry_core::Body::empty()).unwrap();
        let service = service.clone();
        async move {
            let response = tower::ServiceExt::oneshot(service, request).await.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().to_bytes(1 << 20).await.unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let (status, body) = call("/who", Some("editor")).await;
    assert_eq!(status, 200);
    let who: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        who,
        serde_json::json!({
            "isAuthenticated": true, "isAdmin": false, "isEditor": true,
            "userId": "u-1", "userEmail": "ann@example.com", "userName": "Ann",
            "provider": "test", "role": "editor",
            "user": { "id": "u-1", "email": "ann@example.com", "name": "Ann", "provider": "test",
                      "role": "editor", "groups": [], "isAuthenticated": true, "isAdmin": false, "isEditor": true },
            "current": { "id": "u-1", "email": "ann@example.com", "name": "Ann", "provider": "test",
                         "role": "editor", "groups": [], "isAuthenticated": true, "isAdmin": false, "isEditor": true },
            "same": true,
        })
    );
    let (_, anonymous) = call("/who", None).await;
    let anonymous: serde_json::Value = serde_json::from_str(&anonymous).unwrap();
    assert_eq!(anonymous["isAuthenticated"], false);
    assert_eq!(anonymous["role"], "anonymous");
    assert_eq!(anonymous["current"], serde_json::Value::Null);
    assert_eq!(call("/edit", Some("editor")).await, (200, "Ann".into()));
    assert_eq!(call("/edit", Some("authenticated")).await.0, 403);
    assert_eq!(call("/edit", None).await.0, 401);
    assert_eq!(call("/admin", Some("editor")).await.0, 403);
    assert_eq!(
        call("/admin", Some("administrator")).await,
        (200, "Ann".into())
    );
    drop(app);
}

#[tokio::test]
async fn require_auth_answers_401_for_anonymous_requests() {
    let app = TestApp::new(&[(
        "auth.js",
        r#"register("/private", (c) => { c.request.auth.requireAuth(); return "secret"; });"#,
    )])
    .await;
    assert_eq!(app.get("/private").await.status(), 401);
}

/// Most web APIs are evaluated when a script first touches one of them: whatever it
/// touches first (a global, a key method of crypto.subtle, a name it defines itself) works.
#[tokio::test(flavor = "multi_thread")]
async fn web_apis_load_on_first_touch_whatever_is_touched_first() {
    let app = TestApp::new(&[
        (
            "subtle.js",
            r#"register("/subtle", async () => {
                const key = await crypto.subtle.importKey("raw", new Uint8Array([1]), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
                return `${key.type} ${key instanceof CryptoKey}`;
            });"#,
        ),
        (
            "params.js",
            r#"register("/params", () => new URLSearchParams("a=1&a=2").getAll("a").join(","));"#,
        ),
        (
            "own.js",
            r#"var Headers = "mine";
            function fetch() { return "my fetch"; }
            register("/own", () => `${Headers} ${fetch()} ${typeof Response}`);"#,
        ),
    ])
    .await;
    assert_eq!(app.text("/subtle").await.1, "secret true");
    assert_eq!(app.text("/params").await.1, "1,2");
    assert_eq!(app.text("/own").await.1, "mine my fetch function");
}
