//! MCP (the Model Context Protocol): a tool for AI agents, offered over Streamable HTTP at
//! `/mcp` with the official SDK (`rmcp`) underneath; its arguments are checked against the
//! tool's JSON Schema before the callback runs.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example mcp
//! # then point an MCP client (an agent, or the MCP Inspector) at http://127.0.0.1:3000/mcp
//! ```

use std::sync::Arc;

use ferry_core::App;
use ferry_mcp::{Callback, Mcp, McpOptions, Registry, ToolEntry};
use futures_util::future::BoxFuture;
use http::Method;
use serde_json::{Value, json};

/// Adds `a` and `b`.
struct Add;

impl Callback for Add {
    fn call(
        &self,
        input: Value,
        _request: &http::Extensions,
    ) -> BoxFuture<'static, Result<Value, String>> {
        let sum = input["a"].as_f64().unwrap_or(0.0) + input["b"].as_f64().unwrap_or(0.0);
        Box::pin(async move { Ok(Value::String(sum.to_string())) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mcp = Mcp::new(McpOptions::default());
    let schema = json!({
        "type": "object",
        "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
        "required": ["a", "b"],
    });
    let Value::Object(input_schema) = schema else {
        unreachable!("the schema is an object literal");
    };
    mcp.replace(Registry {
        tools: vec![ToolEntry {
            name: "add".into(),
            description: "Adds two numbers.".into(),
            input_schema,
            callback: Arc::new(Add),
        }],
        ..Registry::default()
    })?;
    println!("MCP at http://127.0.0.1:3000/mcp");
    let handler = mcp.handler();
    App::new()
        .route("/mcp", Method::GET, handler.clone())
        .route("/mcp", Method::POST, handler.clone())
        .route("/mcp", Method::DELETE, handler)
        .serve("127.0.0.1:3000")
        .await?;
    Ok(())
}
