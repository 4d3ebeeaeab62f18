//! Accept negotiation (listing as JSON or HTML, SPA navigations): never panics.
#![no_main]

use ferry_static::negotiate::{accepts_html_explicitly, prefers_json};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let _ = prefers_json(Some(&value));
        let _ = accepts_html_explicitly(Some(&value));
    }
});
