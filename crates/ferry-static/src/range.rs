//! The `Range` request header (RFC 9110 §14.2), for byte ranges.

/// Most range specs parsed from one header; a longer list is ignored (the whole
/// representation is served) rather than letting a client make the server do busywork.
pub const MAX_RANGE_SPECS: usize = 64;

/// An inclusive byte range within a representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte offset.
    pub start: u64,
    /// Last byte offset, inclusive.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a satisfiable range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What a `Range` header asks for, given the representation's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// Not a byte-range request we honour (wrong unit, bad syntax, too many specs, an empty
    /// representation): serve the whole representation with 200.
    Ignore,
    /// Every range lies past the end: answer 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
    /// The satisfiable ranges, in the order requested (never empty).
    Satisfiable(Vec<ByteRange>),
}

/// How a request for satisfiable ranges is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// The whole representation, with 200: the ranges would cost more than they save.
    Whole,
    /// One part, with 206 and `Content-Range`.
    Single(ByteRange),
    /// Several parts, in ascending order and disjoint, as `multipart/byteranges`.
    Multiple(Vec<ByteRange>),
}

/// Ranges closer than this are sent as one part: a part's own headers cost about as much.
pub const COALESCE_GAP: u64 = 80;

/// Decides how to answer satisfiable `ranges` of a `len`-byte representation.
///
/// Ranges that overlap, touch or lie within [`COALESCE_GAP`] bytes of each other are merged,
/// and parts go out in ascending order (RFC 9110 §14.2 allows both). A request whose ranges
/// add up to more than the representation — overlapping or repeated ranges, which could make
/// the server send a file many times over — gets the whole representation once instead, as
/// nginx does. So a range request never costs more than one copy of the file plus part
/// headers.
///
/// ```
/// use ferry_static::range::{plan, ByteRange, RangePlan};
///
/// let r = |start, end| ByteRange { start, end };
/// assert_eq!(plan(&[r(0, 9), r(5, 20)], 1000), RangePlan::Single(r(0, 20)));
/// assert_eq!(plan(&[r(500, 599), r(0, 99)], 1000), RangePlan::Multiple(vec![r(0, 99), r(500, 599)]));
/// assert_eq!(plan(&[r(0, 999), r(0, 999)], 1000), RangePlan::Whole);
/// ```
pub fn plan(ranges: &[ByteRange], len: u64) -> RangePlan {
    let requested = ranges
        .iter()
        .fold(0u64, |sum, range| sum.saturating_add(range.len()));
    if ranges.is_empty() || requested > len {
        return RangePlan::Whole;
    }
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|range| range.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(1 + COALESCE_GAP) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    if merged.len() == 1 {
        RangePlan::Single(merged[0])
    } else {
        RangePlan::Multiple(merged)
    }
}

