//! Requests scripts make (`fetch`): one HTTP client per engine (hyper over rustls with the
//! system's roots), the network policy checked on every hop and every resolved address,
//! redirects followed as the Fetch Standard follows them, and bodies read piece by piece
//! under a size cap.

mod policy;
mod resolver;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

pub use policy::{NetPolicy, NetRule};
use resolver::GuardedResolver;

/// The most redirects one `fetch` follows (the Fetch Standard's limit).
const MAX_REDIRECTS: usize = 20;

/// How `fetch` behaves for the scripts of an engine.
#[derive(Debug, Clone)]
pub struct OutboundOptions {
    /// Where requests may go.
    pub policy: NetPolicy,
    /// The largest response body a script may read.
    pub max_response_bytes: usize,
    /// How many requests one worker may have waiting for an answer at once.
    pub max_in_flight: usize,
    /// How long a request may take when nothing shorter applies (no call deadline).
    pub default_timeout: Duration,
    /// Which `fetch` scripts get.
    pub style: FetchStyle,
}

/// Which `fetch` scripts get.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FetchStyle {
    /// The web platform's: `fetch(input, init)` returns a promise of a `Response`.
    #[default]
    Standard,
    /// aiwebengine's: `fetch(url, { method, headers, body, timeout })` waits for the whole
    /// answer and returns the JSON text of `{ status, ok, statusText, headers, body }`.
    Aiwebengine,
}

impl FetchStyle {
    /// The style's name, as `--fetch-style` spells it.
    pub fn name(self) -> &'static str {
        match self {
            FetchStyle::Standard => "standard",
            FetchStyle::Aiwebengine => "aiwebengine",
        }
    }
}

impl Default for OutboundOptions {
    fn default() -> Self {
        OutboundOptions {
            policy: NetPolicy::PublicOnly,
            max_response_bytes: 8 * 1024 * 1024,
            max_in_flight: 16,
            default_timeout: Duration::from_secs(30),
            style: FetchStyle::Standard,
        }
    }
}

/// What a redirect answer makes `fetch` do (`Request.redirect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirectMode {
    Follow,
    Error,
    Manual,
}

/// One request, as the script asked for it (secrets already put in).
#[derive(Debug)]
pub(crate) struct OutboundRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Bytes>,
    pub redirect: RedirectMode,
}

/// The answer's head, and its body still to read.
#[derive(Debug)]
pub(crate) struct OutboundResponse {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    /// Where the answer came from (after redirects).
    pub url: Url,
    pub redirected: bool,
    pub body: Incoming,
}

type HttpClient = Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>;

/// The engine's client for scripts' requests.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    client: HttpClient,
    pub options: Arc<OutboundOptions>,
}

impl Outbound {
    /// A client that follows `options` and trusts the system's certificate authorities.
    pub(crate) fn new(options: OutboundOptions) -> std::io::Result<Self> {
        let options = Arc::new(options);
        let mut http = HttpConnector::new_with_resolver(GuardedResolver::new(options.clone()));
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(16)
            .build(connector);
        Ok(Outbound { client, options })
    }

    /// Sends `request`, following redirects as its mode says; the error is in words.
    pub(crate) async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, String> {
        let OutboundRequest {
            mut method,
            mut url,
            mut headers,
            mut body,
            redirect,
        } = request;
        let mut redirects = 0;
        loop {
            self.check(&url)?;
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(url.as_str());
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            let outgoing = builder
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|error| format!("cannot send to {url}: {error}"))?;
            let response = self
                .client
                .request(outgoing)
                .await
                .map_err(|error| describe_failure(&url, &error))?;
            let status = response.status();
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if let (true, Some(location), RedirectMode::Follow | RedirectMode::Error) =
                (is_redirect, location, redirect)
            {
                if redirect == RedirectMode::Error {
                    return Err(format!(
                        "{url} redirects to {location}, and the request's redirect mode is \"error\""
                    ));
                }
                redirects += 1;
                if redirects > MAX_REDIRECTS {
                    return Err(format!(
                        "more than {MAX_REDIRECTS} redirects, the last from {url}"
                    ));
                }
                let next = url
                    .join(&location)
                    .map_err(|_| format!("{url} redirects to {location:?}, which is not a URL"))?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(format!(
                        "{url} redirects to {next}, which is not http or https"
                    ));
                }
                let code = status.as_u16();
                if ((code == 301 || code == 302) && method == Method::POST)
                    || (code == 303 && method != Method::GET && method != Method::HEAD)
                {
                    method = Method::GET;
                    body = None;
                    headers.retain(|(name, _)| !is_content_header(name));
                }
                if next.origin() != url.origin() {
                    headers.retain(|(name, _)| !is_credential_header(name));
                }
                url = next;
                continue;
            }
            let status_text = status.canonical_reason().unwrap_or("").to_owned();
            let (parts, incoming) = response.into_parts();
            let headers = parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value
                            .as_bytes()
                            .iter()
                            .map(|&byte| char::from(byte))
                            .collect(),
                    )
                })
                .collect();
            return Ok(OutboundResponse {
                status: status.as_u16(),
                status_text,
                headers,
                url,
                redirected: redirects > 0,
                body: incoming,
            });
        }
    }

    /// Whether `url` may be asked, before its host name is resolved.
    fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url}: only http and https URLs can be fetched"));
        }
        let host = url
            .host()
            .ok_or_else(|| format!("{url} has no host to connect to"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        self.options.policy.check_target(&host, port)
    }
}

/// Reads the next data of `body`: `None` at its end. Trailers are skipped.
pub(crate) async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>, String> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
            Some(Err(error)) => return Err(format!("the body broke off: {}", error_chain(&error))),
        }
    }
}

fn is_content_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "content-type"
            | "content-length"
            | "content-encoding"
            | "content-language"
            | "content-location"
    )
}

fn is_credential_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization" | "cookie" | "proxy-authorization"
    )
}

/// Why a request failed, in words: the policy's refusal when the resolver refused.
fn describe_failure(url: &Url, error: &hyper_util::client::legacy::Error) -> String {
    let chain = error_chain(error);
    match chain.find(resolver::REFUSED) {
        Some(at) => chain[at + resolver::REFUSED.len()..]
            .trim_start_matches(": ")
            .to_owned(),
        None => format!("cannot reach {url}: {chain}"),
    }
}

/// An error and its causes, joined.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
