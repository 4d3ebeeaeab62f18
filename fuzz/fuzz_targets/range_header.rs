//! The Range parser: never panics, and satisfiable ranges lie within the representation.
#![no_main]

use ferry_static::range::{RangeRequest, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u32, &str)| {
    let (len, header) = input;
    let len = u64::from(len);
    if let RangeRequest::Satisfiable(ranges) = parse(header, len) {
        assert!(!ranges.is_empty());
        for range in ranges {
            assert!(range.start <= range.end && range.end < len, "{header:?} {len} {range:?}");
        }
    }
});
