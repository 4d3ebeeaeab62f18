//! The authorization endpoint: checks the client's request, sends a browser without a
//! session to sign in first, asks the signed-in user to consent, and answers the client's
//! redirect URI with a code (or `access_denied`), `state` and `iss`.
//!
//! Problems with the client or its redirect URI are shown to the user, never redirected
//! (the URI is not trusted yet); the others go back to the client as OAuth errors. Consent is
//! a same-origin POST: the identity step treats a cross-site one as anonymous.

use ferry_core::{Body, Request, Response};
use ferry_store::{AuthorizationCode, OAuthClient};
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, X_FRAME_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};

use super::{CODE_LIFETIME, SCOPE};
use crate::auth::{Auth, unix_now};
use crate::identity::Identity;
use crate::pages::{self, escape};
use crate::secret::{random_token, sha256};

/// The largest consent form read.
const FORM_LIMIT: usize = 16 * 1024;

/// The parameters of an authorization request, from the query (GET) or the consent form
/// (POST).
#[derive(Debug, Default)]
struct Params {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    decision: Option<String>,
}

impl Params {
    fn parse(encoded: &[u8]) -> Params {
        let mut params = Params::default();
        for (key, value) in form_urlencoded::parse(encoded) {
            let slot = match key.as_ref() {
                "response_type" => &mut params.response_type,
                "client_id" => &mut params.client_id,
                "redirect_uri" => &mut params.redirect_uri,
                "code_challenge" => &mut params.code_challenge,
                "code_challenge_method" => &mut params.code_challenge_method,
                "state" => &mut params.state,
                "resource" => &mut params.resource,
                "scope" => &mut params.scope,
                "decision" => &mut params.decision,
                _ => continue,
            };
            // A repeated parameter is an error in OAuth; the first is kept and the request
            // checked as sent.
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }

    /// The request's parameters again, as hidden fields of the consent form.
    fn hidden_fields(&self) -> String {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("state", &self.state),
            ("resource", &self.resource),
            ("scope", &self.scope),
        ]
        .iter()
        .filter_map(|(name, value)| {
            value.as_ref().map(|value| {
                format!(
                    "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                    escape(value)
                )
            })
        })
        .collect()
    }
}

/// Where a checked request's answer goes.
struct Checked {
    client: OAuthClient,
    redirect_uri: String,
    challenge: String,
    resource: String,
}

impl Auth {
    /// GET shows the consent page (after sign-in); POST records the user's decision.
    pub(super) async fn authorize(self, request: Request) -> Response {
        let is_post = request.method() == Method::POST;
        let identity = request.extensions().get::<Identity>().cloned();
        let here = request
            .uri()
            .path_and_query()
            .map_or_else(String::new, |path| path.as_str().to_owned());
        let issuer = self.issuer(&request);
        let resource_url = self.resource_url(&request).unwrap_or_default();
        let params = if is_post {
            match request.into_body().to_bytes(FORM_LIMIT).await {
                Ok(body) => Params::parse(&body),
                Err(_) => {
                    return page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &pages::problem("the form is too large"),
                    );
                }
            }
        } else {
            Params::parse(request.uri().query().unwrap_or_default().as_bytes())
        };
        let checked = match self.check(&params, &resource_url).await {
            Ok(checked) => checked,
            Err(Refused::Page(status, problem)) => {
                return page(status, &pages::problem(problem));
            }
            Err(Refused::Back {
                redirect_uri,
                error,
            }) => return redirect_back(&redirect_uri, &[("error", error)], &params, &issuer),
        };
        // A browser session only: tokens act for programs, which do not consent.
        let user = match identity {
            Some(identity) if identity.credential().is_session() => identity,
            _ if is_post => {
                return page(
                    StatusCode::FORBIDDEN,
                    &pages::problem("consent must come from this site's own page, signed in"),
                );
            }
            _ => return crate::redirect::to_sign_in(&here),
        };
        if !is_post {
            return consent_page(&checked.client, &params, &user);
        }
        if params.decision.as_deref() != Some("allow") {
            tracing::info!(user = %user.user().id, client = %checked.client.id, "MCP client refused");
            return redirect_back(
                &checked.redirect_uri,
                &[("error", "access_denied")],
                &params,
                &issuer,
            );
        }
        let code = random_token();
        let record = AuthorizationCode {
            client_id: checked.client.id.clone(),
            user_id: user.user().id.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            challenge: checked.challenge,
            resource: checked.resource,
            scope: SCOPE.to_owned(),
            created: unix_now(),
        };
        let hash = sha256(code.as_bytes());
        let expired_before = record.created - CODE_LIFETIME;
        if let Err(error) = self
            .with_store(move |store| store.save_code(&hash, &record, expired_before))
            .await
        {
            tracing::error!(%error, "cannot store an authorization code");
            return redirect_back(
                &checked.redirect_uri,
                &[("error", "server_error")],
                &params,
                &issuer,
            );
        }
        tracing::info!(
            user = %user.user().id,
            client = %checked.client.id,
            name = %checked.client.name,
            "MCP client authorized"
        );
        redirect_back(&checked.redirect_uri, &[("code", &code)], &params, &issuer)
    }

    /// The client and redirect URI, then the rest of the request.
    async fn check(&self, params: &Params, resource_url: &str) -> Result<Checked, Refused> {
        let Some(client_id) = params.client_id.clone() else {
            return Err(Refused::Page(
                StatusCode::BAD_REQUEST,
                "the request names no client_id",
            ));
        };
        let client = match self
            .with_store(move |store| store.oauth_client(&client_id))
            .await
        {
            Ok(Some(client)) => client,
            Ok(None) => {
                return Err(Refused::Page(
                    StatusCode::BAD_REQUEST,
                    "this application is not registered here; ask it to register again",
                ));
            }
            Err(error) => {
                tracing::error!(%error, "cannot read an OAuth client");
                return Err(Refused::Page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the client store failed",
                ));
            }
        };
        let redirect_uri = match &params.redirect_uri {
            Some(uri)
                if client
                    .redirect_uris
                    .iter()
                    .any(|registered| registered == uri) =>
            {
                uri.clone()
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            _ => {
                return Err(Refused::Page(
                    StatusCode::BAD_REQUEST,
                    "the redirect URI is not one this application registered",
                ));
            }
        };
        let back = |error| Refused::Back {
            redirect_uri: redirect_uri.clone(),
            error,
        };
        if params.response_type.as_deref() != Some("code") {
            return Err(back("unsupported_response_type"));
        }
        let challenge = match (
            &params.code_challenge,
            params.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if is_challenge(challenge) => challenge.clone(),
            _ => return Err(back("invalid_request")),
        };
        let resource = match params.resource.as_deref() {
            None => resource_url.to_owned(),
            Some(resource) if same_resource(resource, resource_url) => resource_url.to_owned(),
            Some(_) => return Err(back("invalid_target")),
        };
        Ok(Checked {
            client,
            redirect_uri,
            challenge,
            resource,
        })
    }
}

