//! GraphQL over HTTP, the response side: the media type the client asked for, and the
//! JSON body (with `data` only when execution began).

use ferry_core::{Body, Response};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The media type the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// `application/graphql-response+json`: request errors get 4xx.
    GraphQlResponse,
    /// `application/json`: well-formed requests get 200 whatever happened.
    Json,
}

impl Flavour {
    pub(crate) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Flavour::GraphQlResponse => GRAPHQL_RESPONSE_JSON,
            Flavour::Json => JSON,
        })
    }
}

/// Whether `Accept` leads to a response (for the fuzz targets).
pub(crate) fn accepts(header: &str) -> bool {
    negotiate(header).is_some() || wants_event_stream(header)
}

/// Whether the client asks for an event stream (the graphql-sse protocol).
pub(crate) fn wants_event_stream(accept: &str) -> bool {
    accept.split(',').any(|item| {
        item.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("text/event-stream")
    })
}

/// Picks the response media type from `Accept` (none given: JSON).
pub(crate) fn negotiate(accept: &str) -> Option<Flavour> {
    if accept.trim().is_empty() {
        return Some(Flavour::Json);
    }
    let mut best: Option<(f32, Flavour)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|part| part.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let flavour = match media.as_str() {
            "application/graphql-response+json" => Flavour::GraphQlResponse,
            "application/json" | "application/*" | "*/*" => Flavour::Json,
            _ => continue,
        };
        if quality <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((q, current)) => {
                quality > q
                    || (quality == q && flavour == Flavour::GraphQlResponse && current != flavour)
            }
        };
        if better {
            best = Some((quality, flavour));
        }
    }
    best.map(|(_, flavour)| flavour)
}

/// Errors raised before execution (parse, validation, variables) carry no path and leave
/// no data.
pub(crate) fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// The response body: `data` only when execution began.
pub(crate) fn response_json(response: &async_graphql::Response) -> Value {
    let mut body = Map::new();
    if !is_request_error(response) {
        body.insert(
            "data".into(),
            response.data.clone().into_json().unwrap_or(Value::Null),
        );
    }
    if !response.errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(&response.errors).unwrap_or(Value::Null),
        );
    }
    if !response.extensions.is_empty() {
        body.insert(
            "extensions".into(),
            serde_json::to_value(&response.extensions).unwrap_or(Value::Null),
        );
    }
    Value::Object(body)
}

pub(crate) fn json_response(status: StatusCode, flavour: Flavour, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, flavour.content_type());
    response
}

/// A request the endpoint cannot run: `status`, and the reason in `errors`.
pub(crate) fn problem(status: StatusCode, flavour: Flavour, message: &str) -> Response {
    json_response(
        status,
        flavour,
        &serde_json::json!({ "errors": [{ "message": message }] }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_graphql_media_type_when_it_is_as_welcome() {
        assert_eq!(negotiate(""), Some(Flavour::Json));
        assert_eq!(negotiate("*/*"), Some(Flavour::Json));
        assert_eq!(negotiate("application/json"), Some(Flavour::Json));
        assert_eq!(
            negotiate("application/graphql-response+json, application/json;q=0.9"),
            Some(Flavour::GraphQlResponse)
        );
        assert_eq!(
            negotiate("application/json, application/graphql-response+json"),
            Some(Flavour::GraphQlResponse)
        );
        assert_eq!(negotiate("text/html"), None);
        assert_eq!(negotiate("application/graphql-response+json;q=0"), None);
    }
}
