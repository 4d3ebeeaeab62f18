//! Asset routes and `/engine/assets` through a real server: assets uploaded, edited,
//! listed, read in part and deleted over HTTP, and served at the paths scripts register
//! with validators, conditional requests, ranges and compression — never stale after a
//! change, whichever way it was made.

#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use serde_json::{Value, json};

const TOKEN: &str = "correct-horse-battery-staple";

const SITE: &str = r#"
routeRegistry.registerAssetRoute("/site.css", "css/site.css");
routeRegistry.registerAssetRoute("/logo.png", "logo.png");
register("/put", (c) => assetStorage.upsertAsset("css/site.css", "text/css", c.request.query.b64));
const seen = assetStorage.fetchAsset("notes.txt");
register("/seen-at-load", () => seen);
"#;

struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(data: &std::path::Path) -> Server {
        let (_engine, base, client) = support::managed_server(data, TOKEN).await;
        Server { base, client }
    }

    async fn upload_script(&self, uri: &str, content: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/engine/upsert_script", self.base))
            .bearer_auth(TOKEN)
            .form(&[("uri", uri), ("content", content)])
            .send()
            .await
            .unwrap()
    }

    async fn assets(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}

fn css(rule: &str) -> String {
    format!("body {{ color: {rule}; }}\n").repeat(40)
}

