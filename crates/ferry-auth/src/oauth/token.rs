//! The token endpoint: an authorization code (with its PKCE verifier) or a refresh token in,
//! an access token for the MCP endpoint and a new refresh token out. Refresh tokens are
//! rotated: each works once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ferry_core::{Request, Response};
use ferry_store::{OAuthClient, OAuthToken, OAuthTokenKind, Refresh};
use http::StatusCode;
use http::header::AUTHORIZATION;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::authorize::same_resource;
use super::{ACCESS_LIFETIME, CODE_LIFETIME, REFRESH_LIFETIME, SCOPE, json_answer, oauth_error};
use crate::auth::{Auth, unix_now};
use crate::credential::{ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};
use crate::secret::{pkce_challenge, random_token, same, sha256};

/// The largest token request read.
const FORM_LIMIT: usize = 16 * 1024;

/// Why a token request fails: the OAuth error and its description.
type Refusal = (StatusCode, &'static str, String);

fn invalid_grant(description: &str) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        description.to_owned(),
    )
}

impl Auth {
    /// Answers one token request.
    pub(super) async fn token(self, request: Request) -> Response {
        let basic = basic_credentials(&request);
        let resource_url = self.resource_url(&request).unwrap_or_default();
        let body = match request.into_body().to_bytes(FORM_LIMIT).await {
            Ok(body) => body,
            Err(_) => {
                return oauth_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    "the request is too large",
                );
            }
        };
        let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let field = |name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let answer = async {
            let client = self
                .authenticate_client(basic, field("client_id"), field("client_secret"))
                .await?;
            if let Some(resource) = field("resource")
                && !same_resource(resource, &resource_url)
            {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "the resource is not this server's MCP endpoint".to_owned(),
                ));
            }
            let grant = match field("grant_type") {
                Some("authorization_code") => {
                    let (user_id, resource) = self
                        .redeem_code(
                            &client,
                            field("code"),
                            field("redirect_uri"),
                            field("code_verifier"),
                        )
                        .await?;
                    // A new sign-in: a new family of tokens.
                    Grant {
                        user_id,
                        resource,
                        family: random_token(),
                    }
                }
                Some("refresh_token") => {
                    self.redeem_refresh(&client, field("refresh_token")).await?
                }
                _ => {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        "unsupported_grant_type",
                        "use authorization_code or refresh_token".to_owned(),
                    ));
                }
            };
            self.issue(&client, grant).await
        };
        match answer.await {
            Ok(tokens) => json_answer(StatusCode::OK, &tokens),
            Err((status, error, description)) => oauth_error(status, error, &description),
        }
    }

    /// The client the request authenticates as: its secret is checked when it has one.
    async fn authenticate_client(
        &self,
        basic: Option<(String, String)>,
        form_id: Option<&str>,
        form_secret: Option<&str>,
    ) -> Result<OAuthClient, Refusal> {
        let unknown = || {
            (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret".to_owned(),
            )
        };
        let (id, secret) = match (basic, form_id) {
            (Some((id, secret)), _) => (id, Some(secret)),
            (None, Some(id)) => (id.to_owned(), form_secret.map(str::to_owned)),
            (None, None) => return Err(unknown()),
        };
        let client = match self.with_store(move |store| store.oauth_client(&id)).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(unknown()),
            Err(error) => {
                return Err(super::store_trouble(
                    &error,
                    "cannot read an OAuth client",
                    "the client store failed",
                ));
            }
        };
        match (&client.secret_hash, secret) {
            (None, _) => Ok(client),
            (Some(stored), Some(secret))
                if bool::from(stored.ct_eq(&sha256(secret.as_bytes()))) =>
            {
                Ok(client)
            }
            (Some(_), _) => Err(unknown()),
        }
    }

    /// Exchanges a code: its user and resource, once.
    async fn redeem_code(
        &self,
        client: &OAuthClient,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<(String, String), Refusal> {
        let (Some(code), Some(verifier)) = (code, verifier) else {
            return Err((
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send code and code_verifier (PKCE is required)".to_owned(),
            ));
        };
        let hash = sha256(code.as_bytes());
        let taken = self
            .with_store(move |store| store.take_code(&hash))
            .await
            .map_err(|error| {
                super::store_trouble(
                    &error,
                    "cannot read an authorization code",
                    "the code store failed",
                )
            })?;
        let Some(granted) = taken else {
            return Err(invalid_grant("the code is unknown or was used already"));
        };
        if granted.client_id != client.id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if unix_now() - granted.created > CODE_LIFETIME {
            return Err(invalid_grant("the code expired"));
        }
        if redirect_uri.is_some_and(|uri| uri != granted.redirect_uri)
            || (redirect_uri.is_none() && client.redirect_uris.len() > 1)
        {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !well_formed || !same(&pkce_challenge(verifier), &granted.challenge) {
            return Err(invalid_grant(
                "the code_verifier does not match the code_challenge",
            ));
        }
        Ok((granted.user_id, granted.resource))
    }

    /// Exchanges a refresh token (which then stops working): its user, resource and family.
    /// One used before means a copy is out there: its family is revoked (by the store), and
    /// so are the identities this node remembers.
    async fn redeem_refresh(
        &self,
        client: &OAuthClient,
        token: Option<&str>,
    ) -> Result<Grant, Refusal> {
        let Some(secret) = token.and_then(|token| token.strip_prefix(REFRESH_TOKEN_PREFIX)) else {
            return Err(invalid_grant("send a refresh_token this server issued"));
        };
        let hash = sha256(secret.as_bytes());
        let taken = self
            .with_store(move |store| store.use_refresh_token(&hash))
            .await
            .map_err(|error| {
                super::store_trouble(
                    &error,
                    "cannot read a refresh token",
                    "the token store failed",
                )
            })?;
        match taken {
            Refresh::Fresh(token) if token.client_id == client.id && token.expires > unix_now() => {
                Ok(Grant {
                    user_id: token.user_id,
                    resource: token.resource,
                    family: token.family,
                })
            }
            Refresh::Fresh(_) => Err(invalid_grant(
                "the refresh token expired or belongs to another client",
            )),
            Refresh::Replayed { client_id, user_id } => {
                self.forget_remembered();
                tracing::warn!(
                    target: crate::AUDIT_TARGET,
                    client = %client_id,
                    user = %user_id,
                    "a used refresh token came back: every token of that sign-in is revoked"
                );
                Err(invalid_grant(
                    "the refresh token was used already; every token of that sign-in is revoked: sign in again",
                ))
            }
            Refresh::Unknown => Err(invalid_grant("the refresh token is unknown or revoked")),
        }
    }

    /// A new access token and refresh token for what `grant` says.
    async fn issue(
        &self,
        client: &OAuthClient,
        grant: Grant,
    ) -> Result<serde_json::Value, Refusal> {
        let Grant {
            user_id,
            resource,
            family,
        } = grant;
        let now = unix_now();
        let (access, refresh) = (random_token(), random_token());
        let record = |kind, lifetime| OAuthToken {
            kind,
            client_id: client.id.clone(),
            user_id: user_id.clone(),
            resource: resource.clone(),
            scope: SCOPE.to_owned(),
            family: family.clone(),
            created: now,
            expires: now + lifetime,
        };
        let access_record = record(OAuthTokenKind::Access, ACCESS_LIFETIME);
        let refresh_record = record(OAuthTokenKind::Refresh, REFRESH_LIFETIME);
        let (access_hash, refresh_hash) = (sha256(access.as_bytes()), sha256(refresh.as_bytes()));
        self.with_store(move |store| {
            store.save_oauth_token(&access_hash, &access_record, now)?;
            store.save_oauth_token(&refresh_hash, &refresh_record, now)
        })
        .await
        .map_err(|error| {
            super::store_trouble(
                &error,
                "cannot store OAuth tokens",
                "the token store failed",
            )
        })?;
        tracing::info!(user = %user_id, client = %client.id, "issued an MCP access token");
        Ok(json!({
            "access_token": format!("{ACCESS_TOKEN_PREFIX}{access}"),
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME,
            "refresh_token": format!("{REFRESH_TOKEN_PREFIX}{refresh}"),
            "scope": SCOPE,
        }))
    }
}

/// Reads `value` as an `Authorization` header's client credentials (for the fuzz targets).
pub(super) fn fuzzing(value: &str) -> bool {
    let Ok(request) = http::Request::post("/")
        .header(AUTHORIZATION, value)
        .body(ferry_core::Body::empty())
    else {
        return false;
    };
    basic_credentials(&request).is_some()
}

/// What a token request was granted: tokens for a user at a resource, in a family.
struct Grant {
    user_id: String,
    resource: String,
    family: String,
}

/// The client id and secret of an `Authorization: Basic` header (form-encoded inside, as
/// RFC 6749 §2.3.1 says).
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |text: &str| {
        percent_encoding::percent_decode_str(&text.replace('+', " "))
            .decode_utf8()
            .map(|text| text.into_owned())
            .ok()
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Body;

    #[test]
    fn basic_credentials_are_decoded_and_unescaped() {
        let encoded = STANDARD.encode("my%20client:s%3Acret");
        let request = http::Request::post("/")
            .header(AUTHORIZATION, format!("Basic {encoded}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            basic_credentials(&request),
            Some(("my client".into(), "s:cret".into()))
        );
        let bearer = http::Request::post("/")
            .header(AUTHORIZATION, "Bearer x")
            .body(Body::empty())
            .unwrap();
        assert_eq!(basic_credentials(&bearer), None);
    }
}
