//! The well-known documents: where the MCP endpoint's authorization server is (RFC 9728),
//! and what that server offers (RFC 8414).

use ferry_core::{Request, Response};
use http::StatusCode;
use serde_json::json;

use super::{AUTHORIZE_PATH, REGISTER_PATH, SCOPE, TOKEN_PATH, json_answer, oauth_error};
use crate::auth::Auth;
use crate::routes::origin;

impl Auth {
    /// The protected resource's metadata: the MCP endpoint and its authorization server.
    pub(super) fn resource_metadata(&self, request: &Request) -> Response {
        let Some(resource) = self.resource_url(request) else {
            return oauth_error(StatusCode::NOT_FOUND, "not_found", "no MCP endpoint here");
        };
        json_answer(
            StatusCode::OK,
            &json!({
                "resource": resource,
                "authorization_servers": [self.issuer(request)],
                "bearer_methods_supported": ["header"],
                "scopes_supported": [SCOPE],
                "resource_name": "Ferry MCP",
            }),
        )
    }

    /// The authorization server's metadata.
    pub(super) fn server_metadata(&self, request: &Request) -> Response {
        let base = origin(self, request);
        json_answer(
            StatusCode::OK,
            &json!({
                "issuer": self.issuer(request),
                "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
                "token_endpoint": format!("{base}{TOKEN_PATH}"),
                "registration_endpoint": format!("{base}{REGISTER_PATH}"),
                "scopes_supported": [SCOPE],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported":
                    ["none", "client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": true,
            }),
        )
    }
}
