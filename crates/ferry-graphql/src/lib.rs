//! Ferry's GraphQL endpoint: a schema assembled at run time from registered fields, each
//! answered by a [`Resolver`] (a JavaScript function for `ferry run`, or Rust code), and
//! served over HTTP at `/graphql` following the GraphQL over HTTP specification.
//!
//! Each registered field brings its SDL: a field definition and the types it uses, e.g.
//! `"user(id: ID!): User type User { id: ID! name: String }"`. The fields of the object
//! types a resolver returns are read from its JSON. When registrations change, a new
//! schema is built and swapped in ([`GraphQl::replace`]); requests in flight finish on the
//! old one.
//!
//! ```no_run
//! use ferry_graphql::{GraphQl, Registration, Resolver, ResolverCall, RootKind, SchemaOptions};
//! use futures_util::future::BoxFuture;
//! use std::sync::Arc;
//!
//! struct Hello;
//! impl Resolver for Hello {
//!     fn resolve(&self, call: ResolverCall) -> BoxFuture<'static, Result<serde_json::Value, String>> {
//!         let name = call.arguments.get("name").cloned().unwrap_or_default();
//!         Box::pin(async move { Ok(serde_json::json!(format!("Hello, {}!", name.as_str().unwrap_or("world")))) })
//!     }
//! }
//!
//! let graphql = GraphQl::new(SchemaOptions::default());
//! graphql.replace(&[Registration {
//!     kind: RootKind::Query,
//!     name: "hello".into(),
//!     sdl: "hello(name: String): String!".into(),
//!     resolver: Arc::new(Hello),
//! }]).unwrap();
//! let app = ferry_core::App::new().route("/graphql", http::Method::GET, graphql.handler())
//!     .route("/graphql", http::Method::POST, graphql.handler());
//! ```

mod coerce;
mod graphiql;
mod http_endpoint;
mod request;
mod response;
mod schema;
mod sdl;
mod subscriptions;
mod transport_sse;
mod transport_ws;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use futures_util::future::BoxFuture;

pub use http_endpoint::GraphQlHandler;

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input this crate
/// owns. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses the parameters of a `GET /graphql?…` query string.
    pub fn get_parameters(query: &str) -> bool {
        crate::request::parse_get(query)
    }

    /// Picks the response media type from an `Accept` header value.
    pub fn accept(header: &str) -> bool {
        crate::response::accepts(header)
    }

    /// Parses a field's SDL registered for the query root.
    pub fn sdl_fragment(name: &str, sdl: &str) -> bool {
        crate::sdl::parse_fragment(crate::RootKind::Query, name, sdl).is_ok()
    }
}
pub use schema::{EMPTY_QUERY_FIELD, SchemaError, SchemaOptions};
pub use sdl::SdlError;

/// The root type a field is registered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RootKind {
    /// A field of `Query`.
    Query,
    /// A field of `Mutation`.
    Mutation,
    /// A field of `Subscription`.
    Subscription,
}

impl RootKind {
    /// The root type's name.
    pub fn type_name(self) -> &'static str {
        match self {
            RootKind::Query => "Query",
            RootKind::Mutation => "Mutation",
            RootKind::Subscription => "Subscription",
        }
    }
}

impl std::fmt::Display for RootKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RootKind::Query => "query",
            RootKind::Mutation => "mutation",
            RootKind::Subscription => "subscription",
        })
    }
}

/// One call of a root field's resolver.
#[derive(Debug, Clone)]
pub struct ResolverCall {
    /// The root the field belongs to.
    pub kind: RootKind,
    /// The field's name.
    pub field: String,
    /// The field's arguments, as JSON (defaults applied, variables substituted).
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// The extensions of the HTTP request that carried the operation (for a WebSocket, the
    /// upgrade request): what the server's pipeline attached, such as who is signed in.
    /// Empty for operations run from code ([`GraphQl::execute`]).
    pub extensions: Arc<http::Extensions>,
}

/// Answers the calls of one root field.
pub trait Resolver: Send + Sync + 'static {
    /// The field's value as JSON, or an error message for the client's `errors`.
    fn resolve(&self, call: ResolverCall) -> BoxFuture<'static, Result<serde_json::Value, String>>;
}

