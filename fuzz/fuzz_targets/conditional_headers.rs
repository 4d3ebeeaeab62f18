//! Conditional request headers (If-Match, If-None-Match, dates, If-Range): never panic.
#![no_main]

use ferry_static::conditional::{Validators, evaluate, if_range_allows};
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &[u8], &[u8], &[u8])| {
    let (if_match, if_none_match, date, if_range) = input;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("if-match", if_match),
        ("if-none-match", if_none_match),
        ("if-modified-since", date),
        ("if-unmodified-since", date),
        ("if-range", if_range),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name, value);
        }
    }
    let etag = HeaderValue::from_static("\"5f3a.1-2a\"");
    let validators = Validators {
        etag: &etag,
        last_modified: Some(std::time::SystemTime::UNIX_EPOCH),
    };
    for method in [Method::GET, Method::HEAD, Method::PUT] {
        let _ = evaluate(&method, &headers, validators);
    }
    let _ = if_range_allows(&headers, validators);
});
