//! GraphQL over HTTP (the GraphQL over HTTP specification): GET for queries, POST with
//! `application/json` for anything, `application/graphql-response+json` (or the legacy
//! `application/json`) in return, with the status codes the specification asks for.

use std::sync::Arc;

use ferry_core::{Body, BoxFuture, Handler, IntoResponse, Request, Response};
use http::header::{ACCEPT, ALLOW};
use http::{HeaderValue, Method, StatusCode};

use crate::GraphQl;
use crate::request::{Parameters, from_body, from_query, is_mutation};
use crate::response::{
    Flavour, is_request_error, json_response, negotiate, problem, response_json, wants_event_stream,
};
use crate::{graphiql, transport_sse, transport_ws};
use ferry_core::ws;

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
    let response = execute(&schema, &parameters, Arc::new(probe.extensions().clone())).await;
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
    extensions: Arc<http::Extensions>,
) -> async_graphql::Response {
    let mut response = schema.execute(parameters.request(extensions)).await;
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
