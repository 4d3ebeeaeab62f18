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

#[tokio::test]
async fn test_files_run_through_the_api_and_change_nothing() {
    let data = tempfile::tempdir().unwrap();
    let (engine, base, client) = start(data.path()).await;
    let run = |content: &'static str, filter: &'static str| {
        client
            .post(format!("{base}/engine/run_tests"))
            .bearer_auth(TOKEN)
            .form(&[
                ("uri", "notes.test.ts"),
                ("content", content),
                ("filter", filter),
            ])
            .send()
    };
    let source = "await db.exec('CREATE TABLE n (x INTEGER)');\ntest('passes', async () => {\n  await db.prepare('INSERT INTO n VALUES (1)').run();\n});\ntest('fails', () => {\n  const n: number = 1;\n  expect(n).toBe(2);\n});\nexport {};\n";
    let response = run(source, "").await.unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["counts"]["passed"], 1);
    assert_eq!(report["counts"]["failed"], 1);
    assert_eq!(report["tests"][1]["name"], "fails");
    assert_eq!(report["tests"][1]["status"], "failed");
    assert_eq!(report["tests"][1]["error"]["line"], 7);
    // Run again: the table did not survive, so CREATE TABLE works again.
    let report: Value = run(source, "pass").await.unwrap().json().await.unwrap();
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["tests"].as_array().unwrap().len(), 1);
    // A file that does not load: 400 with its line.
    let broken = run("test('x', () => {});\nthrow new Error('no');\n", "")
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let body: Value = broken.json().await.unwrap();
    assert_eq!(body["line"], 2, "{body}");
    // Nothing was loaded as a script.
    assert!(engine.script("notes.test.ts").is_none());
    let refused = client
        .post(format!("{base}/engine/run_tests"))
        .form(&[("uri", "a.test.js"), ("content", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