#[tokio::test(flavor = "multi_thread")]
async fn asset_routes_answer_like_files_and_follow_every_change() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path()).await;
    assert_eq!(server.upload_script("site.js", SITE).await.status(), 200);
    let missing = server.get("/site.css", &[]).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("css/site.css"));

    let (status, uploaded) = server
        .assets(
            reqwest::Method::POST,
            "/engine/assets",
            Some(json!({ "uri": "site.js", "name": "css/site.css", "content": css("red") })),
        )
        .await;
    assert_eq!(status, 200, "{uploaded}");
    assert_eq!(uploaded["asset"]["mimetype"], "text/css; charset=utf-8");
    let served = server.get("/site.css", &[]).await;
    assert_eq!(served.status(), 200);
    let etag = served.headers()["etag"].to_str().unwrap().to_owned();
    let sha = uploaded["asset"]["sha256"].as_str().unwrap();
    assert_eq!(etag, format!("\"{}\"", &sha[..32]));
    assert_eq!(served.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(served.headers()["cache-control"], "no-cache");
    assert!(served.headers().contains_key("last-modified"));
    assert_eq!(served.text().await.unwrap(), css("red"));

    let revalidated = server.get("/site.css", &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status(), 304);
    let part = server.get("/site.css", &[("range", "bytes=0-3")]).await;
    assert_eq!(part.status(), 206);
    assert_eq!(part.text().await.unwrap(), "body");
    let compressed = server
        .get("/site.css", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    assert_eq!(compressed.headers()["vary"], "Accept-Encoding");
    let gzip = compressed.bytes().await.unwrap();
    assert!(gzip.len() < css("red").len() / 4, "{} bytes", gzip.len());
    let head = server
        .client
        .head(format!("{}/site.css", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.headers()["content-length"],
        css("red").len().to_string()
    );

    // Changed by the script itself: served new at once.
    let b64 = base64::engine::general_purpose::STANDARD.encode(css("blue"));
    let url =
        reqwest::Url::parse_with_params(&format!("{}/put", server.base), [("b64", &b64)]).unwrap();
    let put = server.client.get(url).send().await.unwrap();
    assert!(put.text().await.unwrap().contains("stored"));
    let after = server.get("/site.css", &[("if-none-match", &etag)]).await;
    assert_eq!(after.status(), 200, "the old tag no longer matches");
    assert_eq!(after.text().await.unwrap(), css("blue"));

    // An edit against the digest it was made from; a stale one is refused.
    let (_, read) = server
        .assets(
            reqwest::Method::GET,
            "/engine/assets?uri=site.js&name=css/site.css&lines=2",
            None,
        )
        .await;
    assert_eq!(read["content"], "body { color: blue; }");
    assert_eq!(read["total_lines"], 40);
    let base = read["sha256"].as_str().unwrap().to_owned();
    let edit = |old: &str, new: &str, base: &str, all: bool| {
        json!({ "uri": "site.js", "name": "css/site.css", "base_sha256": base,
                "old_string": old, "new_string": new, "replace_all": all })
    };
    let (status, refused) = server
        .assets(
            reqwest::Method::PATCH,
            "/engine/assets",
            Some(edit("blue", "green", &base, false)),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("occurs 40 times")
    );
    let (status, refused) = server
        .assets(
            reqwest::Method::PATCH,
            "/engine/assets",
            Some(edit("purple", "x", &base, true)),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let (status, edited) = server
        .assets(
            reqwest::Method::PATCH,
            "/engine/assets",
            Some(edit("blue", "green", &base, true)),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["replacements"], 40);
    let (status, stale) = server
        .assets(
            reqwest::Method::PATCH,
            "/engine/assets",
            Some(edit("green", "red", &base, true)),
        )
        .await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["sha256"], edited["asset"]["sha256"]);
    assert_eq!(
        server.get("/site.css", &[]).await.text().await.unwrap(),
        css("green")
    );

    let (_, found) = server
        .assets(
            reqwest::Method::GET,
            "/engine/assets?uri=site.js&name=css/site.css&grep=green",
            None,
        )
        .await;
    assert_eq!(found["match_count"], 40);
    let (_, listed) = server
        .assets(reqwest::Method::GET, "/engine/assets?uri=site.js", None)
        .await;
    assert_eq!(listed["assets"][0]["name"], "css/site.css");

    // Deleted: the route answers 404 again.
    let (status, _) = server
        .assets(
            reqwest::Method::DELETE,
            "/engine/assets?uri=site.js&name=css/site.css",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.get("/site.css", &[]).await.status(), 404);
    let (status, _) = server
        .assets(
            reqwest::Method::DELETE,
            "/engine/assets?uri=site.js&name=css/site.css",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Without the token nothing is read or written.
    let anonymous = server
        .client
        .get(format!("{}/engine/assets?uri=site.js", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_all_or_nothing_and_reload_the_script() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path()).await;
    assert_eq!(server.upload_script("site.js", SITE).await.status(), 200);
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let png = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10];
    let files = json!([
        { "name": "notes.txt", "content_base64": encode("first notes") },
        { "name": "logo.png", "content_base64": base64::engine::general_purpose::STANDARD.encode(png) },
    ]);

    let mut wrong = files.clone();
    wrong[1]["sha256"] = json!("0".repeat(64));
    let (status, refused) = server
        .assets(
            reqwest::Method::POST,
            "/engine/assets/batch?script=site.js",
            Some(json!({ "files": wrong })),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"].as_str().unwrap().starts_with("logo.png"));
    let (_, listed) = server
        .assets(reqwest::Method::GET, "/engine/assets?uri=site.js", None)
        .await;
    assert_eq!(
        listed["assets"],
        json!([]),
        "nothing of a refused batch is stored"
    );

    let (status, stored) = server
        .assets(
            reqwest::Method::POST,
            "/engine/assets/batch?script=site.js",
            Some(json!({ "files": files, "reinit": "after" })),
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["reinit"], "done");
    assert_eq!(stored["files"][1]["mimetype"], "image/png");
    // The script was loaded again, so its top level saw the new asset.
    let seen = server.get("/seen-at-load", &[]).await.text().await.unwrap();
    assert_eq!(seen, encode("first notes"));
    let logo = server
        .get("/logo.png", &[("accept-encoding", "gzip")])
        .await;
    assert!(
        logo.headers().get("content-encoding").is_none(),
        "images go as they are"
    );
    assert_eq!(&logo.bytes().await.unwrap()[..], &png);

    let (status, _) = server
        .assets(
            reqwest::Method::POST,
            "/engine/assets/batch?script=site.js",
            Some(json!({ "files": [{ "name": "notes.txt", "content_base64": encode("second") }], "reinit": "never" })),
        )
        .await;
    assert_eq!(status, 200);
    let seen = server.get("/seen-at-load", &[]).await.text().await.unwrap();
    assert_eq!(seen, encode("first notes"), "not reloaded");
}

#[tokio::test(flavor = "multi_thread")]
async fn asset_routes_are_exact_paths_to_valid_names() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path()).await;
    let pattern = server
        .upload_script(
            "a.js",
            r#"routeRegistry.registerAssetRoute("/files/:name", "a.txt");"#,
        )
        .await;
    assert_eq!(pattern.status(), 400);
    assert!(
        pattern
            .text()
            .await
            .unwrap()
            .contains("must be an exact path")
    );
    let outside = server
        .upload_script(
            "b.js",
            r#"routeRegistry.registerAssetRoute("/x", "../secret");"#,
        )
        .await;
    assert_eq!(outside.status(), 400);
    assert!(
        outside
            .text()
            .await
            .unwrap()
            .contains("is not an asset name")
    );
    let listed = server
        .upload_script(
            "c.js",
            r#"routeRegistry.registerAssetRoute("/c.txt", "c.txt");"#,
        )
        .await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["routes"], json!(["ASSET /c.txt c.txt"]));
}
