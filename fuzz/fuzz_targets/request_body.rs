//! Request bodies as scripts see them: url-encoded and multipart forms (with any boundary,
//! parts and file names), read or refused without a panic. The first line is the
//! Content-Type, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|byte| *byte == b'\n').unwrap_or(data.len());
    let (content_type, body) = data.split_at(split);
    let body = body.get(1..).unwrap_or_default();
    let _ = ferry_js::fuzzing::request_body(content_type, body);
});
