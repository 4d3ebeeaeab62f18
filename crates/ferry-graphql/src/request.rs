//! GraphQL over HTTP, the request side: the parameters of a GET query string or a JSON
//! POST body, checked as the specification asks, and whether the operation changes data.

use std::sync::Arc;

use async_graphql::Variables;
use bytes::Bytes;
use ferry_core::Request;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

/// The extensions of the HTTP request an operation came in, as async-graphql data.
pub(crate) struct RequestExtensions(pub Arc<http::Extensions>);

/// Largest request body read (queries are small; this only bounds abuse).
const BODY_LIMIT: usize = 1 << 20;

/// A well-formed GraphQL-over-HTTP request's parameters.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parameters {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
}

impl Parameters {
    /// The request to execute, for resolvers to see the HTTP request's `extensions`.
    pub(crate) fn request(&self, extensions: Arc<http::Extensions>) -> async_graphql::Request {
        let mut request =
            async_graphql::Request::new(self.query.clone()).data(RequestExtensions(extensions));
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        if let Some(variables) = &self.variables {
            request = request.variables(Variables::from_json(Value::Object(variables.clone())));
        }
        request
    }
}

/// Whether `query` holds valid GET parameters (for the fuzz targets).
pub(crate) fn parse_get(query: &str) -> bool {
    from_query(query).is_ok_and(|parameters| {
        let _ = is_mutation(&parameters);
        true
    })
}

/// The parameters of a GET request's query string.
pub(crate) fn from_query(query: &str) -> Result<Parameters, String> {
    let mut parameters = Parameters::default();
    let mut found_query = false;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "query" => {
                parameters.query = value.into_owned();
                found_query = true;
            }
            "operationName" => parameters.operation_name = Some(value.into_owned()),
            "variables" => parameters.variables = parse_map(&value, "variables")?,
            "extensions" => {
                parse_map(&value, "extensions")?;
            }
            _ => {}
        }
    }
    if !found_query {
        return Err("the query parameter is missing (GET /graphql?query={...})".into());
    }
    Ok(parameters)
}

/// A JSON object given as text in a query string (`variables`, `extensions`).
fn parse_map(text: &str, what: &str) -> Result<Option<Map<String, Value>>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(Value::Null) => Ok(None),
        _ => Err(format!("{what} must be a JSON object")),
    }
}

/// The parameters of a POST request's JSON body (or the status that refuses it).
pub(crate) async fn from_body(
    request: Request,
) -> Result<Result<Parameters, String>, (StatusCode, String)> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim().to_owned();
    if media != "application/json" {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json".into(),
        ));
    }
    let charset = parts
        .filter_map(|part| part.trim().strip_prefix("charset="))
        .map(|value| value.trim_matches('"').to_owned())
        .next();
    if charset.is_some_and(|charset| charset != "utf-8") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "only UTF-8 request bodies are accepted".into(),
        ));
    }
    let body: Bytes = request
        .into_body()
        .to_bytes(BODY_LIMIT)
        .await
        // 413 over the limit, 408 for a body that arrived too slowly.
        .map_err(|error| (error.status(), error.to_string()))?;
    let json: Value = serde_json::from_slice(&body).map_err(|error| {
        (
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {error}"),
        )
    })?;
    let Value::Object(mut fields) = json else {
        return Ok(Err("the body must be a JSON object with a query".into()));
    };
    let query = match fields.remove("query") {
        Some(Value::String(query)) => query,
        Some(_) => return Ok(Err("query must be a string".into())),
        None => return Ok(Err("the query is missing".into())),
    };
    let operation_name = match fields.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Ok(Err("operationName must be a string".into())),
    };
    let variables = match fields.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Ok(Err("variables must be an object".into())),
    };
    match fields.remove("extensions") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => return Ok(Err("extensions must be an object".into())),
    }
    Ok(Ok(Parameters {
        query,
        operation_name,
        variables,
    }))
}

/// Whether the operation to run is a mutation (or a subscription), which GET may not run.
pub(crate) fn is_mutation(parameters: &Parameters) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&parameters.query) else {
        // A parse error is reported by the execution, with the usual status.
        return false;
    };
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let kind = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation.node.ty),
        DocumentOperations::Multiple(operations) => match &parameters.operation_name {
            Some(name) => operations
                .get(name.as_str())
                .map(|operation| operation.node.ty),
            None => None,
        },
    };
    matches!(
        kind,
        Some(OperationType::Mutation | OperationType::Subscription)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_parameters_are_read_and_checked() {
        let parameters =
            from_query("query=%7Bhello%7D&operationName=A&variables=%7B%22x%22%3A1%7D").unwrap();
        assert_eq!(parameters.query, "{hello}");
        assert_eq!(parameters.operation_name.as_deref(), Some("A"));
        assert_eq!(parameters.variables.unwrap()["x"], 1);
        assert!(from_query("variables=%5B%5D&query=x").is_err());
        assert!(from_query("operationName=A").is_err());
    }

    #[test]
    fn mutations_are_recognised_for_the_get_rule() {
        let mutation = Parameters {
            query: "mutation { send }".into(),
            ..Parameters::default()
        };
        assert!(is_mutation(&mutation));
        let named = Parameters {
            query: "query A { a } mutation B { b }".into(),
            operation_name: Some("A".into()),
            ..Parameters::default()
        };
        assert!(!is_mutation(&named));
    }
}
