//! Dynamic client registration (RFC 7591): an MCP client registers its redirect URIs and
//! gets a client id — and a secret, unless it registers as a public client
//! (`token_endpoint_auth_method: "none"`).

use ferry_core::{Request, Response};
use ferry_store::OAuthClient;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::{SCOPE, json_answer, oauth_error};
use crate::auth::{Auth, unix_now};
use crate::secret::{random_token, sha256};

/// The largest registration read.
const BODY_LIMIT: usize = 64 * 1024;
/// Most redirect URIs one client may register.
const MAX_REDIRECT_URIS: usize = 10;
/// The longest client name kept.
const MAX_NAME: usize = 200;
/// The longest redirect URI accepted.
const MAX_URI: usize = 2048;

/// The ways a client may authenticate at the token endpoint.
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_post", "client_secret_basic"];

impl Auth {
    /// Registers the client the JSON body describes.
    pub(super) async fn register_client(self, request: Request) -> Response {
        let body = match request.into_body().to_bytes(BODY_LIMIT).await {
            Ok(body) => body,
            Err(_) => {
                return oauth_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_client_metadata",
                    "the registration is too large",
                );
            }
        };
        let metadata = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(metadata)) => metadata,
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client_metadata",
                    "send the client's metadata as a JSON object",
                );
            }
        };
        let registration = match Registration::read(&metadata) {
            Ok(registration) => registration,
            Err((error, description)) => {
                return oauth_error(StatusCode::BAD_REQUEST, error, &description);
            }
        };
        let secret = (registration.auth_method != "none").then(random_token);
        let client = OAuthClient {
            id: random_token(),
            secret_hash: secret
                .as_deref()
                .map(|secret| sha256(secret.as_bytes()).to_vec()),
            name: registration.name.clone(),
            redirect_uris: registration.redirect_uris.clone(),
            created: unix_now(),
        };
        let stored = client.clone();
        if let Err(error) = self
            .with_store(move |store| store.register_client(&stored))
            .await
        {
            let (status, code, description) = super::store_trouble(
                &error,
                "cannot register an OAuth client",
                "the client could not be stored",
            );
            return oauth_error(status, code, &description);
        }
        tracing::info!(client = %client.id, name = %client.name, "an MCP client registered");
        let mut answer = json!({
            "client_id": client.id,
            "client_id_issued_at": client.created,
            "client_name": client.name,
            "redirect_uris": client.redirect_uris,
            "grant_types": registration.grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": registration.auth_method,
            "scope": SCOPE,
        });
        if let Some(secret) = secret {
            answer["client_secret"] = json!(secret);
            answer["client_secret_expires_at"] = json!(0);
        }
        json_answer(StatusCode::CREATED, &answer)
    }
}

/// What a registration asks for, checked.
struct Registration {
    redirect_uris: Vec<String>,
    name: String,
    auth_method: String,
    grant_types: Vec<String>,
}

impl Registration {
    /// The registration `metadata` describes, or the OAuth error code and why.
    fn read(metadata: &Map<String, Value>) -> Result<Registration, (&'static str, String)> {
        let invalid = |description: String| ("invalid_client_metadata", description);
        let uris = match metadata.get("redirect_uris") {
            Some(Value::Array(uris)) if !uris.is_empty() && uris.len() <= MAX_REDIRECT_URIS => uris,
            _ => {
                return Err((
                    "invalid_redirect_uri",
                    format!("redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs"),
                ));
            }
        };
        let mut redirect_uris = Vec::with_capacity(uris.len());
        for uri in uris {
            let Some(uri) = uri.as_str() else {
                return Err(("invalid_redirect_uri", "a redirect URI is a string".into()));
            };
            if let Err(problem) = check_redirect_uri(uri) {
                return Err(("invalid_redirect_uri", format!("{uri:?}: {problem}")));
            }
            redirect_uris.push(uri.to_owned());
        }
        let auth_method = match metadata.get("token_endpoint_auth_method") {
            None | Some(Value::Null) => "client_secret_basic".to_owned(),
            Some(Value::String(method)) if AUTH_METHODS.contains(&method.as_str()) => {
                method.clone()
            }
            Some(other) => {
                return Err(invalid(format!(
                    "token_endpoint_auth_method {other} is not one of {AUTH_METHODS:?}"
                )));
            }
        };
        let grant_types = match metadata.get("grant_types") {
            None | Some(Value::Null) => vec!["authorization_code".to_owned()],
            Some(Value::Array(types)) => {
                let mut grant_types = Vec::new();
                for grant in types {
                    match grant.as_str() {
                        Some(grant @ ("authorization_code" | "refresh_token")) => {
                            grant_types.push(grant.to_owned());
                        }
                        _ => {
                            return Err(invalid(format!(
                                "grant type {grant} is not offered: use authorization_code and refresh_token"
                            )));
                        }
                    }
                }
                grant_types
            }
            Some(_) => return Err(invalid("grant_types is a list".into())),
        };
        if let Some(types) = metadata.get("response_types")
            && *types != json!(["code"])
            && !types.is_null()
        {
            return Err(invalid("response_types must be [\"code\"]".into()));
        }
        let name = match metadata.get("client_name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME)
                .collect(),
            _ => "An MCP client".to_owned(),
        };
        Ok(Registration {
            redirect_uris,
            name,
            auth_method,
            grant_types,
        })
    }
}

