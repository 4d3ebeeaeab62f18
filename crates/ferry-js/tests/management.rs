//! The management API: refused without the token, and with it scripts are uploaded,
//! listed, read, replaced and deleted, and kept in the data store.

#![allow(clippy::unwrap_used)]

mod support;

use ferry_js::Engine;
use ferry_js::management::stored_scripts;
use serde_json::Value;

const TOKEN: &str = "correct-horse-battery-staple";

async fn start(data: &std::path::Path) -> (Engine, String, reqwest::Client) {
    support::managed_server(data, TOKEN).await
}

#[tokio::test]
async fn calls_without_the_right_token_get_401() {
    let data = tempfile::tempdir().unwrap();
    let (_engine, base, client) = start(data.path()).await;
    let missing = client
        .get(format!("{base}/engine/scripts"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"ferry\""
    );
    let wrong = client
        .post(format!("{base}/engine/upsert_script"))
        .bearer_auth("wrong-token-wrong-token")
        .form(&[("uri", "x.js"), ("content", "register('/x', () => 'x')")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        client
            .get(format!("{base}/x"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn scripts_are_upserted_listed_read_and_deleted() {
    let data = tempfile::tempdir().unwrap();
    let (engine, base, client) = start(data.path()).await;
    let upsert = |content: &'static str| {
        client
            .post(format!("{base}/engine/upsert_script"))
            .bearer_auth(TOKEN)
            .form(&[("uri", "https://example.com/hello"), ("content", content)])
            .send()
    };
    let created = upsert("register('/hi', () => 'one');").await.unwrap();
    assert_eq!(created.status(), 200);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["routes"], serde_json::json!(["GET /hi"]));
    assert_eq!(
        client
            .get(format!("{base}/hi"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );

    let broken = upsert("register('/hi', () => 'two');\nnope(")
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let error: Value = broken.json().await.unwrap();
    assert_eq!(error["line"], 2, "{error}");
    assert_eq!(
        client
            .get(format!("{base}/hi"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );

    upsert("register('/hi', () => 'two');").await.unwrap();
    assert_eq!(
        client
            .get(format!("{base}/hi"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "two"
    );

    let list: Value = client
        .get(format!("{base}/engine/scripts"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["uri"], "https://example.com/hello");
    let source = client
        .get(format!(
            "{base}/engine/read_script?uri=https://example.com/hello"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        source.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        source.text().await.unwrap(),
        "register('/hi', () => 'two');"
    );

    // Kept in the data store for the next start.
    let stored = stored_scripts(engine.store().unwrap()).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(&**stored[0].source(), "register('/hi', () => 'two');");

    let deleted = client
        .post(format!("{base}/engine/delete_script"))
        .bearer_auth(TOKEN)
        .form(&[("uri", "https://example.com/hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(
        client
            .get(format!("{base}/hi"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert!(stored_scripts(engine.store().unwrap()).unwrap().is_empty());
    let again = client
        .post(format!("{base}/engine/delete_script"))
        .bearer_auth(TOKEN)
        .form(&[("uri", "https://example.com/hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}
