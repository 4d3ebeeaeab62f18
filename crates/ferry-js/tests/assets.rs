//! `assetStorage` through a real server: assets stored as base64, listed with their
//! metadata, fetched back byte for byte, deleted; refusals answered as messages, as in
//! aiwebengine; each script with its own.

#![allow(clippy::unwrap_used)]

mod support;

use support::TestApp;

const SITE: &str = r#"
register("/upsert", (c) => assetStorage.upsertAsset(c.request.query.name, c.request.query.type, c.request.query.b64));
register("/list", () => assetStorage.listAssets());
register("/fetch", (c) => assetStorage.fetchAsset(c.request.query.name));
register("/delete", (c) => assetStorage.deleteAsset(c.request.query.name));
register("/logo", () => {
  const png = assetStorage.fetchAsset("img/dot.png");
  if (png.startsWith("Error")) return ResponseBuilder.error(404, "no logo yet");
  return { status: 200, bodyBase64: png, contentType: "image/png" };
});
register("/too-big", () => assetStorage.upsertAsset("big.bin", "application/octet-stream", btoa("x".repeat(9 * 1024 * 1024))));
"#;

const OTHER: &str = r#"register("/other/list", () => assetStorage.listAssets());"#;

fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params(&format!("http://localhost{path}"), pairs).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_are_stored_listed_fetched_and_deleted() {
    let app = TestApp::new(&[("site.js", SITE), ("other.js", OTHER)]).await;
    // Bytes that are not text survive the trip.
    let stored = app
        .text(&query(
            "/upsert",
            &[
                ("name", "img/dot.png"),
                ("type", "image/png"),
                ("b64", "iVBORw0KGgoA/w=="),
            ],
        ))
        .await
        .1;
    assert!(
        stored.starts_with("asset img/dot.png stored (10 bytes, sha256 "),
        "{stored}"
    );
    let listed: serde_json::Value = serde_json::from_str(&app.text("/list").await.1).unwrap();
    let asset = &listed[0];
    assert_eq!(asset["uri"], "img/dot.png");
    assert_eq!(asset["mimetype"], "image/png");
    assert_eq!(asset["size"], 10);
    assert_eq!(asset["sha256"].as_str().unwrap().len(), 64);
    assert!(
        asset["created_at"].as_str().unwrap().ends_with('Z'),
        "{asset}"
    );
    assert_eq!(
        app.text(&query("/fetch", &[("name", "img/dot.png")]))
            .await
            .1,
        "iVBORw0KGgoA/w=="
    );
    // The docs' example: served as bytes.
    let logo = app.get("/logo").await;
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(
        &logo.bytes().await.unwrap()[..],
        b"\x89PNG\r\n\x1a\n\x00\xff"
    );
    assert_eq!(
        app.text("/other/list").await.1,
        "[]",
        "each script has its own"
    );

    for (name, kind, content) in [
        ("../escape", "text/plain", "eA=="),
        ("/abs", "text/plain", "eA=="),
        ("ok.txt", "not a type", "eA=="),
        ("ok.txt", "text/plain", "not base64!"),
    ] {
        let answer = app
            .text(&query(
                "/upsert",
                &[("name", name), ("type", kind), ("b64", content)],
            ))
            .await
            .1;
        assert!(answer.starts_with("Error: "), "{name} {kind}: {answer}");
    }
    let too_big = app.text("/too-big").await.1;
    assert!(too_big.contains("the limit is 8388608"), "{too_big}");
    assert!(
        app.text(&query("/fetch", &[("name", "missing.png")]))
            .await
            .1
            .starts_with("Error: there is no asset")
    );

    assert_eq!(
        app.text(&query("/delete", &[("name", "img/dot.png")]))
            .await
            .1,
        "asset img/dot.png deleted"
    );
    assert!(
        app.text(&query("/delete", &[("name", "img/dot.png")]))
            .await
            .1
            .starts_with("Error: ")
    );
    assert_eq!(app.text("/list").await.1, "[]");
}
