//! GraphQL fields registered by scripts, queried through a real server: resolvers with
//! arguments, async resolvers, nested objects, mutations with state in sharedStorage,
//! thrown errors as GraphQL errors with paths, both API spellings, and the schema following
//! reloads and removals.

#![allow(clippy::unwrap_used)]

mod support;

use ferry_js::Script;
use serde_json::{Value, json};
use support::TestApp;

const LIBRARY: &str = r#"
registerGraphQLQuery("book", "book(id: ID!): Book type Book { id: ID! title: String! author: Author } type Author { name: String! }", (context) => {
  if (context.args.id === "0") throw new Error("no book 0");
  return { id: context.args.id, title: `Book ${context.args.id}`, author: { name: "Ada" }, kind: context.kind };
});
graphQLRegistry.registerQuery("slow", "slow(ms: Int = 5): String", async (context) => {
  await new Promise((resolve) => setTimeout(resolve, context.args.ms));
  return `waited ${context.args.ms}`;
}, "external");
function countBooks() { return Number(sharedStorage.getItem("count") ?? "0"); }
registerGraphQLQuery("count", "count: Int!", "countBooks");
registerGraphQLMutation("addBook", "type Mutation { addBook(title: String!): Int! }", (context) => {
  const count = Number(sharedStorage.getItem("count") ?? "0") + 1;
  sharedStorage.setItem("count", String(count));
  return count;
});
"#;

async fn query(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn script_resolvers_answer_queries_and_mutations() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let (status, body) = query(
        &app,
        json!({ "query": "{ book(id: \"7\") { id title author { name } } slow(ms: 3) count }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "data": { "book": { "id": "7", "title": "Book 7", "author": { "name": "Ada" } },
                          "slow": "waited 3", "count": 0 } })
    );
    for expected in [1, 2] {
        let (_, body) = query(
            &app,
            json!({ "query": "mutation { addBook(title: \"x\") }" }),
        )
        .await;
        assert_eq!(body["data"]["addBook"], expected);
    }
    let (_, body) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(body["data"]["count"], 2);
}

#[tokio::test]
async fn a_throwing_resolver_gives_a_graphql_error_with_its_path() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let (status, body) = query(
        &app,
        json!({ "query": "{ book(id: \"0\") { title } count }" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["book"], Value::Null);
    assert_eq!(body["data"]["count"], 0);
    assert_eq!(body["errors"][0]["message"], "no book 0");
    assert_eq!(body["errors"][0]["path"], json!(["book"]));
}

#[tokio::test]
async fn the_schema_follows_reloads_and_bad_sdl_keeps_the_old_one() {
    let app = TestApp::new(&[("library.js", LIBRARY)]).await;
    let broken = app
        .engine
        .load(Script::new(
            "library.js",
            r#"registerGraphQLQuery("x", "x: Nowhere", () => 1);"#,
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(broken.contains("library.js"), "{broken}");
    assert!(broken.contains("Nowhere"), "{broken}");
    let (_, body) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(body["data"]["count"], 0, "the old schema still answers");

    app.engine
        .load(Script::new(
            "library.js",
            r#"registerGraphQLQuery("hello", "hello: String", () => "hi");"#,
        ))
        .await
        .unwrap();
    let (_, body) = query(&app, json!({ "query": "{ hello }" })).await;
    assert_eq!(body["data"]["hello"], "hi");
    let (status, _) = query(&app, json!({ "query": "{ count }" })).await;
    assert_eq!(status, 400, "count is gone");

    app.engine.remove("library.js").await.unwrap();
    assert_eq!(app.get("/graphql?query=%7Bhello%7D").await.status(), 404);
}

#[tokio::test]
async fn a_subscription_or_a_bad_field_name_is_refused_at_load() {
    let app = TestApp::new(&[]).await;
    for (source, expected) in [
        (
            r#"registerGraphQLSubscription("s", "s: String", () => ({}));"#,
            "subscriptions are not supported yet",
        ),
        (
            r#"registerGraphQLQuery("bad-name", "x: String", () => 1);"#,
            "is not a GraphQL field name",
        ),
    ] {
        let error = app
            .engine
            .load(Script::new("g.js", source))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}
