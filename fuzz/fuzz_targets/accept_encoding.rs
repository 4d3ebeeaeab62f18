//! Accept-Encoding negotiation: never panics, and never offers a coding twice.
#![no_main]

use ferry_static::encoding::acceptable;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let accepted: Vec<_> = acceptable(Some(&value)).iter().collect();
        for (index, coding) in accepted.iter().enumerate() {
            assert!(!accepted[index + 1..].contains(coding), "{value:?}");
        }
    }
});
