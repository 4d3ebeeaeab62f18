//! The route handler for script routes: reads the request on the async side, queues it for
//! a worker and awaits the answer.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::{BoxFuture, Handler, IntoResponse, Request, Response};
use http::StatusCode;
use tokio::sync::oneshot;

use crate::job::{CallInput, HttpJob, RouteKey};
use crate::pool::{Saturated, WorkerPool};
use crate::request::{self, ScriptRequest};
use crate::response::unavailable;
use crate::worker::local::{self, Dispatch};

/// Extra time the async side waits beyond the call limit, for the time a request may spend
/// queued behind others.
const QUEUE_ALLOWANCE: Duration = Duration::from_secs(10);

/// Answers one registered route by running its handler on a worker.
pub(crate) struct ScriptRoute {
    pub pool: Arc<WorkerPool>,
    pub key: RouteKey,
    /// The route keeps the identity of cross-site changes (see `Registration::cross_site`).
    pub cross_site: bool,
}

impl Handler for ScriptRoute {
    fn call(&self, mut request: Request) -> BoxFuture<Response> {
        if self.cross_site
            && let Some(ferry_auth::CrossSite(identity)) = request.extensions_mut().remove()
        {
            request.extensions_mut().insert(identity);
        }
        let pool = self.pool.clone();
        let key = self.key.clone();
        Box::pin(async move { run(&pool, key, request).await })
    }
}

pub(crate) async fn run(pool: &WorkerPool, route: RouteKey, request: Request) -> Response {
    let limits = &pool.settings().limits;
    let request = match request::read(request, limits.body_bytes).await {
        Ok(request) => request,
        // 413, 408 (closing the connection: the rest may still be on its way) or 400.
        Err(error) => return error.into_response(),
    };
    let started = std::time::Instant::now();
    let response = call(pool, route, request).await;
    // Queue wait included: it is part of what the client waits for.
    metrics::histogram!("ferry_js_call_duration_seconds").record(started.elapsed().as_secs_f64());
    response
}

/// Hands a read request to a worker and waits for its answer.
async fn call(pool: &WorkerPool, route: RouteKey, request: ScriptRequest) -> Response {
    let limits = &pool.settings().limits;
    // Thread-per-core: this thread's own worker runs the handler at once.
    let answer = match local::dispatch(route, request) {
        Dispatch::Done(response) => return response,
        Dispatch::Waiting(answer) => answer,
        Dispatch::Elsewhere(route, request) => {
            let (reply, answer) = oneshot::channel();
            let job = HttpJob {
                route,
                input: CallInput::Http(*request),
                reply,
            };
            if let Err(Saturated) = pool.submit(job) {
                return unavailable("every JavaScript worker is busy and the queue is full");
            }
            answer
        }
    };
    match tokio::time::timeout(limits.call_timeout + QUEUE_ALLOWANCE, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => unavailable("the JavaScript worker stopped"),
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "504 Gateway Timeout\n\nthe request waited too long for a JavaScript worker\n",
        )
            .into_response(),
    }
}
