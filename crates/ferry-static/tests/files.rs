//! The file service behind a real server on 127.0.0.1:0, spoken to with reqwest (and raw
//! TCP where reqwest would clean the request up first).

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ferry_static::{CachePolicy, MemoryCacheLimits, StaticOptions};
use http::StatusCode;
use reqwest::header::{ACCEPT, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, RANGE};
use support::{SECRET, default_site, start_site, write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn mime_types_come_from_our_table() {
    let site = default_site().await;
    let expected = [
        ("/index.html", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/mod.mjs", "text/javascript; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/app.wasm", "application/wasm"),
        ("/app.wasm.map", "application/json"),
        ("/module.wat", "text/plain; charset=utf-8"),
        ("/site.webmanifest", "application/manifest+json"),
        ("/font.woff2", "font/woff2"),
        ("/logo.svg", "image/svg+xml"),
        ("/blob.xyz", "application/octet-stream"),
    ];
    for (path, content_type) in expected {
        let response = site.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
    }
}

#[tokio::test]
async fn directory_serves_index_html_then_index_htm() {
    let site = default_site().await;
    assert_eq!(site.get("/").await.text().await.unwrap(), "<h1>home</h1>");
    assert_eq!(
        site.get("/only-htm/").await.text().await.unwrap(),
        "htm index"
    );
}

#[tokio::test]
async fn directory_without_slash_redirects_301_keeping_the_query() {
    let site = default_site().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(site.url("/listing?sort=name&x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.headers()["location"], "/listing/?sort=name&x=1");
}

#[tokio::test]
async fn double_slash_redirect_is_never_protocol_relative() {
    let site = default_site().await;
    let mut stream = tokio::net::TcpStream::connect(site.addr).await.unwrap();
    stream
        .write_all(b"GET //listing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 301"), "{text}");
    assert!(text.contains("location: /listing/\r\n"), "{text}");
}

#[tokio::test]
async fn listing_is_html5_with_directories_first_and_a_parent_link() {
    let site = default_site().await;
    let response = site.get("/listing/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<h1>Directory listing for /listing/</h1>"));
    assert!(page.contains("href=\"../\""));
    let sub = page.find("href=\"sub/\"").unwrap();
    let plain = page.find("href=\"plain.txt\"").unwrap();
    assert!(sub < plain, "directories come first");
}

#[tokio::test]
async fn listing_as_json_when_the_client_prefers_it() {
    let site = default_site().await;
    let response = site
        .client
        .get(site.url("/listing/"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["vary"], "Accept");
    let listing: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(listing["path"], "/listing/");
    assert_eq!(listing["entries"][0]["name"], "sub");
    assert_eq!(listing["entries"][0]["type"], "directory");
    assert_eq!(listing["entries"][1]["name"], "plain.txt");
    assert_eq!(listing["entries"][1]["size"], 5);
}

#[cfg(unix)]
#[tokio::test]
async fn every_listed_name_links_to_its_file_however_strange() {
    use std::os::unix::ffi::OsStrExt;
    let site = default_site().await;
    let names: Vec<&[u8]> = vec![
        b"100% sure.txt",
        b"#hash.txt",
        b"what?.txt",
        b"with space.txt",
        b"quote\"d'.txt",
        b"<tag>&amp.txt",
        b"caf\xc3\xa9.txt",
        b"bad\xff\xfebytes.txt",
        b"colon:name.txt",
    ];
    let dir = site.root.join("strange");
    std::fs::create_dir(&dir).unwrap();
    for (index, name) in names.iter().enumerate() {
        std::fs::write(
            dir.join(std::ffi::OsStr::from_bytes(name)),
            format!("content {index}"),
        )
        .unwrap();
    }
    let page = site.get("/strange/").await.text().await.unwrap();
    let hrefs: Vec<String> = page
        .split("class=\"file\" href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .collect();
    assert_eq!(hrefs.len(), names.len(), "{page}");
    let mut bodies: Vec<String> = Vec::new();
    for href in &hrefs {
        let response = site.get(&format!("/strange/{href}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{href}");
        bodies.push(response.text().await.unwrap());
    }
    bodies.sort();
    let mut expected: Vec<String> = (0..names.len()).map(|i| format!("content {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert!(
        page.contains("&lt;tag&gt;&amp;amp.txt"),
        "names are HTML-escaped"
    );
}

#[tokio::test]
async fn no_listing_answers_404_for_directories_without_index() {
    let site = start_site(StaticOptions {
        listing: false,
        ..StaticOptions::default()
    })
    .await;
    assert_eq!(site.get("/listing/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(site.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn traversal_never_reaches_outside_the_root() {
    let site = default_site().await;
    let attempts = [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/..%2fsecret.txt",
        "/..%2F..%2Fetc%2Fpasswd",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/listing/%2e%2e/%2e%2e/secret.txt",
        "/ten.txt%00.html",
        "/%00",
        "/escape.txt",
        "/escape-dir/secret.txt",
    ];
    for path in attempts {
        let (status, body) = site.raw_get(path).await;
        assert!(
            status.contains(" 403 ") || status.contains(" 404 ") || status.contains(" 400 "),
            "{path}: {status}"
        );
        assert!(!body.contains(SECRET), "{path} leaked the secret");
    }
}

#[tokio::test]
async fn hidden_files_are_neither_served_nor_listed_by_default() {
    let site = default_site().await;
    assert_eq!(site.get("/.env").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        site.get("/.git/config").await.status(),
        StatusCode::NOT_FOUND
    );
    write(&site.root, "plain-dir/.hidden", "h");
    write(&site.root, "plain-dir/shown.txt", "s");
    let page = site.get("/plain-dir/").await.text().await.unwrap();
    assert!(page.contains("shown.txt") && !page.contains(".hidden"));
}

#[tokio::test]
async fn hidden_flag_serves_and_lists_dot_files() {
    let site = start_site(StaticOptions {
        hidden: true,
        ..StaticOptions::default()
    })
    .await;
    assert_eq!(site.get("/.env").await.status(), StatusCode::OK);
    write(&site.root, "plain-dir/.hidden", "h");
    assert!(
        site.get("/plain-dir/")
            .await
            .text()
            .await
            .unwrap()
            .contains(".hidden")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_inside_the_root_are_served_and_outside_only_when_followed() {
    let site = default_site().await;
    assert_eq!(
        site.get("/inside-link.txt").await.text().await.unwrap(),
        "0123456789"
    );
    assert_eq!(
        site.get("/escape.txt").await.status(),
        StatusCode::FORBIDDEN
    );

    let following = start_site(StaticOptions {
        follow_symlinks: true,
        ..StaticOptions::default()
    })
    .await;
    assert_eq!(
        following.get("/escape.txt").await.text().await.unwrap(),
        SECRET
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let site = default_site().await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = site
            .client
            .request(method.clone(), site.url("/ten.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()["allow"], "GET, HEAD");
    }
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let site = default_site().await;
    for client in [
        reqwest::Client::new(),
        reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap(),
    ] {
        let response = client.head(site.url("/ten.txt")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-length"], "10");
        assert!(response.headers().contains_key("etag"));
        assert_eq!(response.bytes().await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn validators_and_conditional_requests() {
    let site = default_site().await;
    let first = site.get("/ten.txt").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert_eq!(first.headers()["cache-control"], "no-cache");

    let request = |name, value: &str| {
        site.client
            .get(site.url("/ten.txt"))
            .header(name, value.to_owned())
    };
    let not_modified = request(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());

    let by_date = request(IF_MODIFIED_SINCE, &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(by_date.status(), StatusCode::NOT_MODIFIED);

    let changed = request(IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);

    let failed = request(IF_MATCH, "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn cache_flag_sets_max_age() {
    let site = start_site(StaticOptions {
        cache: CachePolicy::MaxAge(Duration::from_secs(600)),
        ..StaticOptions::default()
    })
    .await;
    assert_eq!(
        site.get("/ten.txt").await.headers()["cache-control"],
        "max-age=600"
    );
}

#[tokio::test]
async fn single_ranges_answer_206() {
    let site = default_site().await;
    let cases = [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-2", "89", "bytes 8-9/10"),
        ("bytes=5-100", "56789", "bytes 5-9/10"),
    ];
    for (range, body, content_range) in cases {
        let response = site
            .client
            .get(site.url("/ten.txt"))
            .header(RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(response.headers()["content-range"], content_range);
        assert_eq!(response.headers()["accept-ranges"], "bytes");
        assert_eq!(response.text().await.unwrap(), body);
    }
}

#[tokio::test]
async fn range_past_the_end_answers_416_with_the_length() {
    let site = default_site().await;
    let response = site
        .client
        .get(site.url("/ten.txt"))
        .header(RANGE, "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(response.headers()["content-range"], "bytes */10");
}

#[tokio::test]
async fn if_range_with_a_stale_validator_gets_the_whole_file() {
    let site = default_site().await;
    let etag = site.get("/ten.txt").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let current = site
        .client
        .get(site.url("/ten.txt"))
        .header(RANGE, "bytes=0-1")
        .header(IF_RANGE, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::PARTIAL_CONTENT);
    let stale = site
        .client
        .get(site.url("/ten.txt"))
        .header(RANGE, "bytes=0-1")
        .header(IF_RANGE, "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.text().await.unwrap(), "0123456789");
}

#[tokio::test]
async fn spa_mode_serves_index_to_navigations_and_404_to_assets() {
    let site = start_site(StaticOptions {
        spa: true,
        ..StaticOptions::default()
    })
    .await;
    let navigation = site
        .client
        .get(site.url("/app/settings/profile"))
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(navigation.status(), StatusCode::OK);
    assert_eq!(navigation.text().await.unwrap(), "<h1>home</h1>");
    let asset = site
        .client
        .get(site.url("/assets/missing.js"))
        .header(ACCEPT, "*/*")
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn edited_files_are_never_served_stale() {
    let site = default_site().await;
    write(&site.root, "live.txt", "version one");
    assert_eq!(
        site.get("/live.txt").await.text().await.unwrap(),
        "version one"
    );
    // Same length, new content: the modification time (and so the version) changes.
    tokio::time::sleep(Duration::from_millis(20)).await;
    write(&site.root, "live.txt", "version two");
    assert_eq!(
        site.get("/live.txt").await.text().await.unwrap(),
        "version two"
    );
    std::fs::remove_file(site.root.join("live.txt")).unwrap();
    assert_eq!(site.get("/live.txt").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn large_files_stream_from_disk_with_ranges() {
    let site = start_site(StaticOptions {
        memory_cache: MemoryCacheLimits {
            max_file_bytes: 64 * 1024,
            total_bytes: 1024 * 1024,
        },
        ..StaticOptions::default()
    })
    .await;
    let content: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    write(&site.root, "big.bin", &content);
    let whole = site.get("/big.bin").await;
    assert_eq!(
        whole.headers()["content-length"],
        content.len().to_string().as_str()
    );
    assert_eq!(whole.bytes().await.unwrap(), content);

    let part = site
        .client
        .get(site.url("/big.bin"))
        .header(RANGE, "bytes=1000000-2500000")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap(), &content[1_000_000..=2_500_000]);
}

#[tokio::test]
async fn files_are_served_over_http2_too() {
    let site = default_site().await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(site.url("/app.wasm")).send().await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "application/wasm");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn trailing_slash_on_a_file_is_not_found() {
    let site = default_site().await;
    assert_eq!(site.get("/ten.txt/").await.status(), StatusCode::NOT_FOUND);
}

/// Splits a `multipart/byteranges` body into (Content-Range, content) parts.
fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let delimiter = format!("--{boundary}");
    let text = body.to_vec();
    let mut parts = Vec::new();
    let mut rest: &[u8] = &text;
    loop {
        let at = find(rest, delimiter.as_bytes()).expect("a delimiter");
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").expect("part headers end");
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content_range = head
            .lines()
            .find_map(|line| line.strip_prefix("Content-Range: "))
            .expect("a Content-Range")
            .to_owned();
        rest = &rest[head_end + 4..];
        let next = find(rest, format!("\r\n{delimiter}").as_bytes()).expect("next delimiter");
        parts.push((content_range, rest[..next].to_vec()));
        rest = &rest[next..];
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn thousand_bytes() -> Vec<u8> {
    (0..1000u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz"[(i % 26) as usize])
        .collect()
}

#[tokio::test]
async fn several_ranges_answer_multipart_byteranges() {
    let site = default_site().await;
    let content = thousand_bytes();
    write(&site.root, "letters.txt", &content);
    let response = site
        .client
        .get(site.url("/letters.txt"))
        .header(RANGE, "bytes=500-509, 0-9, -5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    let parts = parse_multipart(&content_type, &body);
    assert_eq!(
        parts,
        vec![
            ("bytes 0-9/1000".to_owned(), content[0..10].to_vec()),
            ("bytes 500-509/1000".to_owned(), content[500..510].to_vec()),
            ("bytes 995-999/1000".to_owned(), content[995..].to_vec()),
        ]
    );
}

#[tokio::test]
async fn close_or_overlapping_ranges_are_coalesced_into_one_part() {
    let site = default_site().await;
    write(&site.root, "letters.txt", thousand_bytes());
    let response = site
        .client
        .get(site.url("/letters.txt"))
        .header(RANGE, "bytes=0-9,5-20,30-39")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.headers()["content-range"], "bytes 0-39/1000");
}

#[tokio::test]
async fn amplifying_range_requests_get_the_whole_file_once() {
    let site = default_site().await;
    let content = thousand_bytes();
    write(&site.root, "letters.txt", &content);
    let many = vec!["0-999"; 20].join(",");
    let response = site
        .client
        .get(site.url("/letters.txt"))
        .header(RANGE, format!("bytes={many}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), content);
}

#[tokio::test]
async fn multipart_ranges_stream_from_large_files() {
    let site = start_site(StaticOptions {
        memory_cache: MemoryCacheLimits {
            max_file_bytes: 1024,
            total_bytes: 64 * 1024,
        },
        ..StaticOptions::default()
    })
    .await;
    let content: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    write(&site.root, "big.bin", &content);
    let ranges = "bytes=10-20,400000-699999,999990-";
    let response = site
        .client
        .get(site.url("/big.bin"))
        .header(RANGE, ranges)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    let parts = parse_multipart(&content_type, &body);
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1].0, "bytes 400000-699999/1000000");
    assert_eq!(parts[1].1, &content[400_000..700_000]);
    assert_eq!(parts[2].1, &content[999_990..]);
}

#[tokio::test]
async fn head_ignores_range_as_rfc_9110_requires() {
    let site = default_site().await;
    let head = site
        .client
        .head(site.url("/ten.txt"))
        .header(RANGE, "bytes=0-1,5-6")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "10");
}

#[tokio::test]
async fn custom_not_found_page_answers_every_404() {
    let pages = tempfile::tempdir().unwrap();
    let page = pages.path().join("404.html");
    std::fs::write(&page, "<h1>Nothing here</h1>").unwrap();
    let site = start_site(StaticOptions {
        not_found_page: Some(page.clone()),
        listing: false,
        ..StaticOptions::default()
    })
    .await;
    for path in ["/missing.html", "/.env", "/listing/", "/ten.txt/"] {
        let response = site.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        assert_eq!(
            response.text().await.unwrap(),
            "<h1>Nothing here</h1>",
            "{path}"
        );
    }
    let head = site.client.head(site.url("/missing")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(head.headers()["content-length"], "21");
    // Edits show at once.
    std::fs::write(&page, "<h1>Still nothing</h1>").unwrap();
    assert_eq!(
        site.get("/x").await.text().await.unwrap(),
        "<h1>Still nothing</h1>"
    );
}

#[test]
fn a_missing_not_found_page_is_a_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let options = StaticOptions {
        not_found_page: Some(dir.path().join("nope.html")),
        ..StaticOptions::default()
    };
    let error = ferry_static::StaticFiles::new(dir.path(), options).unwrap_err();
    assert!(error.to_string().contains("nope.html"), "{error}");
}

#[tokio::test]
async fn header_rules_set_headers_on_matching_paths() {
    use ferry_static::rules::{Glob, HeaderRule};
    use http::{HeaderName, HeaderValue};
    let rule = |glob: &str, name: &'static str, value: &'static str| HeaderRule {
        glob: Glob::new(glob).unwrap(),
        headers: vec![(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )],
    };
    let site = start_site(StaticOptions {
        header_rules: vec![
            rule("*.wasm", "cache-control", "max-age=31536000, immutable"),
            rule("/listing/**", "x-robots-tag", "noindex"),
        ],
        ..StaticOptions::default()
    })
    .await;
    let wasm = site.get("/app.wasm").await;
    assert_eq!(
        wasm.headers()["cache-control"],
        "max-age=31536000, immutable"
    );
    let other = site.get("/ten.txt").await;
    assert_eq!(other.headers()["cache-control"], "no-cache");
    assert!(!other.headers().contains_key("x-robots-tag"));
    let nested = site.get("/listing/sub/inner.txt").await;
    assert_eq!(nested.headers()["x-robots-tag"], "noindex");
}

#[tokio::test]
async fn header_rules_match_the_index_file_served_for_a_directory() {
    use ferry_static::rules::{Glob, HeaderRule};
    use http::{HeaderName, HeaderValue};
    let site = start_site(StaticOptions {
        header_rules: vec![HeaderRule {
            glob: Glob::new("*.html").unwrap(),
            headers: vec![(
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            )],
        }],
        ..StaticOptions::default()
    })
    .await;
    assert_eq!(site.get("/").await.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn private_files_are_neither_served_nor_listed() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(root.join("ferry.toml"), "auth = \"admin:secret\"").unwrap();
    std::fs::write(root.join("page.html"), "page").unwrap();
    let files = ferry_static::StaticFiles::new(
        &root,
        StaticOptions {
            private_files: vec![root.join("ferry.toml")],
            ..StaticOptions::default()
        },
    )
    .unwrap();
    let server = ferry_core::App::new()
        .fallback(files)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    let secret = reqwest::get(format!("{base}/ferry.toml")).await.unwrap();
    assert_eq!(secret.status(), StatusCode::NOT_FOUND);
    let listing = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("page.html") && !listing.contains("ferry.toml"),
        "{listing}"
    );
}

#[tokio::test]
async fn config_files_are_never_served_whatever_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir(root.join("app")).unwrap();
    std::fs::write(root.join("app/ferry.json"), r#"{"admin-token": "secret"}"#).unwrap();
    std::fs::write(root.join("Ferry.YAML"), "auth: admin:secret").unwrap();
    std::fs::write(root.join("page.html"), "page").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("app/ferry.json"), root.join("settings.txt")).unwrap();
    // No private files named, hidden files and symlinks allowed: still never served.
    let files = ferry_static::StaticFiles::new(
        &root,
        StaticOptions {
            hidden: true,
            follow_symlinks: true,
            ..StaticOptions::default()
        },
    )
    .unwrap();
    let server = ferry_core::App::new()
        .fallback(files)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    for path in ["/app/ferry.json", "/Ferry.YAML", "/settings.txt"] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let listing = reqwest::get(format!("{base}/app/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listing.contains("ferry.json"), "{listing}");
    let page = reqwest::get(format!("{base}/page.html")).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}
