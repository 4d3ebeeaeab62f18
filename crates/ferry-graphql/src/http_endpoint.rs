//! GraphQL over HTTP (the GraphQL over HTTP specification): GET for queries, POST with
//! `application/json` for anything, `application/graphql-response+json` (or the legacy
//! `application/json`) in return, with the status codes the specification asks for.

use async_graphql::Variables;
use bytes::Bytes;
use ferry_core::{Body, BoxFuture, Handler, IntoResponse, Request, Response};
use http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{Map, Value};

use crate::GraphQl;
use crate::{graphiql, transport_sse, transport_ws};
use ferry_core::ws;

/// Largest request body read (queries are small; this only bounds abuse).
const BODY_LIMIT: usize = 1 << 20;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// Serves one [`GraphQl`] endpoint; route GET and POST to it.
#[derive(Clone, Debug)]
pub struct GraphQlHandler {
    pub(crate) graphql: GraphQl,
}

impl Handler for GraphQlHandler {
    fn call(&self, request: Request) -> BoxFuture<Response> {
        let graphql = self.graphql.clone();
        Box::pin(async move { serve(&graphql, request).await })
    }
}

/// The media type the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    /// `application/graphql-response+json`: request errors get 4xx.
    GraphQlResponse,
    /// `application/json`: well-formed requests get 200 whatever happened.
    Json,
}

impl Flavour {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Flavour::GraphQlResponse => GRAPHQL_RESPONSE_JSON,
            Flavour::Json => JSON,
        })
    }
}

/// A well-formed GraphQL-over-HTTP request's parameters.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parameters {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
}

impl Parameters {
    /// The request to execute.
    pub fn request(&self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        if let Some(variables) = &self.variables {
            request = request.variables(Variables::from_json(Value::Object(variables.clone())));
        }
        request
    }
}

async fn serve(graphql: &GraphQl, mut request: Request) -> Response {
    let Some(schema) = graphql.current() else {
        return (
            StatusCode::NOT_FOUND,
            "404 Not Found\n\nno GraphQL schema: nothing is registered\n",
        )
            .into_response();
    };
    if ws::is_upgrade(&request) {
        return transport_ws::accept(&schema, &mut request);
    }
    // What an event stream needs of the request (the server's shutdown signal) outlives it.
    let mut probe = Request::new(Body::empty());
    *probe.extensions_mut() = request.extensions().clone();
    let accept = request
        .headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let is_get = request.method() == Method::GET || request.method() == Method::HEAD;
    if is_get
        && graphql.inner.graphiql
        && request
            .uri()
            .query()
            .is_none_or(|query| !query.contains("query="))
        && accept.contains("text/html")
    {
        return graphiql::page(request.uri().path());
    }
    let event_stream = wants_event_stream(&accept);
    let Some(flavour) = negotiate(&accept).or(event_stream.then_some(Flavour::Json)) else {
        return problem(
            StatusCode::NOT_ACCEPTABLE,
            Flavour::Json,
            "accept application/graphql-response+json or application/json",
        );
    };
    let parameters = if is_get {
        from_query(request.uri().query().unwrap_or(""))
    } else if request.method() == Method::POST {
        match from_body(request).await {
            Ok(parameters) => parameters,
            Err((status, message)) => return problem(status, flavour, &message),
        }
    } else {
        let mut response = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            flavour,
            "use GET (queries) or POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        return response;
    };
    let parameters = match parameters {
        Ok(parameters) => parameters,
        Err(message) => return problem(StatusCode::BAD_REQUEST, flavour, &message),
    };
    if is_get && is_mutation(&parameters) {
        let mut response = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            flavour,
            "mutations are not allowed over GET; use POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if event_stream {
        if let Err(error) = async_graphql::parser::parse_query(&parameters.query) {
            return problem(StatusCode::BAD_REQUEST, flavour, &error.to_string());
        }
        return transport_sse::respond(&schema, &parameters, &probe);
    }
    let response = execute(&schema, &parameters).await;
    let request_error = is_request_error(&response);
    let status = if request_error && flavour == Flavour::GraphQlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, flavour, &response_json(&response))
}

/// Runs one operation. Errors of root fields (whose resolvers are ours) get their path,
/// which async-graphql leaves out for dynamic schemas.
pub(crate) async fn execute(
    schema: &async_graphql::dynamic::Schema,
    parameters: &Parameters,
) -> async_graphql::Response {
    let mut response = schema.execute(parameters.request()).await;
    if response.errors.iter().any(is_resolver_error) {
        add_root_paths(
            &parameters.query,
            parameters.operation_name.as_deref(),
            &mut response,
        );
        // Marked errors come from non-null root fields (nullable ones become null on the
        // spot): their null propagates to the parent, which for a root field is `data`.
        // async-graphql's dynamic schema leaves the other fields instead.
        response.data = async_graphql::Value::Null;
    }
    response
}

fn is_resolver_error(error: &async_graphql::ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get(crate::schema::RESOLVER_MARK).is_some())
}

/// Gives the errors our resolvers raised (at root fields) the field's path.
fn add_root_paths(
    query: &str,
    operation_name: Option<&str>,
    response: &mut async_graphql::Response,
) {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return;
    };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => operation,
            None => return,
        },
        (DocumentOperations::Multiple(_), None) => return,
    };
    for error in response
        .errors
        .iter_mut()
        .filter(|error| is_resolver_error(error))
    {
        if let Some(extensions) = error.extensions.as_mut() {
            extensions.unset(crate::schema::RESOLVER_MARK);
        }
        let Some(location) = error.locations.first() else {
            continue;
        };
        let field = operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .find_map(|selection| match &selection.node {
                Selection::Field(field) if field.pos == *location => {
                    Some(field.node.response_key().node.to_string())
                }
                _ => None,
            });
        if let Some(key) = field {
            error.path = vec![async_graphql::PathSegment::Field(key)];
        }
    }
}

/// Whether `query` holds valid GET parameters (for the fuzz targets).
pub(crate) fn parse_get(query: &str) -> bool {
    from_query(query).is_ok_and(|parameters| {
        let _ = is_mutation(&parameters);
        true
    })
}

/// Whether `Accept` leads to a response (for the fuzz targets).
pub(crate) fn accepts(header: &str) -> bool {
    negotiate(header).is_some() || wants_event_stream(header)
}

/// Whether the client asks for an event stream (the graphql-sse protocol).
fn wants_event_stream(accept: &str) -> bool {
    accept.split(',').any(|item| {
        item.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("text/event-stream")
    })
}

/// Picks the response media type from `Accept` (none given: JSON).
fn negotiate(accept: &str) -> Option<Flavour> {
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

fn from_query(query: &str) -> Result<Parameters, String> {
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

fn parse_map(text: &str, what: &str) -> Result<Option<Map<String, Value>>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(Value::Null) => Ok(None),
        _ => Err(format!("{what} must be a JSON object")),
    }
}

async fn from_body(request: Request) -> Result<Result<Parameters, String>, (StatusCode, String)> {
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
fn is_mutation(parameters: &Parameters) -> bool {
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

/// Errors raised before execution (parse, validation, variables) carry no path and leave
/// no data.
fn is_request_error(response: &async_graphql::Response) -> bool {
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

fn json_response(status: StatusCode, flavour: Flavour, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, flavour.content_type());
    response
}

/// A request the endpoint cannot run: `status`, and the reason in `errors`.
fn problem(status: StatusCode, flavour: Flavour, message: &str) -> Response {
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
