//! The web platform's APIs on Ferry answer as they do on Deno: `tests/webapi/suite.js` runs
//! on both (Deno from `tests/webapi/node_modules`, installed by `scripts/install-test-tools`)
//! and every check must return the same value. The digests are also held to the published
//! FIPS 180-4 test vectors here, so a shared mistake could not pass.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use ferry_js::Limits;
use serde_json::Value;
use support::TestApp;

const SUITE: &str = concat!(
    include_str!("../../../tests/webapi/suite.js"),
    "\n",
    include_str!("../../../tests/webapi/suite-fetch.js")
);

fn webapi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/webapi")
}

/// The suite's results on Deno.
fn on_deno() -> serde_json::Map<String, Value> {
    let dir = webapi_dir();
    let deno = std::env::var_os("FERRY_DENO")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("node_modules/.bin/deno"));
    assert!(
        deno.exists(),
        "Deno is missing at {}: run scripts/install-test-tools (or `npm ci` in tests/webapi)",
        deno.display()
    );
    let output = std::process::Command::new(&deno)
        .args(["run", "--allow-read", "run-deno.js"])
        .current_dir(&dir)
        .env("DENO_NO_UPDATE_CHECK", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "deno failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The suite's results on Ferry.
async fn on_ferry() -> serde_json::Map<String, Value> {
    let script = format!(
        "{SUITE}\nregister(\"/checks\", async () => JSON.stringify(await webApiChecks()));\n"
    );
    let limits = Limits {
        call_timeout: Duration::from_secs(20),
        ..Limits::default()
    };
    let app = TestApp::with(1, limits, false, &[("checks.js", script.as_str())]).await;
    let (status, body) = app.text("/checks").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_check_answers_as_on_deno() {
    let deno = tokio::task::spawn_blocking(on_deno).await.unwrap();
    let ferry = on_ferry().await;
    let mut differences = Vec::new();
    for (name, expected) in &deno {
        match ferry.get(name) {
            Some(actual) if actual == expected => {}
            Some(actual) => differences.push(format!("{name}: Deno {expected}, Ferry {actual}")),
            None => differences.push(format!("{name}: missing on Ferry")),
        }
    }
    for name in ferry.keys().filter(|name| !deno.contains_key(*name)) {
        differences.push(format!("{name}: missing on Deno"));
    }
    assert!(
        differences.is_empty(),
        "{} of {} checks differ:\n{}",
        differences.len(),
        deno.len(),
        differences.join("\n")
    );
    assert!(deno.len() >= 150, "only {} checks ran", deno.len());

    // FIPS 180-4's examples, whatever either runtime says.
    let vectors = [
        ("sha-1 abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "sha-256 abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "sha-384 abc",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "sha-512 abc",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
        (
            "sha-256 two blocks",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
        (
            "sha-256 of a million a",
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
        ),
    ];
    for (name, digest) in vectors {
        assert_eq!(ferry[name], digest, "{name}");
    }
}
