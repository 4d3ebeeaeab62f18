//! The HTTP client that talks to providers: hyper over rustls (the ring provider, the
//! system's root certificates), bounded in time and size, never following redirects (a
//! token endpoint that redirects is misconfigured, and following it could leak the code).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

/// How long one request to a provider may take, answer included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from a provider (discovery documents and key sets are a few KB).
const MAX_ANSWER: usize = 1024 * 1024;

/// Why a provider could not be asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The request failed (connection, TLS, timeout).
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The provider answered with an error status.
    #[error("{url} answered {status}{detail}")]
    Status {
        url: String,
        status: http::StatusCode,
        /// The OAuth `error` (and description) of the answer, if it had one.
        detail: String,
    },
    /// The answer was too large or not the JSON expected.
    #[error("{url} answered with {problem}")]
    Answer { url: String, problem: String },
}

/// Why the client could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot load the system's root certificates: {0}")]
pub struct ClientSetupError(#[from] std::io::Error);

/// A client for provider requests.
#[derive(Debug, Clone)]
pub(crate) struct ProviderClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl ProviderClient {
    /// A client that trusts the system's certificate authorities (HTTP is allowed too: a
    /// provider on this machine or a private network may not have a certificate).
    pub(crate) fn new() -> Result<Self, ClientSetupError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(ProviderClient { http })
    }

    /// GETs `url` as JSON, with `bearer` as the access token if given.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut request = Request::builder().method(Method::GET).uri(url);
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        self.json(url, request, Bytes::new()).await
    }

    /// POSTs `form` to `url`, with HTTP Basic client credentials if given.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<T, ClientError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: both are form-encoded before they are joined.
            let encode =
                |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
            let credentials = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{}:{}", encode(id), encode(secret)),
            );
            request = request.header(AUTHORIZATION, format!("Basic {credentials}"));
        }
        self.json(url, request, Bytes::from(body)).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        url: &str,
        request: http::request::Builder,
        body: Bytes,
    ) -> Result<T, ClientError> {
        let unreachable = |reason: String| ClientError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let request = request
            .header(ACCEPT, "application/json")
            .header(
                USER_AGENT,
                HeaderValue::from_static(concat!("ferry/", env!("CARGO_PKG_VERSION"))),
            )
            .body(Full::new(body))
            .map_err(|error| unreachable(format!("not a usable URL ({error})")))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|error| unreachable(error_chain(&error)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|error| ClientError::Answer {
                    url: url.to_owned(),
                    problem: format!("an unreadable body ({error}; at most {MAX_ANSWER} bytes)"),
                })?
                .to_bytes();
            Ok::<_, ClientError>((status, body))
        };
        let (status, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {} s", TIMEOUT.as_secs())))??;
        if !status.is_success() {
            return Err(ClientError::Status {
                url: url.to_owned(),
                status,
                detail: oauth_error(&body),
            });
        }
        serde_json::from_slice(&body).map_err(|error| ClientError::Answer {
            url: url.to_owned(),
            problem: format!("unexpected JSON: {error}"),
        })
    }
}

/// An error and its causes, joined: hyper's own message alone says only "client error".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `: error (description)` from an OAuth error answer, or nothing.
fn oauth_error(body: &[u8]) -> String {
    let Ok(serde_json::Value::Object(answer)) = serde_json::from_slice(body) else {
        return String::new();
    };
    let text = |name: &str| {
        answer
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(|text| {
                text.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
    };
    match (text("error"), text("error_description")) {
        (Some(error), Some(description)) => format!(": {error} ({description})"),
        (Some(error), None) => format!(": {error}"),
        _ => String::new(),
    }
}
