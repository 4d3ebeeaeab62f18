//! `secretStorage` through a real server: secrets are written and checked, never read
//! back, kept sealed in the store, apart per script; without a key Ferry says how to
//! give it one.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use ferry_js::EngineOptions;
use ferry_store::SecretKey;
use support::TestApp;

const VAULT: &str = r#"
register("/set", (c) => secretStorage.setSecret(c.request.query.name, c.request.query.value));
register("/exists", (c) => String(secretStorage.exists(c.request.query.name)));
register("/remove", (c) => String(secretStorage.removeSecret(c.request.query.name)));
register("/clear", () => secretStorage.clear());
register("/getters", () => JSON.stringify(Object.keys(secretStorage).sort()));
register("/try", (c) => secretStorage.setSecret(c.request.query.name, c.request.query.value ?? "x".repeat(70000)));
"#;

const OTHER: &str = r#"
register("/other/exists", (c) => String(secretStorage.exists(c.request.query.name)));
"#;

fn key() -> Option<Arc<SecretKey>> {
    Some(Arc::new(SecretKey::parse(&"3c".repeat(32)).unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_written_checked_and_removed_never_read_back() {
    let options = EngineOptions {
        secret_key: key(),
        ..EngineOptions::default()
    };
    let app = TestApp::with_options(options, &[("vault.js", VAULT), ("other.js", OTHER)]).await;
    assert_eq!(app.text("/exists?name=API_TOKEN").await.1, "false");
    assert_eq!(
        app.text("/set?name=API_TOKEN&value=tok-9f8e7d6c5b4a").await,
        (200, "secret API_TOKEN stored".into())
    );
    assert_eq!(
        app.text("/set?name=SECOND&value=two").await.1,
        "secret SECOND stored"
    );
    assert_eq!(app.text("/exists?name=API_TOKEN").await.1, "true");
    assert_eq!(
        app.text("/getters").await.1,
        r#"["clear","exists","removeSecret","setSecret"]"#,
        "there is no getter"
    );
    // Another script has its own secrets.
    assert_eq!(app.text("/other/exists?name=API_TOKEN").await.1, "false");
    // Sealed at rest: the value is nowhere in the database's files.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(app.data.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(!stored.is_empty());
    assert!(
        !stored
            .windows(16)
            .any(|window| window == b"tok-9f8e7d6c5b4a"),
        "the value is sealed in the store"
    );
    assert_eq!(app.text("/remove?name=API_TOKEN").await.1, "true");
    assert_eq!(app.text("/remove?name=API_TOKEN").await.1, "false");
    assert_eq!(app.text("/clear").await.1, "1 secrets removed");
    assert_eq!(app.text("/exists?name=SECOND").await.1, "false");

    let bad_name = app.text("/try?name=has%20space&value=x").await.1;
    assert!(
        bad_name.starts_with("Error: ") && bad_name.contains("not allowed"),
        "{bad_name}"
    );
    let too_big = app.text("/try?name=BIG").await.1;
    assert!(too_big.contains("the limit is 65536"), "{too_big}");
    assert!(
        !too_big.contains("xxxx"),
        "the value is not echoed: {too_big}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_setting_a_secret_says_how_to_give_one() {
    let app = TestApp::with_options(EngineOptions::default(), &[("vault.js", VAULT)]).await;
    let answer = app.text("/try?name=API_TOKEN&value=s3cret-value").await.1;
    assert!(answer.contains("FERRY_SECRET_KEY"), "{answer}");
    assert!(answer.contains("openssl rand -base64 32"), "{answer}");
    assert!(!answer.contains("s3cret-value"), "{answer}");
    assert_eq!(app.text("/exists?name=API_TOKEN").await.1, "false");
}
