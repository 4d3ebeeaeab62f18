//! GraphQL over Server-Sent Events, the graphql-sse protocol's "distinct connections" mode:
//! each request gets its own event stream, with a `next` event per result (one for a query
//! or mutation, one per event for a subscription) and a final `complete`.

use std::sync::Arc;

use async_graphql::Executor;
use async_graphql::dynamic::Schema;
use ferry_core::sse::{DEFAULT_KEEP_ALIVE, Event, event_stream};
use ferry_core::{Request, Response};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::request::Parameters;
use crate::response::response_json;

/// Results waiting for a slow client before the stream stops reading more.
const QUEUE: usize = 64;

/// Runs the operation of `parameters` and streams its results; `request` carries the
/// server's shutdown signal.
pub(crate) fn respond(
    schema: &Arc<Schema>,
    parameters: &Parameters,
    request: &Request,
) -> Response {
    let extensions = Arc::new(request.extensions().clone());
    let mut results =
        Executor::execute_stream(schema.as_ref(), parameters.request(extensions), None);
    let (events, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        while let Some(result) = results.next().await {
            let event = Event::new(response_json(&result).to_string()).name("next");
            if events.send(event).await.is_err() {
                // The client left: dropping the stream ends the subscription.
                return;
            }
        }
        let _ = events.send(Event::new("").name("complete")).await;
    });
    event_stream(request, receiver, DEFAULT_KEEP_ALIVE)
}
