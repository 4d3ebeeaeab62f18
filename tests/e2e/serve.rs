//! `ferry serve`, run as a user runs it.

use std::time::Duration;

use crate::support::{Ferry, assert_bad_targets_and_hosts_are_refused, run_to_end, site};

#[tokio::test]
async fn serve_prints_a_banner_and_serves_the_directory() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &[]);
    let banner = ferry.banner.join("\n");
    assert!(
        banner.contains(&format!("serving {}", dir.path().display())),
        "{banner}"
    );
    assert!(banner.contains("Local:    http://127.0.0.1:"), "{banner}");
    assert!(banner.contains("Press Ctrl+C to stop"), "{banner}");

    let response = reqwest::get(ferry.url("/")).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    assert_eq!(headers["cross-origin-embedder-policy"], "require-corp");
    assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(response.text().await.unwrap().contains("hello"));

    let wasm = reqwest::get(ferry.url("/app.wasm")).await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
}

#[tokio::test]
async fn port_zero_picks_a_free_port_and_prints_it() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &[]);
    let port: u16 = ferry
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
}

#[tokio::test]
async fn every_request_gets_one_access_log_line() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &[]);
    reqwest::get(ferry.url("/index.html")).await.unwrap();
    let lines = ferry.stderr_until(Duration::from_secs(5), |l| l.contains("GET /index.html"));
    let line = lines.last().cloned().unwrap_or_default();
    assert!(
        line.starts_with("127.0.0.1 - GET /index.html - 200 OK ("),
        "{lines:?}"
    );
    assert!(line.ends_with("ms)"), "{line}");
}

#[tokio::test]
async fn json_log_format_writes_one_object_per_request() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--log-format", "json"]);
    reqwest::get(ferry.url("/missing")).await.unwrap();
    let lines = ferry.stderr_until(Duration::from_secs(5), |l| l.contains("/missing"));
    let line = lines.last().cloned().unwrap_or_default();
    let event: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(event["status"], 404);
    assert_eq!(event["method"], "GET");
    assert_eq!(event["path"], "/missing");
    assert_eq!(event["level"], "INFO");
    assert!(event["timestamp"].is_string());
    assert_eq!(event["request_id"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn quiet_prints_only_the_url_and_no_request_lines() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--quiet"]);
    assert_eq!(ferry.banner.len(), 1, "{:?}", ferry.banner);
    assert!(ferry.banner[0].starts_with("http://127.0.0.1:"));
    reqwest::get(ferry.url("/")).await.unwrap();
    let lines = ferry.stderr_until(Duration::from_millis(500), |_| false);
    assert!(lines.is_empty(), "{lines:?}");
}

#[tokio::test]
async fn all_interfaces_print_a_localhost_url() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--host", "0.0.0.0"]);
    let banner = ferry.banner.join("\n");
    assert!(banner.contains("Local:    http://localhost:"), "{banner}");
    let response = reqwest::get(ferry.url("/")).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn cors_flag_answers_preflights_and_marks_responses() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--cors"]);
    let client = reqwest::Client::new();
    let preflight = client
        .request(reqwest::Method::OPTIONS, ferry.url("/app.wasm"))
        .header("origin", "https://other.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "range")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, HEAD, OPTIONS"
    );
    assert_eq!(preflight.headers()["access-control-allow-headers"], "range");

    let response = client
        .get(ferry.url("/app.wasm"))
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        response.headers()["cross-origin-resource-policy"],
        "cross-origin"
    );
}

#[tokio::test]
async fn header_flag_adds_headers_and_isolation_flags_change_them() {
    let dir = site();
    let ferry = Ferry::serve(
        dir.path(),
        &[
            "-H",
            "X-Frame-Options: DENY",
            "--header",
            "X-Custom: yes",
            "--coep",
            "credentialless",
        ],
    );
    let response = reqwest::get(ferry.url("/")).await.unwrap();
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["x-custom"], "yes");
    assert_eq!(
        response.headers()["cross-origin-embedder-policy"],
        "credentialless"
    );

    let plain = Ferry::serve(dir.path(), &["--no-isolation"]);
    let response = reqwest::get(plain.url("/")).await.unwrap();
    assert!(
        !response
            .headers()
            .contains_key("cross-origin-opener-policy")
    );
    assert!(
        !response
            .headers()
            .contains_key("cross-origin-embedder-policy")
    );
}

