//! What sign-in reads from strangers: the session cookie and bearer token of every request,
//! the ID token a provider's answer carries, the callback's query or form, the redirect
//! target and the path the access rules judge; and what MCP clients send the authorization
//! server: a client registration, an authorization request, client credentials. Any input
//! is accepted or refused, never a panic; a kept redirect target never leaves the site.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (first, second) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = ferry_auth::fuzzing::session_from_headers(first.as_bytes(), second.as_bytes());
    let _ = ferry_auth::fuzzing::id_token(&text);
    let _ = ferry_auth::fuzzing::callback_and_paths(data, &text);
    let _ = ferry_auth::fuzzing::oauth_requests(data, &text);
});