/// Why an authorization request is refused: shown to the user (the client or its redirect
/// URI cannot be trusted), or sent back to the client as an OAuth error.
enum Refused {
    Page(StatusCode, &'static str),
    Back {
        redirect_uri: String,
        error: &'static str,
    },
}

/// Reads `encoded` as an authorization request and echoes it into a consent form (for the
/// fuzz targets): the form's fields never break out of their attributes.
pub(super) fn fuzzing(encoded: &[u8]) -> bool {
    let params = Params::parse(encoded);
    let fields = params.hidden_fields();
    assert_eq!(
        fields.matches('<').count(),
        fields.matches("<input").count(),
        "an echoed value opened a tag"
    );
    params.code_challenge.as_deref().is_some_and(is_challenge)
}

/// Whether `challenge` is a S256 code challenge: 43 base64url characters.
fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether the resource a client names is `ours` (a trailing slash aside).
pub(super) fn same_resource(named: &str, ours: &str) -> bool {
    !ours.is_empty() && named.trim_end_matches('/') == ours.trim_end_matches('/')
}

/// The client's redirect URI with `fields`, the request's `state` and the issuer (RFC 9207).
fn redirect_back(uri: &str, fields: &[(&str, &str)], params: &Params, issuer: &str) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        query.append_pair(name, value);
    }
    if let Some(state) = &params.state {
        query.append_pair("state", state);
    }
    query.append_pair("iss", issuer);
    let separator = if uri.contains('?') { '&' } else { '?' };
    let target = format!("{uri}{separator}{}", query.finish());
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    match HeaderValue::from_str(&target) {
        Ok(location) => {
            response.headers_mut().insert(LOCATION, location);
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => page(
            StatusCode::BAD_REQUEST,
            &pages::problem("the redirect URI cannot be used"),
        ),
    }
}

/// The consent page: who asks, for whom, and the two buttons.
fn consent_page(client: &OAuthClient, params: &Params, user: &Identity) -> Response {
    let who = user
        .user()
        .email
        .clone()
        .or_else(|| user.user().name.clone())
        .unwrap_or_else(|| user.user().id.clone());
    let target = params
        .redirect_uri
        .as_deref()
        .unwrap_or_else(|| client.redirect_uris.first().map_or("", String::as_str));
    let body = format!(
        "<h1>Allow {name}?</h1>\
<p><strong>{name}</strong> asks to use this site's MCP tools, resources and prompts as <strong>{who}</strong>, \
with your role. It will be sent back to <code>{target}</code>.</p>\
<form method=\"post\" action=\"{action}\">{fields}\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        name = escape(&client.name),
        who = escape(&who),
        target = escape(target),
        action = super::AUTHORIZE_PATH,
        fields = params.hidden_fields(),
    );
    page(StatusCode::OK, &pages::page("Allow access", &body))
}

/// An HTML page no other site may frame (consent must not be clickjacked), never cached.
fn page(status: StatusCode, html: &str) -> Response {
    let mut response = Response::new(Body::from(html.to_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_keep_the_first_value_and_come_back_escaped() {
        let params = Params::parse(b"client_id=a&client_id=b&state=%22%3E%3Cx&decision=allow");
        assert_eq!(params.client_id.as_deref(), Some("a"));
        let fields = params.hidden_fields();
        assert!(fields.contains("&quot;&gt;&lt;x"), "{fields}");
        assert!(!fields.contains("decision"));
    }

    #[test]
    fn challenges_and_resources_are_checked_as_sent() {
        assert!(is_challenge(&"a".repeat(43)));
        assert!(!is_challenge(&"a".repeat(42)));
        assert!(!is_challenge(&format!("{}=", "a".repeat(42))));
        assert!(same_resource("http://h/mcp/", "http://h/mcp"));
        assert!(!same_resource("http://h/other", "http://h/mcp"));
        assert!(!same_resource("http://h/mcp", ""));
    }

    #[test]
    fn the_answer_keeps_the_redirect_uris_own_query() {
        let params = Params::parse(b"state=s%201");
        let response = redirect_back(
            "https://c.example/cb?x=1",
            &[("code", "abc")],
            &params,
            "https://h/",
        );
        assert_eq!(
            response.headers()[LOCATION],
            "https://c.example/cb?x=1&code=abc&state=s+1&iss=https%3A%2F%2Fh%2F"
        );
    }
}
