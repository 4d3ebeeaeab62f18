//! Compression against a real server: negotiation, precompressed copies, streaming of large
//! files, and the cases that must stay uncompressed.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Read;
use std::time::Duration;

use ferry_static::{MemoryCacheLimits, StaticOptions};
use http::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, IF_NONE_MATCH, RANGE};
use support::{Site, default_site, start_site, write};

fn javascript(len: usize) -> Vec<u8> {
    const LINE: &[u8] = b"export function ferry(x) { return x * 42; }\n";
    (0..len).map(|i| LINE[i % LINE.len()]).collect()
}

fn decode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::stream::decode_all(data).unwrap(),
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        other => panic!("unexpected coding {other}"),
    }
    out
}

async fn fetch(site: &Site, path: &str, accept: &str) -> reqwest::Response {
    site.client
        .get(site.url(path))
        .header(ACCEPT_ENCODING, accept)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_coding_is_served_to_clients_that_accept_it() {
    let site = default_site().await;
    let content = javascript(20_000);
    write(&site.root, "app.js", &content);
    for coding in ["br", "zstd", "gzip"] {
        let response = fetch(&site, "/app.js", coding).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], coding);
        assert_eq!(response.headers()["vary"], "Accept-Encoding");
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let length: usize = response.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len(), length);
        assert!(
            body.len() < content.len() / 10,
            "{coding}: {} bytes",
            body.len()
        );
        assert_eq!(decode(coding, &body), content, "{coding}");
    }
}

#[tokio::test]
async fn preference_follows_q_values_then_brotli_zstd_gzip() {
    let site = default_site().await;
    write(&site.root, "app.js", javascript(5_000));
    let cases = [
        ("gzip, deflate, br, zstd", Some("br")),
        ("gzip, deflate", Some("gzip")),
        ("br;q=0.1, gzip;q=0.9", Some("gzip")),
        ("br;q=0, zstd", Some("zstd")),
        ("identity", None),
        ("*;q=0", None),
    ];
    for (accept, expected) in cases {
        let response = fetch(&site, "/app.js", accept).await;
        let coding = response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(coding.as_deref(), expected, "{accept}");
    }
}

#[tokio::test]
async fn each_encoding_has_its_own_etag_and_revalidates() {
    let site = default_site().await;
    write(&site.root, "app.js", javascript(5_000));
    let plain = site.get("/app.js").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let brotli = fetch(&site, "/app.js", "br").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let gzip = fetch(&site, "/app.js", "gzip").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(plain != brotli && brotli != gzip && plain != gzip);
    let revalidated = site
        .client
        .get(site.url("/app.js"))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, &brotli)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.headers()["vary"], "Accept-Encoding");
}

#[tokio::test]
async fn small_and_already_compressed_files_are_sent_as_they_are() {
    let site = default_site().await;
    write(&site.root, "tiny.js", "export {}");
    write(&site.root, "photo.png", vec![7u8; 10_000]);
    for path in ["/tiny.js", "/photo.png"] {
        let response = fetch(&site, path, "br, gzip").await;
        assert!(
            !response.headers().contains_key("content-encoding"),
            "{path}"
        );
        assert_eq!(response.headers()["vary"], "Accept-Encoding", "{path}");
    }
}

#[tokio::test]
async fn incompressible_content_is_sent_as_it_is() {
    let site = default_site().await;
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&site.root, "noise.txt", &noise);
    for _ in 0..2 {
        let response = fetch(&site, "/noise.txt", "gzip").await;
        if response.headers().contains_key("content-encoding") {
            // Compression may still help a little; then it must decode to the file.
            let body = response.bytes().await.unwrap();
            assert_eq!(decode("gzip", &body), noise);
        } else {
            assert_eq!(response.bytes().await.unwrap(), noise);
        }
    }
}

