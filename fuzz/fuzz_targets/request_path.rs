//! Request path resolution: any path either is refused or normalises to segments that only
//! descend from the root.
#![no_main]

use std::path::Component;

use ferry_static::path::RequestPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for allow_hidden in [false, true] {
        if let Ok(path) = RequestPath::parse(raw, allow_hidden) {
            let relative = path.to_path();
            assert!(
                relative.components().all(|c| matches!(c, Component::Normal(_))),
                "{raw:?} normalised to {relative:?}"
            );
            if !allow_hidden {
                assert!(!path.as_bytes().split(|&b| b == b'/').any(|s| s.first() == Some(&b'.')));
            }
            let url = path.url_path(path.has_trailing_slash());
            assert!(url.starts_with('/') && !url.starts_with("//"), "{url}");
        }
    }
});
