//! The live-reload script in HTML responses, against a real server.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

mod support;

use ferry_static::StaticOptions;
use ferry_static::live_reload::SCRIPT_TAG;
use http::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, IF_NONE_MATCH, RANGE};
use support::{start_site, write};

async fn site() -> support::Site {
    start_site(StaticOptions {
        live_reload: true,
        ..StaticOptions::default()
    })
    .await
}

#[tokio::test]
async fn html_gets_the_script_with_a_matching_length_and_its_own_etag() {
    let site = site().await;
    write(
        &site.root,
        "page.html",
        "<html><body><p>hi</p></body></html>",
    );
    let response = site.get("/page.html").await;
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(
        body,
        format!("<html><body><p>hi</p>{SCRIPT_TAG}</body></html>")
    );
    assert_eq!(body.len(), length);
    assert!(etag.ends_with("-reload\""), "{etag}");

    let head = site
        .client
        .head(site.url("/page.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.headers()["content-length"],
        length.to_string().as_str()
    );
    let revalidated = site
        .client
        .get(site.url("/page.html"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn pages_without_closing_tags_get_the_script_at_the_end() {
    let site = site().await;
    write(&site.root, "bare.html", "<p>no closing tags");
    let body = site.get("/bare.html").await.text().await.unwrap();
    assert_eq!(body, format!("<p>no closing tags{SCRIPT_TAG}"));
}

#[tokio::test]
async fn html_with_the_script_is_neither_compressed_nor_ranged() {
    let site = site().await;
    write(
        &site.root,
        "big.html",
        format!("<body>{}</body>", "x".repeat(5_000)),
    );
    let compressed = site
        .client
        .get(site.url("/big.html"))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert!(!compressed.headers().contains_key("content-encoding"));
    assert!(compressed.text().await.unwrap().contains(SCRIPT_TAG));
    let ranged = site
        .client
        .get(site.url("/big.html"))
        .header(RANGE, "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_types_are_untouched_and_listings_get_the_script() {
    let site = site().await;
    assert_eq!(
        site.get("/ten.txt").await.text().await.unwrap(),
        "0123456789"
    );
    let listing = site.get("/listing/").await.text().await.unwrap();
    assert!(listing.contains(SCRIPT_TAG));
}
