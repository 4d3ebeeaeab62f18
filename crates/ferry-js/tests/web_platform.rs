//! The web platform's APIs on Ferry answer as they do on Deno: `tests/webapi/suite.js` runs
//! on both (Deno from `tests/webapi/node_modules`, installed by `scripts/install-test-tools`)
//! and every check must return the same value. Digests, HMAC, PBKDF2 and Ed25519 are also
//! held to their published test vectors here, so a shared mistake could not pass.

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
    include_str!("../../../tests/webapi/suite-fetch.js"),
    "\n",
    include_str!("../../../tests/webapi/suite-crypto.js")
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
    // RFC 4231 (HMAC), RFC 6070 (PBKDF2) and RFC 8032 (Ed25519), likewise.
    assert_eq!(
        ferry["hmac sha-256 rfc 4231"],
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        ferry["hmac sha-512 rfc 4231"],
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    );
    assert_eq!(
        ferry["pbkdf2 sha-1 rfc 6070"],
        serde_json::json!([
            "0c60c80f961f0e71f3a9b524af6012062fe037a6",
            "4b007901b765489abead49d926f721d065a429c1"
        ])
    );
    assert_eq!(
        ferry["ed25519 rfc 8032"],
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    assert_eq!(
        ferry["ed25519 rfc 8032 test 2"],
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
    );
    // Signatures made by OpenSSL verify, and fail once the message changes.
    for name in [
        "ecdsa openssl signature",
        "rsa pkcs1 openssl signature",
        "rsa pss openssl signature",
    ] {
        assert_eq!(ferry[name], serde_json::json!([true, false]), "{name}");
    }
}