/// Reads `bytes` as a registration, as the endpoint does (for the fuzz targets).
pub(super) fn fuzzing(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(metadata)) => Registration::read(&metadata).is_ok(),
        _ => false,
    }
}

/// Whether `uri` may receive authorization codes: an `https` URL; an `http` URL on this
/// machine's loopback (a native client's local listener); or a native app's own scheme.
/// Never with a fragment, user info or whitespace.
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > MAX_URI {
        return Err("too long");
    }
    if uri.contains(|c: char| c.is_whitespace() || c.is_control()) || uri.contains('#') {
        return Err("no whitespace or fragment");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("not an absolute URI");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err("not an absolute URI");
    }
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "https" | "http" => {
            let Some(after) = rest.strip_prefix("//") else {
                return Err("an http(s) URI needs a host");
            };
            let authority = after.split(['/', '?']).next().unwrap_or_default();
            if authority.is_empty() || authority.contains('@') {
                return Err("an http(s) URI needs a host and no user info");
            }
            let host = if let Some(bracketed) = authority.strip_prefix('[') {
                bracketed.split(']').next().unwrap_or_default()
            } else {
                authority.split(':').next().unwrap_or_default()
            };
            if scheme == "http"
                && !matches!(
                    host.to_ascii_lowercase().as_str(),
                    "localhost" | "127.0.0.1" | "::1"
                )
            {
                return Err("plain http is for this machine's loopback only; use https");
            }
            Ok(())
        }
        "javascript" | "data" | "vbscript" | "file" | "about" | "blob" | "ftp" => {
            Err("not a redirect URI scheme")
        }
        _ if rest.is_empty() => Err("not an absolute URI"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_http_or_app_schemes() {
        for good in [
            "https://client.example/callback",
            "http://127.0.0.1:33418/cb",
            "http://localhost:6274/oauth/callback",
            "http://[::1]:8080/",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "http://client.example/cb",
            "https://client.example/cb#x",
            "https://user@client.example/cb",
            "javascript:alert(1)",
            "DATA:text/html,x",
            "/relative",
            "https:///nohost",
            "https://a.example/ cb",
            "http://127.0.0.1.evil.example/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registrations_default_to_a_confidential_code_client_and_refuse_the_unknown() {
        let metadata = |value: Value| value.as_object().cloned().unwrap();
        let plain = Registration::read(&metadata(json!({
            "redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "Tool\u{7}"
        })))
        .unwrap();
        assert_eq!(plain.auth_method, "client_secret_basic");
        assert_eq!(plain.grant_types, ["authorization_code"]);
        assert_eq!(plain.name, "Tool");
        assert!(Registration::read(&metadata(json!({ "redirect_uris": [] }))).is_err());
        assert!(
            Registration::read(&metadata(json!({
                "redirect_uris": ["http://127.0.0.1:9/cb"], "grant_types": ["password"]
            })))
            .is_err()
        );
        assert!(
            Registration::read(&metadata(json!({
                "redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "private_key_jwt"
            })))
            .is_err()
        );
    }
}
