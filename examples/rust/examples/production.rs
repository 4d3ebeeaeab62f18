//! The production stack as `ferry serve` and `ferry run` have it: Prometheus metrics,
//! health checks with a shutdown drain, security headers, CORS, per-client rate limits,
//! connection limits and timeouts, over HTTPS (a self-signed certificate here), around the
//! routes of your app.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example production
//! curl -k https://127.0.0.1:3443/hello
//! curl -k https://127.0.0.1:3443/metrics
//! curl -k https://127.0.0.1:3443/ready
//! ```

use std::time::Duration;

use ferry_core::health::HealthChecks;
use ferry_core::layers::{
    CorsLayer, RateLimitLayer, RateLimitRule, ResponseHeadersLayer, SecurityHeaders,
};
use ferry_core::prometheus::Metrics;
use ferry_core::server::TlsConfig;
use ferry_core::stack::Stack;
use ferry_core::{App, ServerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Before any server is built: components look their metrics up once.
    let metrics = Metrics::install()?;
    // nosniff, X-Frame-Options: DENY, a Referrer-Policy, and HSTS since this is HTTPS.
    let headers = SecurityHeaders {
        hsts: Some(SecurityHeaders::HSTS_ONE_YEAR),
        ..SecurityHeaders::default()
    }
    .add_to(ResponseHeadersLayer::new(), true);
    let stack = Stack {
        count_requests: true,
        metrics: Some(metrics),
        health: Some(HealthChecks::new(env!("CARGO_PKG_VERSION"))),
        headers: Some(headers),
        cors: Some(CorsLayer::allow_origins(["https://app.example.com"])?),
        rate_limit: Some(
            RateLimitLayer::new()
                .limit_all("100/s".parse()?)
                .limit(RateLimitRule::new("/login", "5/min".parse()?)),
        ),
        ..Stack::default()
    };
    let config = ServerConfig {
        max_connections: 10_000,
        max_connections_per_ip: 100,
        header_read_timeout: Duration::from_secs(10),
        shutdown_delay: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let tls = TlsConfig::self_signed(&["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    println!(
        "https://127.0.0.1:3443/ (self-signed, SHA-256 {})",
        tls.fingerprint()
    );
    let app = App::new()
        .config(config)
        .tls(tls)
        .get("/hello", |_request| async { "Hello, world!" })
        .post("/login", |_request| async { "welcome" });
    stack.apply(app).serve("127.0.0.1:3443").await?;
    Ok(())
}