#[tokio::test]
async fn range_responses_are_never_compressed() {
    let site = default_site().await;
    let content = javascript(5_000);
    write(&site.root, "app.js", &content);
    let response = site
        .client
        .get(site.url("/app.js"))
        .header(ACCEPT_ENCODING, "br, gzip")
        .header(RANGE, "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert!(!response.headers().contains_key("content-encoding"));
    assert_eq!(response.bytes().await.unwrap(), &content[100..200]);
}

#[tokio::test]
async fn precompressed_copies_are_served_with_the_original_type() {
    let site = default_site().await;
    let content = javascript(5_000);
    write(&site.root, "app.js", &content);
    let mut precompressed = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut precompressed, 4096, 11, 22);
        std::io::Write::write_all(&mut encoder, &content).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    write(&site.root, "app.js.br", &precompressed);

    let response = fetch(&site, "/app.js", "gzip, br").await;
    assert_eq!(response.headers()["content-encoding"], "br");
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        response.bytes().await.unwrap(),
        precompressed,
        "the copy, byte for byte"
    );

    // A copy older than the original is ignored (compressed on the fly instead).
    std::thread::sleep(Duration::from_millis(20));
    write(&site.root, "app.js", &content);
    let response = fetch(&site, "/app.js", "br").await;
    assert_eq!(response.headers()["content-encoding"], "br");
    let body = response.bytes().await.unwrap();
    assert_ne!(body, precompressed);
    assert_eq!(decode("br", &body), content);
}

#[tokio::test]
async fn a_precompressed_copy_is_used_for_a_coding_ferry_would_not_pick_first() {
    let site = default_site().await;
    let content = javascript(5_000);
    write(&site.root, "lib.js", &content);
    let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gzipped, &content).unwrap();
    let gzipped = gzipped.finish().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    write(&site.root, "lib.js.gz", &gzipped);
    // The client prefers br, but only a gzip copy exists: sending it costs nothing.
    let response = fetch(&site, "/lib.js", "br, gzip").await;
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.bytes().await.unwrap(), gzipped);
}

#[tokio::test]
async fn large_files_are_compressed_as_a_stream() {
    let site = start_site(StaticOptions {
        memory_cache: MemoryCacheLimits {
            max_file_bytes: 64 * 1024,
            total_bytes: 1024 * 1024,
        },
        ..StaticOptions::default()
    })
    .await;
    let content = javascript(2_000_000);
    write(&site.root, "bundle.js", &content);
    for coding in ["br", "zstd", "gzip"] {
        let response = fetch(&site, "/bundle.js", coding).await;
        assert_eq!(response.headers()["content-encoding"], coding);
        assert!(
            !response.headers().contains_key("content-length"),
            "streamed: length unknown"
        );
        let body = response.bytes().await.unwrap();
        assert_eq!(decode(coding, &body), content, "{coding}");
    }
}

#[tokio::test]
async fn head_of_a_compressed_file_has_its_compressed_length() {
    let site = default_site().await;
    write(&site.root, "app.js", javascript(20_000));
    let get = fetch(&site, "/app.js", "br").await;
    let length = get.headers()["content-length"].to_str().unwrap().to_owned();
    let head = site
        .client
        .head(site.url("/app.js"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-encoding"], "br");
    assert_eq!(head.headers()["content-length"], length.as_str());
}

#[tokio::test]
async fn compression_can_be_turned_off() {
    let site = start_site(StaticOptions {
        compress: false,
        ..StaticOptions::default()
    })
    .await;
    write(&site.root, "app.js", javascript(20_000));
    let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gzipped, &javascript(20_000)).unwrap();
    write(&site.root, "app.js.gz", gzipped.finish().unwrap());
    let response = fetch(&site, "/app.js", "gzip, br").await;
    assert!(!response.headers().contains_key("content-encoding"));
    assert!(!response.headers().contains_key("vary"));
    assert_eq!(response.bytes().await.unwrap().len(), 20_000);
}
