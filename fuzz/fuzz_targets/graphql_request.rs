//! GraphQL over HTTP input: GET parameters (query string, variables JSON, the operation's
//! kind), `Accept` negotiation and field SDL fragments never panic.
#![no_main]

use ferry_graphql::fuzzing::{accept, get_parameters, sdl_fragment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = get_parameters(&text);
    let _ = accept(&text);
    // The first line names the field; the rest is its SDL.
    let (name, sdl) = text.split_once('\n').unwrap_or(("field", &text));
    let _ = sdl_fragment(name, sdl);
});
