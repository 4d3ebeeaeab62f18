//! Config files (TOML, YAML, JSON) with their header rules: never panics, and every error
//! names the file. The first byte picks the format.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

// The parser lives in the binary crate (its only user); it is compiled in here as is.
#[allow(dead_code)]
#[path = "../../crates/ferry/src/config/file.rs"]
mod file;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = match selector % 3 {
        0 => "ferry.toml",
        1 => "ferry.yaml",
        _ => "ferry.json",
    };
    if let Err(error) = file::ConfigFile::from_text(Path::new(name), text) {
        assert!(error.to_string().contains(name), "{error}");
    }
});
