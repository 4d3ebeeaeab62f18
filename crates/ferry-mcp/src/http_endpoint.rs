//! `/mcp` over Streamable HTTP: rmcp's tower service behind Ferry's bearer-token check,
//! with `Host` and `Origin` validation configured from [`McpOptions`](crate::McpOptions).

use std::convert::Infallible;
use std::sync::Arc;

use ferry_core::bearer::{self, BearerToken};
use ferry_core::{Body, BoxFuture, Handler, IntoResponse, Request, Response};
use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tower::Service;

use crate::server::Server;
use crate::{Mcp, McpGate};

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
    token: Option<BearerToken>,
    gate: Option<McpGate>,
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
        let token = options.token.as_deref().map(BearerToken::new);
        let gate = options.gate.clone();
        let factory = move || Ok(Server { mcp: mcp.clone() });
        McpHandler {
            service: StreamableHttpService::new(
                factory,
                Arc::new(LocalSessionManager::default()),
                config,
            ),
            token,
            gate,
        }
    }

    /// Whether `request` may use the endpoint: the static token's holder, a request the
    /// gate admits, or anyone when neither is set.
    fn admits(&self, request: &Request) -> bool {
        if self
            .token
            .as_ref()
            .is_some_and(|token| token.admits(request))
        {
            return true;
        }
        match &self.gate {
            Some(gate) => gate.admits(request),
            None => self.token.is_none(),
        }
    }
}

impl Handler for McpHandler {
    fn call(&self, request: Request) -> BoxFuture<Response> {
        if !self.admits(&request) {
            let (challenge, text) = match &self.gate {
                Some(gate) => (
                    gate.challenge(&request),
                    "401 Unauthorized\n\nsign in: MCP clients find the authorization server through the resource metadata this challenge names\n",
                ),
                None => (
                    bearer::CHALLENGE,
                    "401 Unauthorized\n\nthis MCP endpoint needs Authorization: Bearer <token>\n",
                ),
            };
            let mut response = (StatusCode::UNAUTHORIZED, text).into_response();
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
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
