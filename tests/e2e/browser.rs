//! Checks that need a real browser: headless Chromium driven by playwright-core
//! (tests/browser/check.mjs), both installed by scripts/install-test-tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Ferry, site};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `check.mjs MODE ARGS...` and returns the JSON it prints.
pub(crate) fn browser(mode: &str, args: &[&str]) -> serde_json::Value {
    let browser_dir = repository().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/install-test-tools (or scripts/test)"
    );
    let output = Command::new("node")
        .arg(browser_dir.join("check.mjs"))
        .arg(mode)
        .args(args)
        .output()
        .expect("node runs (scripts/install-test-tools installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "browser check {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

#[test]
fn pages_are_cross_origin_isolated_by_default() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--quiet"]);
    let result = browser("isolation", &[&ferry.url("/")]);
    assert_eq!(result["isolated"], true, "{result}");
    assert_eq!(result["sharedArrayBuffer"], true, "{result}");
}

#[test]
fn no_isolation_turns_cross_origin_isolation_off() {
    let dir = site();
    let ferry = Ferry::serve(dir.path(), &["--quiet", "--no-isolation"]);
    let result = browser("isolation", &[&ferry.url("/")]);
    assert_eq!(result["isolated"], false, "{result}");
    assert_eq!(result["sharedArrayBuffer"], false, "{result}");
}

#[test]
fn the_demo_site_passes_its_own_checks_in_a_browser() {
    let ferry = Ferry::serve(&repository().join("examples/site"), &["--quiet"]);
    let result = browser("demo", &[&ferry.url("/")]);
    assert_eq!(result["isolated"], "yes", "{result}");
    assert_eq!(result["shared"], "yes", "{result}");
    assert_eq!(result["wasm"], "yes (add(2, 3) = 5)", "{result}");
}

/// A browser's WebSocket to a script, over HTTPS: Chromium loads the page over HTTP/2 and
/// opens the WebSocket on that connection with an extended CONNECT (RFC 8441); the access
/// log shows which way it came.
#[test]
fn a_browser_websocket_over_https_and_http2_reaches_the_script() {
    let data = tempfile::tempdir().unwrap();
    let mut command = crate::support::ferry_command();
    command
        .arg("run")
        .arg(repository().join("examples/apps/websocket/app.js"))
        .args([
            "--port",
            "0",
            "--tls-self-signed",
            "--no-watch",
            "--data-dir",
        ])
        .arg(data.path());
    let ferry = Ferry::start(command);
    let url = ferry.url("/");
    assert!(url.starts_with("https://"), "{url}");
    let result = browser("websocket", &[&url]);
    assert_eq!(result["text"], "hello from the browser", "{result}");
    assert_eq!(result["binary"], serde_json::json!([1, 2, 255]), "{result}");
    assert_eq!(result["closeCode"], 1000, "{result}");
    assert_eq!(result["pageProtocol"], "h2", "{result}");
    let log = ferry.stderr_until(std::time::Duration::from_secs(5), |line| {
        line.contains("/echo")
    });
    assert!(
        log.iter().any(|line| line.contains("CONNECT /echo")),
        "the WebSocket did not come over HTTP/2: {log:?}"
    );
}

/// The GraphQL chat example in a real browser: one page's message reaches another page
/// through its subscription (graphql-sse over fetch streaming).
#[test]
fn the_graphql_chat_page_delivers_messages_between_browser_pages() {
    let data = tempfile::tempdir().unwrap();
    let mut command = crate::support::ferry_command();
    command
        .arg("run")
        .arg(repository().join("examples/apps/chat/app.js"))
        .args(["--port", "0", "--quiet", "--no-watch", "--data-dir"])
        .arg(data.path());
    let ferry = Ferry::start(command);
    let result = browser("graphql-chat", &[&ferry.url("/")]);
    let shown = result["shown"].as_str().unwrap_or_default();
    assert!(shown.contains("writer: hello"), "{result}");
}
