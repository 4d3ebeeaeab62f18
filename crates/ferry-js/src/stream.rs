//! Server-Sent Events streams registered by scripts: the route that lets a client join a
//! stream (after the stream's customizer, if any, named its metadata).

use ferry_core::sse::{Metadata, StreamHub};
use ferry_core::{Body, Handler, Request, Response};
use http::StatusCode;
use std::sync::Arc;

use crate::handler;
use crate::job::RouteKey;
use crate::pool::WorkerPool;

/// The most metadata one connection may carry.
const METADATA_LIMIT: usize = 64 * 1024;

/// Answers a stream's path: runs the customizer (when there is one) for the connection's
/// metadata, else takes its query parameters, and subscribes the client.
pub(crate) struct StreamRoute {
    pub pool: Arc<WorkerPool>,
    pub hub: StreamHub,
    pub key: RouteKey,
    pub path: Arc<str>,
    pub customized: bool,
    /// `auto` worker model: whether the customizer still runs on the server thread.
    pub pace: Option<Arc<handler::RoutePace>>,
}

impl Handler for StreamRoute {
    fn call(&self, request: Request) -> ferry_core::BoxFuture<Response> {
        let pool = self.pool.clone();
        let hub = self.hub.clone();
        let key = self.key.clone();
        let path = self.path.clone();
        let customized = self.customized;
        let pace = self.pace.clone();
        Box::pin(async move {
            // What subscribing needs of the request (Last-Event-ID, the server's shutdown
            // signal) outlives the request, which the customizer consumes.
            let mut probe = Request::new(Body::empty());
            *probe.uri_mut() = request.uri().clone();
            *probe.headers_mut() = request.headers().clone();
            *probe.extensions_mut() = request.extensions().clone();
            let metadata = if customized {
                let answer = handler::run(&pool, key, request, pace.as_deref()).await;
                match metadata_from_answer(answer).await {
                    Ok(Some(metadata)) => metadata,
                    Ok(None) => query_metadata(probe.uri().query()),
                    Err(failure) => return failure,
                }
            } else {
                query_metadata(probe.uri().query())
            };
            match hub.subscribe(&probe, &path, metadata) {
                Ok(response) => response,
                Err(error) => ferry_core::IntoResponse::into_response(error),
            }
        })
    }
}

/// The connection's metadata from the customizer's answer: `Some` object, `None` when it
/// returned nothing, or the error response (a failed or timed-out customizer) to send.
async fn metadata_from_answer(answer: Response) -> Result<Option<Metadata>, Response> {
    match answer.status() {
        StatusCode::NO_CONTENT => Ok(None),
        StatusCode::OK => {
            // The customizer's metadata, in memory; the limit only guards against surprises.
            let bytes = answer
                .into_body()
                .to_bytes(METADATA_LIMIT)
                .await
                .unwrap_or_default();
            serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                ferry_core::IntoResponse::into_response((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error\n\nthe stream customizer's metadata could not be read\n",
                ))
            })
        }
        _ => Err(answer),
    }
}

/// The query parameters as metadata (the first value of a repeated key wins).
fn query_metadata(query: Option<&str>) -> Metadata {
    metadata_of(form_urlencoded::parse(query.unwrap_or_default().as_bytes()))
}

/// Key-value pairs as a connection's metadata, the first value of a repeated key winning
/// (the default metadata of streams and WebSockets: their query parameters).
pub(crate) fn metadata_of<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Metadata {
    let mut metadata = Metadata::new();
    for (key, value) in pairs {
        metadata
            .entry(key.as_ref())
            .or_insert_with(|| serde_json::Value::String(value.as_ref().to_owned()));
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_become_string_metadata_first_value_wins() {
        let metadata = query_metadata(Some("room=5&user=a%20b&room=6&flag"));
        assert_eq!(metadata["room"], "5");
        assert_eq!(metadata["user"], "a b");
        assert_eq!(metadata["flag"], "");
        assert!(query_metadata(None).is_empty());
    }
}
