//! What a request selects of one representation: whether its preconditions let it through
//! (RFC 9110 §13.2.2) and which of its bytes it asks for (§14.2, with `If-Range`). Shared by
//! files on disk and content held in memory, so both answer alike.

use ferry_core::{Response, status_response};
use http::header::RANGE;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};

use crate::conditional::{self, Precondition, Validators};
use crate::entity::Entity;
use crate::range::{self, RangePlan, RangeRequest};
use crate::responses;

/// The validators of `entity`, as the conditional checks read them.
fn validators(entity: &Entity) -> Validators<'_> {
    Validators {
        etag: &entity.etag,
        last_modified: entity.modified_secs,
    }
}

/// 304 or 412 when the request's preconditions say so; `None` to answer normally.
pub(crate) fn preconditions(
    request: &Parts,
    entity: &Entity,
    cache_control: &HeaderValue,
) -> Option<Response> {
    match conditional::evaluate(&request.method, &request.headers, validators(entity)) {
        Precondition::Proceed => None,
        Precondition::NotModified => Some(responses::not_modified(entity, cache_control)),
        Precondition::Failed => Some(status_response(StatusCode::PRECONDITION_FAILED)),
    }
}

/// No range asked for lies within a representation of `len` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unsatisfiable {
    len: u64,
}

impl Unsatisfiable {
    /// 416 with `Content-Range: bytes */LEN`.
    pub(crate) fn response(self) -> Response {
        responses::range_not_satisfiable(self.len)
    }
}

/// How to answer the request's `Range` (a GET's, when `If-Range` allows) for `entity`.
pub(crate) fn range_plan(request: &Parts, entity: &Entity) -> Result<RangePlan, Unsatisfiable> {
    let len = entity.version.len;
    let headers = &request.headers;
    let requested = match headers.get(RANGE) {
        Some(value)
            if request.method == Method::GET
                && conditional::if_range_allows(headers, validators(entity)) =>
        {
            value
                .to_str()
                .map_or(RangeRequest::Ignore, |text| range::parse(text, len))
        }
        _ => RangeRequest::Ignore,
    };
    match requested {
        RangeRequest::Unsatisfiable => Err(Unsatisfiable { len }),
        RangeRequest::Satisfiable(ranges) => Ok(range::plan(&ranges, len)),
        RangeRequest::Ignore => Ok(RangePlan::Whole),
    }
}
