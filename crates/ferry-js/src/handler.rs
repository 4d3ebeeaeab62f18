//! The route handler for script routes: reads the request on the async side, runs it on
//! this server thread's worker (thread-per-core, and quick routes in the `auto` model) or
//! queues it for a pool worker, and awaits the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{BoxFuture, Handler, IntoResponse, Request, Response};
use http::StatusCode;
use tokio::sync::oneshot;

use crate::job::{CallInput, HttpJob, RouteKey};
use crate::pace::Pace;
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
    /// `auto` worker model: whether the route's calls still run on the server thread.
    pub pace: Option<Arc<RoutePace>>,
}

/// A route's [`Pace`] and the route it is of (named when it moves to the pool), made once
/// per route so that no request copies the key for it.
pub(crate) struct RoutePace {
    pub pace: Pace,
    pub route: RouteKey,
}

impl RoutePace {
    /// A fresh pace for `route`.
    pub(crate) fn new(route: RouteKey) -> Arc<Self> {
        Arc::new(RoutePace {
            pace: Pace::default(),
            route,
        })
    }
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
        let pace = self.pace.clone();
        Box::pin(async move { run(&pool, key, request, pace.as_deref()).await })
    }
}

/// Reads `request`, runs `route`'s handler on it and returns the answer. With a `pace`
/// (the `auto` worker model), the handler runs on this thread only while the route is quick.
pub(crate) async fn run(
    pool: &WorkerPool,
    route: RouteKey,
    request: Request,
    pace: Option<&RoutePace>,
) -> Response {
    let limits = &pool.settings().limits;
    let request = match request::read(request, limits.body_bytes).await {
        Ok(request) => request,
        // 413, 408 (closing the connection: the rest may still be on its way) or 400.
        Err(error) => return error.into_response(),
    };
    let started = Instant::now();
    let (response, ran) = call(pool, route, request, pace, started).await;
    // Queue wait included: it is part of what the client waits for.
    let took = started.elapsed();
    metrics::histogram!("ferry_js_call_duration_seconds").record(took.as_secs_f64());
    match (pace, ran) {
        (Some(pace), Ran::Here) => held_thread(pool, pace, took),
        (Some(pace), Ran::OnPool) => pace.pace.answered_on_pool(took),
        _ => {}
    }
    response
}

/// Notes how long a call held this server thread; logs the route's move to the pool.
fn held_thread(pool: &WorkerPool, pace: &RoutePace, held: Duration) {
    if pace.pace.held_thread(held) {
        metrics::counter!("ferry_js_routes_moved_to_pool_total").increment(1);
        tracing::info!(
            "{} held a server thread for {:.1} ms (its calls take over {} ms on average); its calls run on the worker pool from now on, so that they delay no other request",
            pool.settings().scripts.describe_handler(&pace.route),
            held.as_secs_f64() * 1000.0,
            crate::pace::QUICK_CALL.as_millis(),
        );
    }
}

/// Where a call ran.
#[derive(Clone, Copy)]
enum Ran {
    /// On this thread's worker, to its end: its time was the thread's.
    Here,
    /// On this thread's worker, which then awaited the handler's promise.
    HereThenAwaited,
    /// On a pool worker.
    OnPool,
    /// Nowhere: the pool's queue was full.
    Refused,
}

/// Hands a read request to a worker and waits for its answer; says where it ran.
async fn call(
    pool: &WorkerPool,
    route: RouteKey,
    request: ScriptRequest,
    pace: Option<&RoutePace>,
    started: Instant,
) -> (Response, Ran) {
    let limits = &pool.settings().limits;
    // Thread-per-core, and quick routes in the `auto` model: this thread's own worker runs
    // the handler at once.
    let dispatched = if pace.is_none_or(|pace| pace.pace.quick()) {
        local::dispatch(route, request)
    } else {
        Dispatch::Elsewhere(route, Box::new(request))
    };
    let (answer, ran) = match dispatched {
        Dispatch::Done(response) => return (response, Ran::Here),
        Dispatch::Waiting(answer) => {
            // The handler awaits: the thread was held only until now.
            if let Some(pace) = pace {
                held_thread(pool, pace, started.elapsed());
            }
            (answer, Ran::HereThenAwaited)
        }
        Dispatch::Elsewhere(route, request) => {
            let (reply, answer) = oneshot::channel();
            let job = HttpJob {
                route,
                input: CallInput::Http(*request),
                reply,
            };
            if let Err(Saturated) = pool.submit(job) {
                return (
                    unavailable("every JavaScript worker is busy and the queue is full"),
                    Ran::Refused,
                );
            }
            (answer, Ran::OnPool)
        }
    };
    let response = match tokio::time::timeout(limits.call_timeout + QUEUE_ALLOWANCE, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => unavailable("the JavaScript worker stopped"),
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            "504 Gateway Timeout\n\nthe request waited too long for a JavaScript worker\n",
        )
            .into_response(),
    };
    (response, ran)
}
