//! `/mcp` over Streamable HTTP: rmcp's tower service behind Ferry's bearer-token check,
//! with `Host` and `Origin` validation configured from [`McpOptions`](crate::McpOptions).

use std::convert::Infallible;
use std::sync::Arc;

use ferry_core::{Body, BoxFuture, Handler, IntoResponse, Request, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tower::Service;

use crate::Mcp;
use crate::server::Server;

/// Origins browsers on this machine use.
const LOCAL_ORIGINS: [&str; 4] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
];

/// Serves one [`Mcp`] server at its path.
#[derive(Clone)]
pub struct McpHandler {
    service: StreamableHttpService<Server, LocalSessionManager>,
    token: Option<Arc<str>>,
}

impl std::fmt::Debug for McpHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHandler")
            .field("token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl McpHandler {
    pub(crate) fn new(mcp: Mcp) -> Self {
        let options = &mcp.inner.options;
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        hosts.extend(options.allowed_hosts.iter().cloned());
        let mut origins: Vec<String> = LOCAL_ORIGINS.map(String::from).to_vec();
        origins.extend(options.allowed_origins.iter().cloned());
        let config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(hosts)
            .with_allowed_origins(origins)
            .enforce_origin_validation();
        let token = options.token.as_deref().map(Arc::from);
        let factory = move || Ok(Server { mcp: mcp.clone() });
        McpHandler {
            service: StreamableHttpService::new(
                factory,
                Arc::new(LocalSessionManager::default()),
                config,
            ),
            token,
        }
    }

    fn authorised(&self, request: &Request) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
    }
}

impl Handler for McpHandler {
    fn call(&self, request: Request) -> BoxFuture<Response> {
        if !self.authorised(&request) {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                "401 Unauthorized\n\nthis MCP endpoint needs Authorization: Bearer <token>\n",
            )
                .into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Box::pin(async move { response });
        }
        let mut service = self.service.clone();
        Box::pin(async move {
            let answer: Result<_, Infallible> = service.call(request).await;
            match answer {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            }
        })
    }
}
