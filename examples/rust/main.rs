//! Ferry as a Rust library: five small endpoints, also used by the benchmarks.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p ferry-example-rust            # listens on 127.0.0.1:3000
//! cargo run --release -p ferry-example-rust -- 0.0.0.0:8000
//! ```
//!
//! Then:
//!
//! ```text
//! curl http://127.0.0.1:3000/hello
//! curl http://127.0.0.1:3000/json
//! curl -d 'ping' http://127.0.0.1:3000/echo
//! curl http://127.0.0.1:3000/health
//! curl http://127.0.0.1:3000/users/42
//! ```

use ferry_core::{App, Json, Request, RequestExt, Response};
use serde_json::json;

/// `GET /hello`: plain text.
async fn hello(_request: Request) -> &'static str {
    "Hello, world!"
}

/// `GET /json`: a small JSON object.
async fn json_object(_request: Request) -> Json<serde_json::Value> {
    Json(json!({ "message": "Hello, world!", "server": "ferry" }))
}

/// `POST /echo`: streams the request body back as it arrives.
async fn echo(request: Request) -> Response {
    let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
    let mut response = Response::new(request.into_body());
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type);
    }
    response
}

/// `GET /health`: liveness as JSON.
async fn health(_request: Request) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /users/:id`: JSON with the id from the path.
async fn user(request: Request) -> Json<serde_json::Value> {
    Json(json!({ "id": request.param("id"), "name": "Ferry User" }))
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = App::new()
        .get("/hello", hello)
        .get("/json", json_object)
        .post("/echo", echo)
        .get("/health", health)
        .get("/users/:id", user);
    let server = match app.bind(addr.as_str()).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    println!("Listening on http://{}/", server.local_addr());
    server.run().await;
}
