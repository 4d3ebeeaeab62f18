//! The GraphQL endpoint through a real server, with Rust resolvers: queries with arguments
//! and nested objects, mutations over POST only, errors with paths, request errors with the
//! status codes of GraphQL over HTTP, introspection, and schema replacement.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_core::App;
use ferry_graphql::{GraphQl, Registration, Resolver, ResolverCall, RootKind, SchemaOptions};
use futures_util::future::BoxFuture;
use http::Method;
use serde_json::{Value, json};

/// Answers with a fixed function of the call.
struct FnResolver<F>(F);

impl<F> Resolver for FnResolver<F>
where
    F: Fn(ResolverCall) -> Result<Value, String> + Send + Sync + 'static,
{
    fn resolve(&self, call: ResolverCall) -> BoxFuture<'static, Result<Value, String>> {
        let result = (self.0)(call);
        Box::pin(async move { result })
    }
}

fn registration(
    kind: RootKind,
    name: &str,
    sdl: &str,
    resolve: impl Fn(ResolverCall) -> Result<Value, String> + Send + Sync + 'static,
) -> Registration {
    Registration {
        kind,
        name: name.into(),
        sdl: sdl.into(),
        resolver: Arc::new(FnResolver(resolve)),
    }
}

async fn serve(graphql: &GraphQl) -> String {
    let app = App::new()
        .route("/graphql", Method::GET, graphql.handler())
        .route("/graphql", Method::POST, graphql.handler());
    let server = app.bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", server.local_addr());
    tokio::spawn(server.run_until(std::future::pending()));
    url
}

fn demo(counter: Arc<AtomicUsize>) -> Vec<Registration> {
    vec![
        registration(
            RootKind::Query,
            "user",
            "user(id: ID!): User type User { id: ID! name: String friends: [User!]! role: Role } enum Role { ADMIN GUEST }",
            |call| {
                let id = call.arguments["id"].as_str().unwrap_or_default().to_owned();
                if id == "0" {
                    return Err("no user 0".into());
                }
                Ok(
                    json!({ "id": id, "name": format!("user {id}"), "role": "ADMIN",
                           "friends": [{ "id": "9", "name": "nine", "friends": [] }] }),
                )
            },
        ),
        // aiwebengine-style: the resolver returns JSON text for an object type.
        registration(RootKind::Query, "me", "me: User", |_| {
            Ok(json!("{\"id\":\"1\",\"name\":\"me\",\"friends\":[]}"))
        }),
        registration(RootKind::Query, "boom", "boom: Int!", |_| {
            Err("boom failed".into())
        }),
        registration(
            RootKind::Mutation,
            "bump",
            "type Mutation { bump(by: Int = 1): Int! }",
            move |call| {
                let by = call.arguments["by"].as_u64().unwrap_or(0) as usize;
                Ok(json!(counter.fetch_add(by, Ordering::SeqCst) + by))
            },
        ),
    ]
}

async fn post(url: &str, accept: &str, body: Value) -> (u16, String, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.json().await.unwrap())
}

