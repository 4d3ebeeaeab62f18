//! WebSocket handshakes: any method, Connection, Upgrade, version, key and subprotocol
//! headers are answered (accepted or refused) without a panic.
#![no_main]

use ferry_core::ws::{self, WebSocketConfig};
use ferry_core::{Body, IntoResponse, Request};
use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|byte| *byte == b'\n');
    let mut request = Request::new(Body::empty());
    if let Some(method) = parts
        .next()
        .and_then(|bytes| Method::from_bytes(bytes).ok())
    {
        *request.method_mut() = method;
    }
    for name in [
        "connection",
        "upgrade",
        "sec-websocket-version",
        "sec-websocket-key",
        "sec-websocket-protocol",
    ] {
        if let Some(value) = parts
            .next()
            .and_then(|bytes| HeaderValue::from_bytes(bytes).ok())
        {
            request.headers_mut().insert(name, value);
        }
    }
    let _ = ws::is_upgrade(&request);
    match ws::upgrade(
        &mut request,
        WebSocketConfig::default(),
        &["graphql-transport-ws", "chat"],
    ) {
        Ok((response, _upgrade)) => drop(response),
        Err(error) => drop(error.into_response()),
    }
});
