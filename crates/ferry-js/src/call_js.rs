//! Calls into scripts from Rust with JSON in and out — GraphQL resolvers and MCP tools,
//! resources and prompts: they run on the JavaScript workers like route handlers, with the
//! same limits.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::Response;
use ferry_graphql::{Resolver, ResolverCall};
use futures_util::future::BoxFuture;
use http::StatusCode;
use tokio::sync::oneshot;

use crate::job::{CallInput, HttpJob, RouteKey};
use crate::pool::{Saturated, WorkerPool};

/// Extra time a call may wait beyond the call limit (its turn in the queue).
const QUEUE_ALLOWANCE: Duration = Duration::from_secs(10);

/// The most a handler's JSON may weigh.
const VALUE_LIMIT: usize = 16 << 20;

/// Calls a script's handler on a worker with a JSON input (its `context.args`).
pub(crate) struct JsCall {
    pub pool: Arc<WorkerPool>,
    pub key: RouteKey,
}

/// The signed-in user a request's `extensions` carry, if any.
fn caller(extensions: &http::Extensions) -> Option<Arc<ferry_auth::User>> {
    extensions
        .get::<ferry_auth::Identity>()
        .map(ferry_auth::Identity::shared_user)
}

impl JsCall {
    fn call(
        &self,
        input: serde_json::Value,
        request: &http::Extensions,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        self.run(CallInput::Json {
            input: input.to_string(),
            caller: caller(request),
        })
    }

    /// Runs the handler with `input`: its value as JSON, or what went wrong.
    pub(crate) fn run(
        &self,
        input: CallInput,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        let pool = self.pool.clone();
        let key = self.key.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let job = HttpJob {
                route: key,
                input,
                reply,
            };
            if let Err(Saturated) = pool.submit(job) {
                return Err("every JavaScript worker is busy; try again later".into());
            }
            let limit = pool.settings().limits.call_timeout + QUEUE_ALLOWANCE;
            match tokio::time::timeout(limit, answer).await {
                Ok(Ok(response)) => value_of(response).await,
                Ok(Err(_)) => Err("the JavaScript worker stopped".into()),
                Err(_) => Err("the call waited too long for a JavaScript worker".into()),
            }
        })
    }
}

impl Resolver for JsCall {
    fn resolve(&self, call: ResolverCall) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        self.call(serde_json::Value::Object(call.arguments), &call.extensions)
    }
}

impl ferry_mcp::Callback for JsCall {
    fn call(
        &self,
        input: serde_json::Value,
        request: &http::Extensions,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        JsCall::call(self, input, request)
    }

    fn complete(
        &self,
        completion: ferry_mcp::Completion,
        request: &http::Extensions,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        let input = serde_json::json!({
            "argument": completion.argument,
            "partial": completion.partial,
            "arguments": completion.arguments,
        });
        self.run(CallInput::Completion {
            input: input.to_string(),
            caller: caller(request),
        })
    }
}

/// The handler's value (a 200 with JSON), or its error message (any other answer).
async fn value_of(response: Response) -> Result<serde_json::Value, String> {
    let status = response.status();
    let body = response
        .into_body()
        .to_bytes(VALUE_LIMIT)
        .await
        .map_err(|error| error.to_string())?;
    if status == StatusCode::OK {
        return serde_json::from_slice(&body).map_err(|error| error.to_string());
    }
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    Err(if text.is_empty() {
        format!("the handler failed ({status})")
    } else {
        text
    })
}
