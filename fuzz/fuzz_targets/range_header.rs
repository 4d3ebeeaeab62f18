//! The Range parser and planner: never panic, satisfiable ranges lie within the
//! representation, and a plan never sends more than one copy of it.
#![no_main]

use ferry_static::range::{RangePlan, RangeRequest, parse, plan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u32, &str)| {
    let (len, header) = input;
    let len = u64::from(len);
    if let RangeRequest::Satisfiable(ranges) = parse(header, len) {
        assert!(!ranges.is_empty());
        for range in &ranges {
            assert!(range.start <= range.end && range.end < len, "{header:?} {len} {range:?}");
        }
        if let RangePlan::Multiple(parts) = plan(&ranges, len) {
            assert!(parts.iter().map(|r| r.len()).sum::<u64>() <= len, "{header:?}");
            assert!(parts.windows(2).all(|w| w[0].end < w[1].start), "{header:?}");
        }
    }
});
