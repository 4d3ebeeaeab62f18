//! Random handler results — nested objects, getters (returning, looping, throwing),
//! proxies, `toString`/`valueOf`/`toJSON`, symbols, BigInts, huge strings, cycles, promises
//! and thrown values — each answered with valid HTTP (the script's own response, or a
//! clear 500/504) within the deadline, while a bystander on another worker never waits.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ferry_js::Limits;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::TestApp;

const TIMEOUT: Duration = Duration::from_millis(200);
const MARGIN: Duration = Duration::from_millis(1500);

const SCRIPT: &str = r#"
register("/ok", () => "ok");
// The request body is the expression the handler returns.
register("/eval", (context) => (0, eval)(context.request.body), "POST");
"#;

/// Property names Ferry reads, and a few it must not trip over.
fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "status",
        "body",
        "bodyBase64",
        "contentType",
        "headers",
        "X-A",
        "Content-Length",
        "then",
        "toJSON",
        "length",
        "0",
    ])
}

fn leaf() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "200",
        "404",
        "2000",
        "0.5",
        "-1",
        "NaN",
        "1e309",
        "''",
        "'line\\nbreak'",
        "'\\u0000'",
        "'AAEC'",
        "'@@@'",
        "null",
        "undefined",
        "true",
        "Symbol('s')",
        "10n",
        "'x'.repeat(1 << 22)",
        "() => 1",
        "new Uint8Array(3)",
        "new Date(0)",
        "new Error('e')",
        "[]",
        "({})",
    ])
    .prop_map(str::to_owned);
    prop_oneof![fixed, "[a-z ]{0,12}".prop_map(|text| format!("'{text}'"))]
}

/// A JavaScript expression for a handler's result.
fn result() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..4).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(key, value)| format!("{key:?}: {value}"))
                    .collect();
                format!("({{ {} }})", fields.join(", "))
            }),
            (key(), inner.clone()).prop_map(|(key, value)| format!(
                "({{ get [{key:?}]() {{ return {value}; }} }})"
            )),
            key().prop_map(|key| format!("({{ get [{key:?}]() {{ for (;;) {{}} }} }})")),
            key().prop_map(|key| format!("({{ get [{key:?}]() {{ throw new Error('g'); }} }})")),
            inner.clone().prop_map(|value| format!(
                "new Proxy(Object({value}), {{ get(t, k, r) {{ return Reflect.get(t, k, r); }} }})"
            )),
            prop::sample::select(vec!["get", "ownKeys", "getOwnPropertyDescriptor", "has"])
                .prop_map(|trap| format!("new Proxy({{}}, {{ {trap}() {{ for (;;) {{}} }} }})")),
            prop::sample::select(vec!["toString", "valueOf", "toJSON"])
                .prop_map(|method| format!("({{ {method}() {{ for (;;) {{}} }} }})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
            inner.clone().prop_map(|value| format!(
                "(() => {{ const o = {{ status: 200, inner: {value} }}; o.body = o; o.headers = o; o.self = o; return o; }})()"
            )),
            inner.clone().prop_map(|value| format!("Promise.resolve({value})")),
            inner.clone().prop_map(|value| format!("(async () => {{ await null; return {value}; }})()")),
            inner.clone().prop_map(|value| format!("Promise.reject({value})")),
            inner.prop_map(|value| format!("(() => {{ throw {value}; }})()")),
        ]
    })
}

#[test]
fn random_results_are_valid_http_or_a_clear_error_and_the_bystander_never_waits() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let limits = Limits {
        call_timeout: TIMEOUT,
        ..Limits::default()
    };
    let app = runtime.block_on(TestApp::with(2, limits, false, &[("random.js", SCRIPT)]));
    let config = Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(&result(), |expression| {
            runtime.block_on(async {
                let started = Instant::now();
                let hostile = app
                    .client
                    .post(app.url("/eval"))
                    .body(expression.clone())
                    .send();
                let bystander = async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let started = Instant::now();
                    let answer = app.text("/ok").await;
                    (answer, started.elapsed())
                };
                let (hostile, (bystander, waited)) = tokio::join!(hostile, bystander);
                let hostile = hostile.map_err(|error| {
                    TestCaseError::fail(format!("not valid HTTP for {expression}: {error}"))
                })?;
                let status = hostile.status().as_u16();
                let body = hostile.bytes().await.map_err(|error| {
                    TestCaseError::fail(format!("the body of {expression} broke: {error}"))
                })?;
                let took = started.elapsed();
                prop_assert!(
                    took < TIMEOUT + MARGIN,
                    "{expression} took {took:?} (status {status})"
                );
                prop_assert!(
                    status <= 500 || status == 504,
                    "{expression} answered {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                );
                prop_assert_eq!(bystander, (200, "ok".to_owned()));
                prop_assert!(waited < MARGIN, "the bystander waited {:?}", waited);
                Ok(())
            })
        })
        .unwrap();
}