/// Parses a `Range` header value for a representation of `len` bytes.
///
/// ```
/// use ferry_static::range::{parse, ByteRange, RangeRequest};
///
/// assert_eq!(parse("bytes=0-99", 1000), RangeRequest::Satisfiable(vec![ByteRange { start: 0, end: 99 }]));
/// assert_eq!(parse("bytes=-100", 1000), RangeRequest::Satisfiable(vec![ByteRange { start: 900, end: 999 }]));
/// assert_eq!(parse("bytes=500-", 1000), RangeRequest::Satisfiable(vec![ByteRange { start: 500, end: 999 }]));
/// assert_eq!(parse("bytes=1000-", 1000), RangeRequest::Unsatisfiable);
/// assert_eq!(parse("pages=1-2", 1000), RangeRequest::Ignore);
/// ```
pub fn parse(header: &str, len: u64) -> RangeRequest {
    let Some((unit, set)) = header.split_once('=') else {
        return RangeRequest::Ignore;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || len == 0 {
        return RangeRequest::Ignore;
    }
    let mut ranges = Vec::new();
    let mut specs = 0;
    for spec in set.split(',') {
        let spec = spec.trim_matches(|c| c == ' ' || c == '\t');
        if spec.is_empty() {
            // `1#range-spec` allows empty list elements.
            continue;
        }
        specs += 1;
        if specs > MAX_RANGE_SPECS {
            return RangeRequest::Ignore;
        }
        match parse_spec(spec, len) {
            Spec::Invalid => return RangeRequest::Ignore,
            Spec::Unsatisfiable => {}
            Spec::Range(range) => ranges.push(range),
        }
    }
    if specs == 0 {
        RangeRequest::Ignore
    } else if ranges.is_empty() {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Satisfiable(ranges)
    }
}

enum Spec {
    Invalid,
    Unsatisfiable,
    Range(ByteRange),
}

fn parse_spec(spec: &str, len: u64) -> Spec {
    let Some((first, last)) = spec.split_once('-') else {
        return Spec::Invalid;
    };
    if first.is_empty() {
        // Suffix range: the last N bytes.
        return match digits(last) {
            None => Spec::Invalid,
            Some(0) => Spec::Unsatisfiable,
            Some(suffix) => Spec::Range(ByteRange {
                start: len.saturating_sub(suffix),
                end: len - 1,
            }),
        };
    }
    let Some(start) = digits(first) else {
        return Spec::Invalid;
    };
    let end = if last.is_empty() {
        len - 1
    } else {
        match digits(last) {
            None => return Spec::Invalid,
            Some(end) if end < start => return Spec::Invalid,
            Some(end) => end.min(len - 1),
        }
    };
    if start >= len {
        Spec::Unsatisfiable
    } else {
        Spec::Range(ByteRange { start, end })
    }
}

/// Parses ASCII digits; a number too large for u64 saturates (it is past any end anyway).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(start: u64, end: u64) -> RangeRequest {
        RangeRequest::Satisfiable(vec![ByteRange { start, end }])
    }

    #[test]
    fn single_ranges_of_every_form() {
        assert_eq!(parse("bytes=0-0", 10), one(0, 0));
        assert_eq!(parse("bytes=2-5", 10), one(2, 5));
        assert_eq!(parse("bytes=2-", 10), one(2, 9));
        assert_eq!(parse("bytes=-3", 10), one(7, 9));
        assert_eq!(parse("bytes=-30", 10), one(0, 9));
        assert_eq!(parse("bytes=5-100", 10), one(5, 9));
        assert_eq!(parse("BYTES = 1-2", 10), one(1, 2));
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(parse("bytes=10-", 10), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=10-20", 10), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 10), RangeRequest::Unsatisfiable);
        assert_eq!(
            parse("bytes=99999999999999999999999-", 10),
            RangeRequest::Unsatisfiable
        );
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for header in [
            "bytes",
            "bytes=",
            "bytes=a-b",
            "bytes=5-2",
            "bytes=--1",
            "bytes=1",
            "items=0-1",
            "bytes=0x1-2",
            "bytes=+1-2",
        ] {
            assert_eq!(parse(header, 10), RangeRequest::Ignore, "{header}");
        }
    }

    #[test]
    fn empty_representations_ignore_ranges() {
        assert_eq!(parse("bytes=0-", 0), RangeRequest::Ignore);
    }

    #[test]
    fn several_ranges_keep_only_the_satisfiable_ones() {
        assert_eq!(
            parse("bytes=0-1, 50-60, 8-", 10),
            RangeRequest::Satisfiable(vec![
                ByteRange { start: 0, end: 1 },
                ByteRange { start: 8, end: 9 }
            ])
        );
    }

    #[test]
    fn plan_coalesces_overlapping_touching_and_near_ranges() {
        let r = |start, end| ByteRange { start, end };
        assert_eq!(plan(&[r(0, 9)], 100), RangePlan::Single(r(0, 9)));
        assert_eq!(
            plan(&[r(0, 9), r(10, 19)], 1000),
            RangePlan::Single(r(0, 19))
        );
        assert_eq!(
            plan(&[r(0, 9), r(50, 59)], 1000),
            RangePlan::Single(r(0, 59))
        );
        assert_eq!(
            plan(&[r(300, 309), r(0, 9), r(100, 109)], 1000),
            RangePlan::Multiple(vec![r(0, 9), r(100, 109), r(300, 309)])
        );
    }

    #[test]
    fn plan_never_amplifies() {
        let r = |start, end| ByteRange { start, end };
        // The same large range many times: the whole file once instead.
        assert_eq!(plan(&[r(0, 599), r(0, 599)], 1000), RangePlan::Whole);
        assert_eq!(plan(&[r(0, 99); 11], 1000), RangePlan::Whole);
        // Many small overlapping ranges that stay under the length are merged.
        assert_eq!(plan(&[r(0, 9); 10], 1000), RangePlan::Single(r(0, 9)));
    }

    #[test]
    fn too_many_specs_are_ignored() {
        let header = format!("bytes={}", vec!["0-0"; MAX_RANGE_SPECS + 1].join(","));
        assert_eq!(parse(&header, 10), RangeRequest::Ignore);
    }
}
