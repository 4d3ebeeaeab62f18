//! Conditional requests (RFC 9110 §13): `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
//! `If-Modified-Since`, evaluated in the order §13.2.2 prescribes, and `If-Range`.

use std::time::SystemTime;

use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderValue, Method};

/// The outcome of evaluating a request's preconditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the request normally.
    Proceed,
    /// The client's copy is current: answer 304 Not Modified.
    NotModified,
    /// A precondition failed: answer 412 Precondition Failed.
    Failed,
}

/// The validators of the selected representation.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// The strong entity tag, quoted (`"abc"`).
    pub etag: &'a HeaderValue,
    /// The modification time, truncated to whole seconds.
    pub last_modified: Option<SystemTime>,
}

/// Evaluates the preconditions of a request for a representation with `validators`.
///
/// ```
/// use ferry_static::conditional::{evaluate, Precondition, Validators};
/// use http::{HeaderMap, HeaderValue, Method};
///
/// let etag = HeaderValue::from_static("\"v1\"");
/// let validators = Validators { etag: &etag, last_modified: None };
/// let mut headers = HeaderMap::new();
/// headers.insert("if-none-match", HeaderValue::from_static("W/\"v1\""));
/// assert_eq!(evaluate(&Method::GET, &headers, validators), Precondition::NotModified);
/// ```
pub fn evaluate(method: &Method, headers: &HeaderMap, validators: Validators<'_>) -> Precondition {
    let etag = validators.etag.as_bytes();
    let is_get_or_head = method == Method::GET || method == Method::HEAD;

    // 1. If-Match (strong comparison), else 2. If-Unmodified-Since.
    if headers.contains_key(IF_MATCH) {
        if !any_tag_matches(headers, IF_MATCH, etag, Comparison::Strong) {
            return Precondition::Failed;
        }
    } else if let (Some(since), Some(modified)) = (
        header_date(headers.get(IF_UNMODIFIED_SINCE)),
        validators.last_modified,
    ) && modified > since
    {
        return Precondition::Failed;
    }

    // 3. If-None-Match (weak comparison), else 4. If-Modified-Since (GET and HEAD only).
    if headers.contains_key(IF_NONE_MATCH) {
        if any_tag_matches(headers, IF_NONE_MATCH, etag, Comparison::Weak) {
            return if is_get_or_head {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
    } else if is_get_or_head
        && let (Some(since), Some(modified)) = (
            header_date(headers.get(IF_MODIFIED_SINCE)),
            validators.last_modified,
        )
        && modified <= since
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether a `Range` header may be honoured given `If-Range` (RFC 9110 §13.1.5): yes when
/// there is no `If-Range`, or when it carries our strong entity tag or exactly our
/// modification date.
pub fn if_range_allows(headers: &HeaderMap, validators: Validators<'_>) -> bool {
    let Some(value) = headers.get(IF_RANGE) else {
        return true;
    };
    let bytes = value.as_bytes();
    if bytes.starts_with(b"\"") || bytes.starts_with(b"W/") {
        // A weak tag never matches: If-Range requires strong comparison.
        return bytes == validators.etag.as_bytes();
    }
    match (header_date(Some(value)), validators.last_modified) {
        (Some(date), Some(modified)) => date == modified,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// Whether any entity tag in every `name` header line matches `ours` (a strong tag).
fn any_tag_matches(
    headers: &HeaderMap,
    name: http::HeaderName,
    ours: &[u8],
    comparison: Comparison,
) -> bool {
    headers.get_all(name).iter().any(|value| {
        EntityTags::new(value.as_bytes()).any(|tag| match tag {
            Tag::Any => true,
            Tag::Strong(opaque) => opaque == ours,
            Tag::Weak(opaque) => comparison == Comparison::Weak && opaque == ours,
        })
    })
}

/// One element of an entity-tag list; `opaque` includes its quotes.
#[derive(Debug, PartialEq, Eq)]
enum Tag<'a> {
    Any,
    Strong(&'a [u8]),
    Weak(&'a [u8]),
}

/// Iterates the tags of an `If-Match`/`If-None-Match` value; stops at the first malformed
/// element (what came before still counts).
struct EntityTags<'a> {
    rest: &'a [u8],
}

impl<'a> EntityTags<'a> {
    fn new(value: &'a [u8]) -> Self {
        EntityTags { rest: value }
    }
}

impl<'a> Iterator for EntityTags<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        let start = self
            .rest
            .iter()
            .position(|&b| !matches!(b, b' ' | b'\t' | b','))?;
        let rest = &self.rest[start..];
        if rest[0] == b'*' {
            self.rest = &rest[1..];
            return Some(Tag::Any);
        }
        let (weak, quoted) = match rest.strip_prefix(b"W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        if quoted.first() != Some(&b'"') {
            self.rest = &[];
            return None;
        }
        let Some(close) = quoted[1..].iter().position(|&b| b == b'"') else {
            self.rest = &[];
            return None;
        };
        let opaque = &quoted[..close + 2];
        self.rest = &quoted[close + 2..];
        Some(if weak {
            Tag::Weak(opaque)
        } else {
            Tag::Strong(opaque)
        })
    }
}

fn header_date(value: Option<&HeaderValue>) -> Option<SystemTime> {
    httpdate::parse_http_date(value?.to_str().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ETAG: HeaderValue = HeaderValue::from_static("\"abc\"");

    fn modified() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn validators() -> Validators<'static> {
        static TAG: HeaderValue = ETAG;
        Validators {
            etag: &TAG,
            last_modified: Some(modified()),
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn date(offset: i64) -> String {
        let time = if offset >= 0 {
            modified() + Duration::from_secs(offset as u64)
        } else {
            modified() - Duration::from_secs((-offset) as u64)
        };
        httpdate::fmt_http_date(time)
    }

    fn eval(pairs: &[(&'static str, &str)]) -> Precondition {
        evaluate(&Method::GET, &headers(pairs), validators())
    }

    #[test]
    fn no_preconditions_proceed() {
        assert_eq!(eval(&[]), Precondition::Proceed);
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert_eq!(
            eval(&[("if-none-match", "\"abc\"")]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-none-match", "W/\"abc\"")]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-none-match", "\"x\", \"abc\"")]),
            Precondition::NotModified
        );
        assert_eq!(eval(&[("if-none-match", "*")]), Precondition::NotModified);
        assert_eq!(
            eval(&[("if-none-match", "\"other\"")]),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_none_match_fails_for_unsafe_methods() {
        let result = evaluate(
            &Method::PUT,
            &headers(&[("if-none-match", "*")]),
            validators(),
        );
        assert_eq!(result, Precondition::Failed);
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        assert_eq!(eval(&[("if-match", "\"abc\"")]), Precondition::Proceed);
        assert_eq!(eval(&[("if-match", "*")]), Precondition::Proceed);
        assert_eq!(eval(&[("if-match", "W/\"abc\"")]), Precondition::Failed);
        assert_eq!(eval(&[("if-match", "\"nope\"")]), Precondition::Failed);
    }

    #[test]
    fn if_modified_since_answers_304_when_not_newer() {
        assert_eq!(
            eval(&[("if-modified-since", &date(0))]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", &date(60))]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", &date(-60))]),
            Precondition::Proceed
        );
        assert_eq!(
            eval(&[("if-modified-since", "not a date")]),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_none_match_takes_precedence_over_if_modified_since() {
        let result = eval(&[
            ("if-none-match", "\"other\""),
            ("if-modified-since", &date(60)),
        ]);
        assert_eq!(result, Precondition::Proceed);
    }

    #[test]
    fn if_unmodified_since_fails_when_newer() {
        assert_eq!(
            eval(&[("if-unmodified-since", &date(-60))]),
            Precondition::Failed
        );
        assert_eq!(
            eval(&[("if-unmodified-since", &date(0))]),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_match_is_evaluated_before_if_none_match() {
        let result = eval(&[("if-match", "\"nope\""), ("if-none-match", "\"abc\"")]);
        assert_eq!(result, Precondition::Failed);
    }

    #[test]
    fn if_range_needs_a_strong_tag_or_the_exact_date() {
        assert!(if_range_allows(&headers(&[]), validators()));
        assert!(if_range_allows(
            &headers(&[("if-range", "\"abc\"")]),
            validators()
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", "W/\"abc\"")]),
            validators()
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", "\"old\"")]),
            validators()
        ));
        assert!(if_range_allows(
            &headers(&[("if-range", &date(0))]),
            validators()
        ));
        assert!(!if_range_allows(
            &headers(&[("if-range", &date(-1))]),
            validators()
        ));
    }

    #[test]
    fn tag_lists_parse_including_commas_inside_quotes() {
        let tags: Vec<Tag<'_>> = EntityTags::new(b" \"a,b\" , W/\"c\",*").collect();
        assert_eq!(
            tags,
            vec![Tag::Strong(b"\"a,b\""), Tag::Weak(b"\"c\""), Tag::Any]
        );
        let truncated: Vec<Tag<'_>> = EntityTags::new(b"\"ok\", garbage").collect();
        assert_eq!(truncated, vec![Tag::Strong(b"\"ok\"")]);
    }
}
