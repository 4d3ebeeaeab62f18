//! WebSocket (RFC 6455): the opening handshake checked and answered here, then the
//! connection handed to tungstenite, which does the framing (fragmentation, ping/pong, the
//! close handshake, UTF-8 validation of text, size limits).
//!
//! Over HTTP/1.1 a WebSocket opens with a `GET` and `Upgrade: websocket`; over HTTP/2 with
//! an extended `CONNECT` whose `:protocol` is `websocket` (RFC 8441), which Ferry's server
//! allows (it sends `SETTINGS_ENABLE_CONNECT_PROTOCOL`). Route both methods to the same
//! handler: [`App::websocket`](crate::App::websocket) does.
//!
//! ```no_run
//! use ferry_core::ws::{self, Message, WebSocketConfig};
//! use ferry_core::{App, IntoResponse, Request};
//! use futures_util::{SinkExt, StreamExt};
//!
//! let app = App::new().get("/echo", |mut request: Request| async move {
//!     match ws::upgrade(&mut request, WebSocketConfig::default(), &[]) {
//!         Ok((response, upgrade)) => {
//!             tokio::spawn(async move {
//!                 let Ok(mut socket) = upgrade.socket().await else { return };
//!                 while let Some(Ok(message)) = socket.next().await {
//!                     if message.is_text() || message.is_binary() {
//!                         let _ = socket.send(message).await;
//!                     }
//!                 }
//!             });
//!             response
//!         }
//!         Err(error) => error.into_response(),
//!     }
//! });
//! ```

use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

pub use tokio_tungstenite::tungstenite::Message;
pub use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
pub use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
pub use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
pub use tokio_tungstenite::tungstenite::{Error as WebSocketError, Utf8Bytes};

use crate::{Body, IntoResponse, Request, Response};

/// An open WebSocket: a `Stream` of incoming [`Message`]s and a `Sink` for outgoing ones.
pub type WebSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Why a request is not a WebSocket handshake Ferry can accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Not a GET with `Connection: upgrade` and `Upgrade: websocket`.
    #[error(
        "this URL speaks WebSocket: send a GET with Connection: Upgrade and Upgrade: websocket"
    )]
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("only WebSocket version 13 (RFC 6455) is supported")]
    Version,
    /// `Sec-WebSocket-Key` is missing or not 16 bytes in base64.
    #[error("Sec-WebSocket-Key must be 16 random bytes in base64")]
    Key,
    /// The connection cannot be taken over (the request did not come through a server).
    #[error("this connection cannot be upgraded")]
    NoUpgrade,
}