#[tokio::test]
async fn queries_mutations_and_errors_over_http() {
    let graphql = GraphQl::new(SchemaOptions::default());
    graphql
        .replace(&demo(Arc::new(AtomicUsize::new(0))))
        .unwrap();
    let url = serve(&graphql).await;
    let accept = "application/graphql-response+json";

    let (status, content_type, body) = post(
        &url,
        accept,
        json!({ "query": "query Q($id: ID!) { user(id: $id) { name role friends { id name } } me { name } }", "variables": { "id": "7" } }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        content_type,
        "application/graphql-response+json; charset=utf-8"
    );
    assert_eq!(
        body,
        json!({ "data": { "user": { "name": "user 7", "role": "ADMIN", "friends": [{ "id": "9", "name": "nine" }] },
                          "me": { "name": "me" } } })
    );

    // A resolver's error comes back with its path; the rest of the data stays.
    let (status, _, body) = post(
        &url,
        accept,
        json!({ "query": "{ user(id: \"0\") { name } me { name } }" }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["data"].as_object().unwrap().contains_key("user"),
        "{body}"
    );
    assert_eq!(body["data"]["user"], Value::Null);
    assert_eq!(body["data"]["me"]["name"], "me");
    assert_eq!(body["errors"][0]["message"], "no user 0");
    assert_eq!(body["errors"][0]["path"], json!(["user"]));

    // A non-null field that fails nulls the whole data (its parent), with the path.
    let (status, _, body) = post(&url, accept, json!({ "query": "{ boom me { name } }" })).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["errors"][0]["message"], "boom failed");
    assert_eq!(body["errors"][0]["path"], json!(["boom"]));

    // Mutations: over POST they run (with the default argument); over GET they are refused.
    let (_, _, body) = post(&url, accept, json!({ "query": "mutation { bump }" })).await;
    assert_eq!(body["data"]["bump"], 1);
    let (_, _, body) = post(&url, accept, json!({ "query": "mutation { bump(by: 5) }" })).await;
    assert_eq!(body["data"]["bump"], 6);
    let refused = reqwest::get(format!("{url}?query=mutation%7Bbump%7D"))
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "POST");

    let get = reqwest::get(format!("{url}?query=%7Bme%7Bid%7D%7D"))
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(
        get.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(
        get.json::<Value>().await.unwrap(),
        json!({ "data": { "me": { "id": "1" } } })
    );
}

#[tokio::test]
async fn request_errors_get_400_with_the_graphql_media_type_and_200_with_json() {
    let graphql = GraphQl::new(SchemaOptions::default());
    graphql
        .replace(&demo(Arc::new(AtomicUsize::new(0))))
        .unwrap();
    let url = serve(&graphql).await;
    for (query, what) in [("{ user(id: ", "parse"), ("{ nope }", "validation")] {
        let (status, _, body) = post(
            &url,
            "application/graphql-response+json",
            json!({ "query": query }),
        )
        .await;
        assert_eq!(status, 400, "{what}");
        assert!(body.get("data").is_none(), "{what}: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{what}");
        let (status, _, body) = post(&url, "application/json", json!({ "query": query })).await;
        assert_eq!(status, 200, "{what}");
        assert!(body.get("data").is_none(), "{what}: {body}");
    }
    let (status, _, _) = post(&url, "application/json", json!({ "query": 5 })).await;
    assert_eq!(status, 400);
    let not_json = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_type = reqwest::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
}

#[tokio::test]
async fn introspection_can_be_turned_off_and_schemas_are_replaced_whole() {
    let open = GraphQl::new(SchemaOptions::default());
    open.replace(&demo(Arc::new(AtomicUsize::new(0)))).unwrap();
    let url = serve(&open).await;
    let (_, _, body) = post(
        &url,
        "application/json",
        json!({ "query": "{ __type(name: \"User\") { name } }" }),
    )
    .await;
    assert_eq!(body["data"]["__type"]["name"], "User");

    let closed = GraphQl::new(SchemaOptions {
        introspection: false,
    });
    closed
        .replace(&demo(Arc::new(AtomicUsize::new(0))))
        .unwrap();
    let url = serve(&closed).await;
    let (_, _, body) = post(
        &url,
        "application/json",
        json!({ "query": "{ __schema { types { name } } }" }),
    )
    .await;
    assert!(body["errors"].is_array(), "{body}");

    // A bad registration leaves the running schema alone; an empty set removes it.
    let broken = vec![registration(RootKind::Query, "x", "x: Missing", |_| {
        Ok(Value::Null)
    })];
    assert!(open.replace(&broken).is_err());
    assert!(open.is_active());
    open.replace(&[]).unwrap();
    let gone = reqwest::get(format!("{}?query=%7Bme%7Bid%7D%7D", serve(&open).await))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[test]
fn conflicting_registrations_are_refused_with_both_names() {
    let graphql = GraphQl::new(SchemaOptions::default());
    let twice = vec![
        registration(RootKind::Query, "a", "a: T type T { x: Int }", |_| {
            Ok(Value::Null)
        }),
        registration(RootKind::Query, "b", "b: T type T { y: Int }", |_| {
            Ok(Value::Null)
        }),
    ];
    let error = graphql.check(&twice).unwrap_err().to_string();
    assert!(
        error.contains("type T is defined differently by query \"a\" and by query \"b\""),
        "{error}"
    );
    let only_mutation = vec![registration(RootKind::Mutation, "m", "m: Int", |_| {
        Ok(json!(1))
    })];
    graphql.check(&only_mutation).unwrap();
}

#[tokio::test]
async fn browsers_get_graphiql_only_when_it_is_on() {
    let page_for = |graphiql: bool| async move {
        let graphql = GraphQl::with_graphiql(SchemaOptions::default(), graphiql);
        graphql
            .replace(&demo(Arc::new(AtomicUsize::new(0))))
            .unwrap();
        let url = serve(&graphql).await;
        reqwest::Client::new()
            .get(&url)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap()
    };
    let page = page_for(true).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("GraphiQL.createFetcher({ url: \"/graphql\" })")
    );
    // Without it, a browser's GET without a query is a bad GraphQL request.
    let plain = page_for(false).await;
    assert_eq!(plain.status(), 400);
}

#[tokio::test]
async fn values_that_do_not_fit_the_field_type_are_field_errors() {
    let graphql = GraphQl::new(SchemaOptions::default());
    graphql
        .replace(&[
            registration(RootKind::Query, "title", "title: String", |_| {
                Ok(json!({ "not": "a string" }))
            }),
            registration(RootKind::Query, "count", "count: Int!", |_| Ok(json!(1.5))),
            registration(
                RootKind::Query,
                "person",
                "person: Person type Person { name: String age: Int role: Level } enum Level { LOW HIGH }",
                |_| Ok(json!({ "name": ["x"], "age": 7, "role": "ROOT" })),
            ),
            registration(RootKind::Query, "fine", "fine: String", |_| Ok(json!(42))),
        ])
        .unwrap();
    let url = serve(&graphql).await;
    let accept = "application/graphql-response+json";

    let (_, _, body) = post(&url, accept, json!({ "query": "{ title fine }" })).await;
    assert_eq!(
        body["data"],
        json!({ "title": null, "fine": "42" }),
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        r#"String cannot represent value: {"not":"a string"}"#
    );
    assert_eq!(body["errors"][0]["path"], json!(["title"]));

    // A non-null field nulls its parent.
    let (_, _, body) = post(&url, accept, json!({ "query": "{ count fine }" })).await;
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "Int cannot represent non-integer value: 1.5"
    );

    // Inside an object: each bad field is null with its own error and path.
    let (_, _, body) = post(
        &url,
        accept,
        json!({ "query": "{ person { name age role } }" }),
    )
    .await;
    assert_eq!(
        body["data"]["person"],
        json!({ "name": null, "age": 7, "role": null }),
        "{body}"
    );
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    assert!(
        errors
            .iter()
            .any(|error| error["path"] == json!(["person", "name"]))
    );
    assert!(errors.iter().any(|error| {
        error["path"] == json!(["person", "role"])
            && error["message"] == r#"Enum "Level" cannot represent value: "ROOT""#
    }));
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_is_408_not_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let graphql = GraphQl::new(SchemaOptions::default());
    graphql
        .replace(&demo(Arc::new(AtomicUsize::new(0))))
        .unwrap();
    let server = App::new()
        .config(ferry_core::ServerConfig {
            body_read_timeout: std::time::Duration::from_millis(300),
            ..ferry_core::ServerConfig::default()
        })
        .route("/graphql", Method::POST, graphql.handler())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
}