#[tokio::test]
async fn cache_spa_and_listing_flags_reach_the_file_service() {
    let dir = site();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    let ferry = Ferry::serve(dir.path(), &["--cache", "3600", "--spa", "--no-listing"]);
    let client = reqwest::Client::new();
    let file = client.get(ferry.url("/app.wasm")).send().await.unwrap();
    assert_eq!(file.headers()["cache-control"], "max-age=3600");
    let navigation = client
        .get(ferry.url("/some/route"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(navigation.status(), 200);
    assert_eq!(
        client
            .get(ferry.url("/docs/"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn http2_prior_knowledge_works_against_the_binary() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &[]);
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(ferry.url("/")).send().await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
}

#[test]
fn busy_port_is_a_clear_error_that_suggests_port_zero() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = site();
    let dir_arg = dir.path().to_str().unwrap();
    let (status, _, stderr) = run_to_end(&["serve", dir_arg, "--port", &port]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    assert!(stderr.contains("--port 0"), "{stderr}");
}

#[test]
fn missing_directory_is_a_clear_error() {
    let (status, _, stderr) = run_to_end(&["serve", "/definitely/not/here", "--port", "0"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("cannot serve /definitely/not/here"),
        "{stderr}"
    );
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn bad_header_flag_is_rejected_with_an_explanation() {
    let (status, _, stderr) = run_to_end(&["serve", ".", "-H", "nonsense"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("expected 'Name: value'"), "{stderr}");
}

#[test]
fn help_lists_the_serve_flags() {
    let (status, stdout, _) = run_to_end(&["serve", "--help"]);
    assert!(status.success());
    for flag in [
        "--port",
        "--host",
        "--verbose",
        "--quiet",
        "--no-listing",
        "--hidden",
        "--follow-symlinks",
        "--spa",
        "--cache",
        "--cors",
        "--header",
        "--coep",
        "--no-isolation",
        "--shutdown-timeout",
        "--log-format",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from help:\n{stdout}");
    }
}

#[tokio::test]
async fn verbose_logs_connection_events() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--verbose"]);
    reqwest::get(ferry.url("/")).await.unwrap();
    let lines = ferry.stderr_until(Duration::from_secs(5), |l| l.contains("connection opened"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("debug: connection opened peer=127.0.0.1:")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn files_are_compressed_for_browsers_unless_turned_off() {
    let dir = site();
    std::fs::write(
        dir.path().join("app.js"),
        "export const answer = 42;\n".repeat(200),
    )
    .unwrap();
    let ferry = Ferry::serve(dir.path(), &[]);
    let client = reqwest::Client::new();
    let compressed = client
        .get(ferry.url("/app.js"))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");

    let plain_ferry = Ferry::serve(dir.path(), &["--no-compress"]);
    let plain = client
        .get(plain_ferry.url("/app.js"))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert!(!plain.headers().contains_key("content-encoding"));
}

#[tokio::test]
async fn auth_flag_requires_the_password() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--auth", "admin:open:sesame"]);
    let client = reqwest::Client::new();
    let refused = client.get(ferry.url("/")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Basic realm=\"ferry\", charset=\"UTF-8\""
    );
    let wrong = client
        .get(ferry.url("/"))
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let allowed = client
        .get(ferry.url("/"))
        .basic_auth("admin", Some("open:sesame"))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

#[tokio::test]
async fn auth_can_come_from_the_environment() {
    let dir = site();
    let mut command = crate::support::ferry_command();
    command
        .arg("serve")
        .arg(dir.path())
        .args(["--port", "0"])
        .env("FERRY_AUTH", "me:pw");
    let ferry = Ferry::start(command);
    let client = reqwest::Client::new();
    assert_eq!(
        client.get(ferry.url("/")).send().await.unwrap().status(),
        401
    );
    let allowed = client
        .get(ferry.url("/"))
        .basic_auth("me", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

#[test]
fn malformed_auth_is_rejected() {
    let (status, _, stderr) = run_to_end(&["serve", ".", "--auth", "no-colon"]);
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("USER:PASSWORD"), "{stderr}");
}

#[tokio::test]
async fn not_found_page_flag_serves_the_page_with_404() {
    let dir = site();
    let page = dir.path().join("404.html");
    std::fs::write(&page, "<p>lost?</p>").unwrap();
    let ferry = Ferry::serve(dir.path(), &["--404", page.to_str().unwrap()]);
    let response = reqwest::get(ferry.url("/nope")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), "<p>lost?</p>");
}

#[test]
fn qr_flag_prints_a_code_for_the_url() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--qr"]);
    let lines = ferry.stdout_until(Duration::from_secs(5), |l| l.starts_with('▀'));
    let text = lines.join("\n");
    assert!(
        text.contains(&format!("Scan to open {}", ferry.url)),
        "{text}"
    );
    assert!(
        lines.iter().filter(|l| l.starts_with('█')).count() > 10,
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn open_flag_launches_the_browser_with_the_url() {
    use std::os::unix::fs::PermissionsExt;
    let dir = site();
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("opened.txt");
    let launcher = bin.path().join("xdg-open");
    std::fs::write(
        &launcher,
        format!("#!/bin/sh\necho \"$1\" > {}\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = crate::support::ferry_command();
    command
        .arg("serve")
        .arg(dir.path())
        .args(["--port", "0", "--open"])
        .env("PATH", path);
    let ferry = Ferry::start(command);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !record.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    let opened = std::fs::read_to_string(&record).unwrap_or_default();
    assert_eq!(opened.trim(), ferry.url);
}

#[test]
fn serve_refuses_requests_without_a_valid_host_or_target() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &[]);
    assert_bad_targets_and_hosts_are_refused(&ferry);
}