impl IntoResponse for HandshakeError {
    fn into_response(self) -> Response {
        let status = match self {
            HandshakeError::NotUpgrade => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::Version => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::Key | HandshakeError::NoUpgrade => StatusCode::BAD_REQUEST,
        };
        let text = format!(
            "{} {}\n\n{self}\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        );
        let mut response = (status, text).into_response();
        if status == StatusCode::UPGRADE_REQUIRED {
            let headers = response.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

/// The connection of an accepted handshake, available once the `101` response is sent.
pub struct Upgrade {
    on_upgrade: OnUpgrade,
    config: WebSocketConfig,
    protocol: Option<String>,
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl Upgrade {
    /// The subprotocol agreed on, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Waits for the server to hand the connection over, then speaks WebSocket on it.
    pub async fn socket(self) -> Result<WebSocket, hyper::Error> {
        let upgraded = self.on_upgrade.await?;
        Ok(WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(self.config),
        )
        .await)
    }
}

/// Checks that `request` opens a WebSocket and answers it: the response to send (`101
/// Switching Protocols` over HTTP/1.1, `200` for an HTTP/2 extended CONNECT), and the
/// [`Upgrade`] that yields the socket once it is sent. Of the subprotocols the client
/// offers (`Sec-WebSocket-Protocol`), the first that is in `protocols` is agreed on.
pub fn upgrade(
    request: &mut Request,
    config: WebSocketConfig,
    protocols: &[&str],
) -> Result<(Response, Upgrade), HandshakeError> {
    let over_http2 = is_extended_connect(request);
    let headers = request.headers();
    let upgrading = over_http2
        || (request.method() == Method::GET
            && has_token(headers, &CONNECTION, "upgrade")
            && has_token(headers, &UPGRADE, "websocket"));
    if !upgrading {
        return Err(HandshakeError::NotUpgrade);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version.as_bytes() != b"13")
    {
        return Err(HandshakeError::Version);
    }
    // HTTP/2 has no key: the stream itself is the proof (RFC 8441 section 5).
    let accept = if over_http2 {
        None
    } else {
        let key = headers
            .get(SEC_WEBSOCKET_KEY)
            .filter(|key| valid_key(key.as_bytes()))
            .ok_or(HandshakeError::Key)?;
        Some(derive_accept_key(key.as_bytes()))
    };
    let protocol = agree_protocol(headers, protocols);
    let on_upgrade = request
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(HandshakeError::NoUpgrade)?;
    let mut response = Response::new(Body::empty());
    if let Some(accept) = accept {
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let response_headers = response.headers_mut();
        response_headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        response_headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            response_headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
    }
    if let Some(value) = protocol
        .as_deref()
        .and_then(|protocol| HeaderValue::from_str(protocol).ok())
    {
        response.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
    }
    Ok((
        response,
        Upgrade {
            on_upgrade,
            config,
            protocol,
        },
    ))
}

/// An HTTP/2 extended CONNECT for a WebSocket (RFC 8441).
fn is_extended_connect(request: &Request) -> bool {
    request.method() == Method::CONNECT
        && request
            .extensions()
            .get::<hyper::ext::Protocol>()
            .is_some_and(|protocol| protocol.as_str().eq_ignore_ascii_case("websocket"))
}

/// The close code that tells the peer why reading its messages failed: 1009 for a message
/// over the size limit, 1007 for text that is not UTF-8, 1002 for other protocol errors.
pub fn close_code_for(error: &WebSocketError) -> CloseCode {
    match error {
        WebSocketError::Capacity(_) => CloseCode::Size,
        WebSocketError::Utf8(_) => CloseCode::Invalid,
        _ => CloseCode::Protocol,
    }
}

/// Whether `request` asks for a WebSocket (whatever else may be wrong with it).
pub fn is_upgrade(request: &Request) -> bool {
    has_token(request.headers(), &UPGRADE, "websocket") || is_extended_connect(request)
}

fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// A key is 16 bytes in base64: 24 characters ending in `==`.
fn valid_key(key: &[u8]) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|bytes| bytes.len() == 16)
}

fn agree_protocol(headers: &HeaderMap, supported: &[&str]) -> Option<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find(|offered| supported.contains(offered))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(headers: &[(&str, &str)]) -> Request {
        let mut request = Request::new(Body::empty());
        for (name, value) in headers {
            request.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        request
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-protocol", "chat, graphql-transport-ws"),
    ];

    #[test]
    fn bad_handshakes_get_the_answer_that_says_what_is_wrong() {
        let mut plain = handshake(&[]);
        let error = upgrade(&mut plain, WebSocketConfig::default(), &[]).unwrap_err();
        assert_eq!(error, HandshakeError::NotUpgrade);
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()[SEC_WEBSOCKET_VERSION], "13");

        let mut old = handshake(&[GOOD[0], GOOD[1], ("sec-websocket-version", "8"), GOOD[3]]);
        assert_eq!(
            upgrade(&mut old, WebSocketConfig::default(), &[]).unwrap_err(),
            HandshakeError::Version
        );
        let mut keyless = handshake(&[GOOD[0], GOOD[1], GOOD[2], ("sec-websocket-key", "short")]);
        assert_eq!(
            upgrade(&mut keyless, WebSocketConfig::default(), &[]).unwrap_err(),
            HandshakeError::Key
        );
        // Right in every header, but not from a server connection that can be taken over.
        let mut detached = handshake(GOOD);
        assert_eq!(
            upgrade(&mut detached, WebSocketConfig::default(), &[]).unwrap_err(),
            HandshakeError::NoUpgrade
        );
    }

    #[test]
    fn the_accept_key_and_protocol_follow_rfc_6455() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let request = handshake(GOOD);
        assert_eq!(
            agree_protocol(request.headers(), &["graphql-transport-ws"]).as_deref(),
            Some("graphql-transport-ws")
        );
        assert_eq!(agree_protocol(request.headers(), &["mqtt"]), None);
        assert!(is_upgrade(&request));
    }
}
