//! Property tests (10,000 cases each): request paths, however encoded, never resolve outside
//! the root, and the parsers of Range, conditional and Accept headers never panic and stay
//! within bounds.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::path::{Component, Path};

use ferry_core::{Body, Request};
use ferry_static::conditional::{self, Validators};
use ferry_static::path::RequestPath;
use ferry_static::range::{self, ByteRange, COALESCE_GAP, RangePlan, RangeRequest};
use ferry_static::{StaticFiles, StaticOptions, encoding, negotiate};
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use tower::ServiceExt;

const SECRET: &str = "PROPTEST-SECRET-OUTSIDE";

/// Path pieces chosen to combine into traversal attempts: dots and slashes, encoded and
/// not, NUL, backslashes, names of real entries inside and outside the root.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/",
        "//",
        ".",
        "..",
        "%2e",
        "%2E",
        "%2e%2e",
        "%2f",
        "%2F",
        "%5c",
        "%5C",
        "%00",
        "%25",
        "%c0%ae",
        "%ef%bc%8f",
        "a",
        "sub",
        "secret.txt",
        "escape",
        "escape-dir",
        "inside.txt",
        ".env",
        "..%2f",
        "%2e.",
        "~",
        ":",
        "%3a",
        "%20",
        "%",
        "index.html",
    ])
}

fn request_path() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..12).prop_map(|pieces| format!("/{}", pieces.concat()))
}

struct Fixture {
    _root: tempfile::TempDir,
    _outside: tempfile::TempDir,
    files: StaticFiles,
}

fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), SECRET).unwrap();
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/inside.txt"), "inside").unwrap();
    std::fs::write(root.path().join("a"), "a").unwrap();
    std::fs::write(root.path().join(".env"), SECRET).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            root.path().join("escape"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("escape-dir")).unwrap();
    }
    let files = StaticFiles::new(root.path(), StaticOptions::default()).unwrap();
    Fixture {
        _root: root,
        _outside: outside,
        files,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn normalised_paths_only_ever_descend(raw in request_path(), hidden in any::<bool>()) {
        if let Ok(path) = RequestPath::parse(&raw, hidden) {
            for component in path.to_path().components() {
                prop_assert!(matches!(component, Component::Normal(_)), "{raw} -> {:?}", path.to_path());
            }
            let joined = Path::new("/srv/root").join(path.to_path());
            prop_assert!(joined.starts_with("/srv/root"));
        }
    }

    #[test]
    fn arbitrary_text_paths_only_ever_descend(raw in "/[ -~]{0,40}") {
        if let Ok(path) = RequestPath::parse(&raw, true) {
            prop_assert!(path.to_path().components().all(|c| matches!(c, Component::Normal(_))));
        }
    }

    #[test]
    fn range_parsing_never_panics_and_stays_in_bounds(header in "[ -~]{0,60}", len in 0u64..10_000) {
        if let RangeRequest::Satisfiable(ranges) = range::parse(&header, len) {
            prop_assert!(!ranges.is_empty());
            for r in ranges {
                prop_assert!(r.start <= r.end && r.end < len, "{header} {len} {r:?}");
            }
        }
    }

    #[test]
    fn range_syntax_variants_stay_in_bounds(
        first in proptest::option::of(0u64..20_000),
        last in proptest::option::of(0u64..20_000),
        len in 1u64..10_000,
    ) {
        let spec = format!(
            "bytes={}-{}",
            first.map(|f| f.to_string()).unwrap_or_default(),
            last.map(|l| l.to_string()).unwrap_or_default()
        );
        if let RangeRequest::Satisfiable(ranges) = range::parse(&spec, len) {
            prop_assert_eq!(ranges.len(), 1);
            prop_assert!(ranges[0].end < len && ranges[0].start <= ranges[0].end);
        }
    }

    /// However ranges overlap or repeat, the answer never holds more than one copy of the
    /// file, and multipart parts are ascending, disjoint and apart.
    #[test]
    fn range_plans_never_amplify(
        len in 1u64..5_000,
        specs in prop::collection::vec((0u64..5_000, 0u64..5_000), 1..80),
    ) {
        let ranges: Vec<ByteRange> = specs
            .into_iter()
            .filter(|&(a, _)| a < len)
            .map(|(a, b)| ByteRange { start: a, end: (a + b).min(len - 1) })
            .collect();
        prop_assume!(!ranges.is_empty());
        match range::plan(&ranges, len) {
            RangePlan::Whole => {}
            RangePlan::Single(r) => prop_assert!(r.start <= r.end && r.end < len),
            RangePlan::Multiple(parts) => {
                prop_assert!(parts.len() >= 2);
                prop_assert!(parts.iter().map(ByteRange::len).sum::<u64>() <= len);
                for pair in parts.windows(2) {
                    prop_assert!(pair[0].end + COALESCE_GAP + 1 < pair[1].start, "{pair:?}");
                }
                prop_assert!(parts.last().is_some_and(|r| r.end < len));
            }
        }
    }

    #[test]
    fn conditional_headers_never_panic(
        if_match in "[ -~]{0,40}",
        if_none_match in "[ -~]{0,40}",
        date in "[ -~]{0,40}",
        if_range in "[ -~]{0,40}",
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("if-match", &if_match),
            ("if-none-match", &if_none_match),
            ("if-modified-since", &date),
            ("if-unmodified-since", &date),
            ("if-range", &if_range),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        let etag = HeaderValue::from_static("\"abc\"");
        let validators = Validators { etag: &etag, last_modified: Some(std::time::SystemTime::UNIX_EPOCH) };
        let _ = conditional::evaluate(&Method::GET, &headers, validators);
        let _ = conditional::if_range_allows(&headers, validators);
    }

    #[test]
    fn accept_encoding_parsing_never_panics_or_repeats(accept in "[ -~]{0,80}") {
        if let Ok(value) = HeaderValue::from_str(&accept) {
            let accepted: Vec<_> = encoding::acceptable(Some(&value)).iter().collect();
            let mut unique = accepted.clone();
            unique.dedup();
            prop_assert_eq!(accepted.len(), unique.len());
        }
    }

    #[test]
    fn accept_parsing_never_panics(accept in "[ -~]{0,80}") {
        if let Ok(value) = HeaderValue::from_str(&accept) {
            let _ = negotiate::prefers_json(Some(&value));
            let _ = negotiate::accepts_html_explicitly(Some(&value));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// The whole service, not just the parser: no generated request gets the secret.
    #[test]
    fn no_request_reaches_a_file_outside_the_root(raw in request_path()) {
        let fixture = fixture_once();
        let Ok(request) = http::Request::get(raw.as_str()).body(Body::empty()) else {
            return Ok(());
        };
        let request: Request = request;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, body) = runtime.block_on(async {
            let response = fixture.files.clone().oneshot(request).await.unwrap();
            let status = response.status();
            (status, response.into_body().to_bytes(1 << 20).await.unwrap())
        });
        prop_assert!(!String::from_utf8_lossy(&body).contains(SECRET), "{raw} -> {status}");
    }
}

/// One fixture for all cases of the service property (building 10,000 trees is slow).
fn fixture_once() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}

/// Guards the service property against passing vacuously: the fixture does serve files
/// inside the root, and does refuse the way out.
#[test]
fn fixture_serves_inside_files_and_refuses_outside_ones() {
    let fixture = fixture_once();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status_of = |path: &str| {
        let request = http::Request::get(path).body(Body::empty()).unwrap();
        runtime
            .block_on(fixture.files.clone().oneshot(request))
            .unwrap()
            .status()
    };
    assert_eq!(status_of("/a"), http::StatusCode::OK);
    assert_eq!(status_of("/sub/inside.txt"), http::StatusCode::OK);
    assert_eq!(status_of("/.env"), http::StatusCode::NOT_FOUND);
    assert_eq!(status_of("/%2e%2e/secret.txt"), http::StatusCode::FORBIDDEN);
    #[cfg(unix)]
    assert_eq!(status_of("/escape"), http::StatusCode::FORBIDDEN);
}
