//! GraphQL: a schema assembled from registered fields, each answered by a resolver, served
//! at `/graphql` as the GraphQL over HTTP specification says (GET for queries, POST for
//! everything), with GraphiQL for browsers.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example graphql
//! curl -H 'content-type: application/json' \
//!      -d '{"query": "{ greeting(name: \"Ada\") }"}' http://127.0.0.1:3000/graphql
//! # or open http://127.0.0.1:3000/graphql in a browser
//! ```

use std::sync::Arc;

use ferry_core::App;
use ferry_graphql::{GraphQl, Registration, Resolver, ResolverCall, RootKind, SchemaOptions};
use futures_util::future::BoxFuture;
use http::Method;

/// Answers `greeting(name)`.
struct Greeting;

impl Resolver for Greeting {
    fn resolve(&self, call: ResolverCall) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        let name = call
            .arguments
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("world")
            .to_owned();
        Box::pin(async move { Ok(serde_json::json!(format!("Hello, {name}!"))) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let graphql = GraphQl::with_graphiql(SchemaOptions::default(), true);
    graphql.replace(&[Registration {
        kind: RootKind::Query,
        name: "greeting".into(),
        sdl: "greeting(name: String): String!".into(),
        resolver: Arc::new(Greeting),
    }])?;
    println!("GraphQL at http://127.0.0.1:3000/graphql");
    App::new()
        .route("/graphql", Method::GET, graphql.handler())
        .route("/graphql", Method::POST, graphql.handler())
        .serve("127.0.0.1:3000")
        .await?;
    Ok(())
}
