//! The validator of what script handlers return (status, body or bodyBase64, contentType,
//! headers): any value is accepted or refused with a message, never a panic. Input that is
//! JSON is used as the value; other input is read as lines — status, body, content type,
//! then `Name: value` headers — so that every run reaches the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if serde_json::from_str::<Value>(&text).is_ok() {
        let _ = ferry_js::fuzzing::response_from_json(&text);
        return;
    }
    let mut lines = text.split('\n');
    let status = lines.next().unwrap_or_default();
    let status = status
        .parse::<f64>()
        .ok()
        .and_then(|number| serde_json::Number::from_f64(number).map(Value::Number))
        .unwrap_or_else(|| Value::String(status.to_owned()));
    let body = lines.next().unwrap_or_default();
    let content_type = lines.next().unwrap_or_default();
    let mut headers = Map::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.insert(name.to_owned(), Value::String(value.trim().to_owned()));
    }
    let value = json!({ "status": status, "body": body, "contentType": content_type, "headers": headers });
    let _ = ferry_js::fuzzing::response_from_json(&value.to_string());
});
