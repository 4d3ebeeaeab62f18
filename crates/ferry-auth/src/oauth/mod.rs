//! Ferry as the OAuth 2.1 authorization server of its own MCP endpoint, as MCP's
//! authorization specification asks of a remote server. An MCP client that gets 401 from
//! `/mcp` finds the protected-resource metadata (RFC 9728) named in the challenge, then
//! this server's metadata (RFC 8414); it registers itself (RFC 7591), sends its user's
//! browser to the authorization endpoint — where the user signs in with the site's own
//! providers and consents — and exchanges the code (PKCE S256 required) for an access token
//! bound to the MCP endpoint (RFC 8707 resource indicators) and a refresh token, rotated at
//! each use. Access tokens are good at the MCP endpoint only.
//!
//! - `metadata`: the two well-known documents.
//! - `registration`: dynamic client registration.
//! - `authorize`: the authorization endpoint and its consent page.
//! - `token`: the token endpoint.

mod authorize;
mod metadata;
mod registration;
mod token;

use ferry_core::{App, IntoResponse, Json, Request, Response};
use http::header::{ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, CACHE_CONTROL};
use http::{HeaderValue, Method, StatusCode};
use serde_json::json;

use crate::auth::Auth;
use crate::routes::origin;

/// The authorization endpoint (aiwebengine's path).
pub const AUTHORIZE_PATH: &str = "/auth/oauth2/authorize";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/auth/oauth2/token";
/// The dynamic client registration endpoint.
pub const REGISTER_PATH: &str = "/auth/oauth2/register";
/// The authorization server's metadata (RFC 8414).
pub const AUTHORIZATION_SERVER_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The protected resource's metadata (RFC 9728); also served with the resource's path
/// appended.
pub const PROTECTED_RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The one scope: using the MCP endpoint as the user.
const SCOPE: &str = "mcp";
/// How long an authorization code may wait for its exchange, in seconds.
const CODE_LIFETIME: i64 = 60;
/// How long an access token works, in seconds.
const ACCESS_LIFETIME: i64 = 3600;
/// How long a refresh token works, in seconds (each use gives a new one).
const REFRESH_LIFETIME: i64 = 30 * 86_400;

impl Auth {
    /// Adds the authorization server's routes to `app`, when there is an MCP endpoint.
    pub(crate) fn oauth_routes(&self, app: App) -> App {
        let Some(resource) = self.settings().mcp_resource.clone() else {
            return app;
        };
        let auth = self.clone();
        let route = move |call: fn(Auth, Request) -> ferry_core::BoxFuture<Response>| {
            let auth = auth.clone();
            move |request| call(auth.clone(), request)
        };
        let resource_metadata = format!("{PROTECTED_RESOURCE_METADATA_PATH}{resource}");
        let mut app = app
            .get(
                PROTECTED_RESOURCE_METADATA_PATH,
                route(|auth, request| Box::pin(async move { auth.resource_metadata(&request) })),
            )
            .get(
                &resource_metadata,
                route(|auth, request| Box::pin(async move { auth.resource_metadata(&request) })),
            )
            .get(
                AUTHORIZATION_SERVER_METADATA_PATH,
                route(|auth, request| Box::pin(async move { auth.server_metadata(&request) })),
            )
            .post(
                REGISTER_PATH,
                route(|auth, request| Box::pin(auth.register_client(request))),
            )
            .get(
                AUTHORIZE_PATH,
                route(|auth, request| Box::pin(auth.authorize(request))),
            )
            .post(
                AUTHORIZE_PATH,
                route(|auth, request| Box::pin(auth.authorize(request))),
            )
            .post(
                TOKEN_PATH,
                route(|auth, request| Box::pin(auth.token(request))),
            );
        // Browser-based clients (the MCP Inspector) call these from another origin.
        for path in [
            PROTECTED_RESOURCE_METADATA_PATH,
            resource_metadata.as_str(),
            AUTHORIZATION_SERVER_METADATA_PATH,
            REGISTER_PATH,
            TOKEN_PATH,
        ] {
            app = app.route(path, Method::OPTIONS, |_request| async { preflight() });
        }
        app
    }

    /// The authorization server's issuer: the site's origin, with the trailing slash URL
    /// parsers give a root URL (clients compare the RFC 9207 `iss` as a string).
    pub(crate) fn issuer(&self, request: &Request) -> String {
        format!("{}/", origin(self, request))
    }

    /// The MCP endpoint's URL, the resource every access token is bound to.
    pub(crate) fn resource_url(&self, request: &Request) -> Option<String> {
        let path = self.settings().mcp_resource.as_deref()?;
        Some(format!("{}{path}", origin(self, request)))
    }

    /// Whether `path` is the MCP endpoint's, where access tokens are good.
    pub(crate) fn is_mcp_resource(&self, path: &str) -> bool {
        self.settings()
            .mcp_resource
            .as_deref()
            .is_some_and(|resource| resource == path)
    }

    /// The `WWW-Authenticate` value of a 401 from the MCP endpoint: a bearer challenge
    /// naming the protected-resource metadata, where MCP clients start signing in.
    pub fn mcp_challenge(&self, request: &Request) -> HeaderValue {
        let path = self.settings().mcp_resource.as_deref().unwrap_or("");
        let url = format!(
            "{}{PROTECTED_RESOURCE_METADATA_PATH}{path}",
            origin(self, request)
        );
        HeaderValue::from_str(&format!(
            "Bearer resource_metadata=\"{url}\", scope=\"{SCOPE}\""
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// The answer to a CORS preflight of the endpoints clients call from other origins (none of
/// them reads cookies, so any origin may).
fn preflight() -> Response {
    let mut response = ferry_core::status_response(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    response
}

/// A JSON answer any origin may read, never cached.
fn json_answer(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An OAuth error answer (RFC 6749 §5.2): `error` and its description; a 503 says when
/// to try again.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json_answer(
        status,
        &json!({ "error": error, "error_description": description }),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

/// The OAuth error for a store that failed doing `what`: `temporarily_unavailable` (503)
/// when it cannot be reached, `server_error` (500, `description`) otherwise. Logged.
fn store_trouble(
    error: &ferry_store::StoreError,
    what: &str,
    description: &str,
) -> (StatusCode, &'static str, String) {
    if error.is_unavailable() {
        tracing::warn!(%error, "{what}: the store is unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the authorization server's database cannot be reached; try again shortly".to_owned(),
        );
    }
    tracing::error!(%error, "{what}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        description.to_owned(),
    )
}

/// The fuzz targets' entry: every parser of what clients send, on any input.
pub(crate) fn fuzzing(bytes: &[u8], text: &str) -> bool {
    let registered = registration::fuzzing(bytes);
    let requested = authorize::fuzzing(bytes);
    let uri = registration::check_redirect_uri(text).is_ok();
    let basic = token::fuzzing(text);
    registered || requested || uri || basic
}
