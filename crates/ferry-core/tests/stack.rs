//! The production stack's order, seen from a client: preflights are answered before the
//! rate limit counts them, the rate limit comes before authentication, every answer
//! (refusals included) carries the response headers, and health checks are not limited.

#![allow(clippy::unwrap_used)]

mod support;

use ferry_core::App;
use ferry_core::health::HealthChecks;
use ferry_core::layers::{BasicAuthLayer, CorsLayer, RateLimitLayer, ResponseHeadersLayer};
use ferry_core::stack::{Authentication, Stack};
use http::HeaderValue;
use http::header::X_CONTENT_TYPE_OPTIONS;
use support::start;

#[tokio::test]
async fn the_steps_run_in_the_stacks_order() {
    let stack = Stack {
        health: Some(HealthChecks::new("test")),
        headers: Some(
            ResponseHeadersLayer::new()
                .set_if_absent(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ),
        cors: Some(CorsLayer::any_origin()),
        rate_limit: Some(RateLimitLayer::new().limit_all("2/min".parse().unwrap())),
        auth: Some(Authentication::Basic(BasicAuthLayer::new(
            "admin", "secret", "test",
        ))),
        ..Stack::default()
    };
    let server = start(stack.apply(App::new().get("/hello", |_req| async { "hi" }))).await;
    let client = reqwest::Client::new();

    // Preflights are answered by CORS, before the rate limit or the password.
    for _ in 0..3 {
        let preflight = client
            .request(reqwest::Method::OPTIONS, server.url("/hello"))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 204);
        assert_eq!(preflight.headers()["x-content-type-options"], "nosniff");
    }
    // Wrong passwords count against the allowance: the third try is limited.
    for _ in 0..2 {
        let refused = client.get(server.url("/hello")).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["x-content-type-options"], "nosniff");
    }
    let limited = client
        .get(server.url("/hello"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["x-content-type-options"], "nosniff");
    // Health checks are never limited (they still need the password).
    let health = client
        .get(server.url("/live"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.stop().await;
}