/// A field to put in the schema.
#[derive(Clone)]
pub struct Registration {
    /// Its root type.
    pub kind: RootKind,
    /// Its name (the SDL must define a field of this name).
    pub name: String,
    /// The field definition and the types it uses.
    pub sdl: String,
    /// Who answers it.
    pub resolver: Arc<dyn Resolver>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("sdl", &self.sdl)
            .finish_non_exhaustive()
    }
}

/// The GraphQL endpoint: the current schema (swapped whole when registrations change) and
/// how to serve it. Cloning gives another handle to the same endpoint.
#[derive(Clone)]
pub struct GraphQl {
    inner: Arc<Inner>,
}

struct Inner {
    schema: ArcSwapOption<async_graphql::dynamic::Schema>,
    subscriptions: Arc<subscriptions::SubscriptionHub>,
    options: SchemaOptions,
    graphiql: bool,
}

impl std::fmt::Debug for GraphQl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphQl")
            .field("options", &self.inner.options)
            .field("has_schema", &self.inner.schema.load().is_some())
            .finish()
    }
}

impl GraphQl {
    /// An endpoint with no schema yet (it answers 404 until fields are registered).
    pub fn new(options: SchemaOptions) -> Self {
        GraphQl::with_graphiql(options, false)
    }

    /// The same, also serving the GraphiQL IDE to browsers when `graphiql` is set (for
    /// development: the page loads GraphiQL from a CDN).
    pub fn with_graphiql(options: SchemaOptions, graphiql: bool) -> Self {
        GraphQl {
            inner: Arc::new(Inner {
                schema: ArcSwapOption::empty(),
                subscriptions: Arc::default(),
                options,
                graphiql,
            }),
        }
    }

    /// Checks that `registrations` make a valid schema, without using it.
    pub fn check(&self, registrations: &[Registration]) -> Result<(), SchemaError> {
        schema::build(registrations, self.inner.options, &self.inner.subscriptions).map(|_| ())
    }

    /// Builds the schema of `registrations` and swaps it in (none: the endpoint answers
    /// 404). On error the previous schema stays.
    pub fn replace(&self, registrations: &[Registration]) -> Result<(), SchemaError> {
        let built = schema::build(registrations, self.inner.options, &self.inner.subscriptions)?;
        self.inner.schema.store(built.map(Arc::new));
        Ok(())
    }

    /// Whether a schema is being served.
    pub fn is_active(&self) -> bool {
        self.inner.schema.load().is_some()
    }

    /// The schema in SDL, if there is one.
    pub fn sdl(&self) -> Option<String> {
        self.inner.schema.load().as_ref().map(|schema| schema.sdl())
    }

    /// Runs one operation against the current schema (for scripts' `executeGraphQL`) and
    /// returns the response as JSON.
    pub async fn execute(
        &self,
        query: &str,
        variables: Option<serde_json::Value>,
        operation_name: Option<String>,
    ) -> serde_json::Value {
        let Some(schema) = self.inner.schema.load_full() else {
            return serde_json::json!({ "errors": [{ "message": "no GraphQL schema: register a query first" }] });
        };
        let parameters = request::Parameters {
            query: query.to_owned(),
            operation_name,
            variables: variables.and_then(|variables| match variables {
                serde_json::Value::Object(map) => Some(map),
                _ => None,
            }),
        };
        let response = http_endpoint::execute(&schema, &parameters, Arc::default()).await;
        response::response_json(&response)
    }

    /// Publishes `value` to the subscribers of the subscription field `name` whose
    /// metadata `filter` lets through (all without one); returns how many subscribers the
    /// field has. A string where the field's type is an object or list is read as JSON.
    pub fn publish(
        &self,
        name: &str,
        value: serde_json::Value,
        filter: Option<ferry_core::sse::Filter>,
    ) -> usize {
        self.inner.subscriptions.publish(name, value, filter)
    }

    /// The handler of `/graphql` (route both GET and POST to it).
    pub fn handler(&self) -> GraphQlHandler {
        GraphQlHandler {
            graphql: self.clone(),
        }
    }

    fn current(&self) -> Option<Arc<async_graphql::dynamic::Schema>> {
        self.inner.schema.load_full()
    }
}
