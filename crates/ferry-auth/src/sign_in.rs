//! The authorization code flow (OpenID Connect Core §3.1) with PKCE, `state` and `nonce`:
//! the URL a browser is sent to, and what the provider's answer must satisfy before an
//! account is believed.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::{ClientError, ProviderClient};
use crate::id_token::{Expectations, SignedToken, TokenError};
use crate::provider::{ClientSecret, DiscoveryError, Provider, ResponseMode};
use crate::secret::pkce_challenge;
use ferry_store::PendingSignIn;

/// Why a sign-in did not complete. Each says what the user can do; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No provider of that name is configured.
    #[error("there is no sign-in provider named {0:?}")]
    UnknownProvider(String),
    /// The provider said no (the user declined, or the provider refused the client).
    #[error("the provider did not sign you in: {0}")]
    Refused(String),
    /// The answer names no pending sign-in: expired, used already, or forged.
    #[error("this sign-in has expired or was already used; start again")]
    UnknownState,
    /// The answer came back to another provider's callback than the one it started with.
    #[error("the answer came back for another provider; start again")]
    WrongProvider,
    /// RFC 9207: the answer's `iss` is not the provider's (a mix-up attack), or is missing
    /// although the provider promises to send it.
    #[error("the answer does not come from the provider this sign-in was sent to")]
    WrongIssuer,
    /// The answer has no code.
    #[error("the provider's answer carries no authorization code")]
    NoCode,
    /// The provider would not exchange the code (used already, expired, or not this
    /// sign-in's), with its reason.
    #[error("the provider refused the sign-in code{0}; start again")]
    CodeRefused(String),
    /// The provider could not be asked, or answered nonsense.
    #[error("cannot talk to the provider: {0}")]
    Provider(String),
    /// The ID token failed a check (which one, in words).
    #[error("the provider's ID token was refused: {0}")]
    Token(String),
    /// The user information is not about the user of the ID token.
    #[error("the provider's user information is about another user")]
    UserInfoSubject,
    /// The development sign-in is off, or the request did not come from this machine.
    #[error("the development sign-in is only open on loopback with --dev")]
    DevelopmentOnly,
    /// The store failed.
    #[error("cannot record the sign-in: {0}")]
    Store(String),
    /// The store cannot be reached now.
    #[error(
        "sign-in is unavailable for a moment: its database cannot be reached; try again shortly"
    )]
    Unavailable,
}

impl SignInError {
    /// The status the sign-in's answer carries.
    pub fn status(&self) -> StatusCode {
        match self {
            SignInError::UnknownProvider(_) => StatusCode::NOT_FOUND,
            SignInError::Refused(_) | SignInError::DevelopmentOnly => StatusCode::FORBIDDEN,
            SignInError::UnknownState
            | SignInError::WrongProvider
            | SignInError::WrongIssuer
            | SignInError::NoCode
            | SignInError::CodeRefused(_) => StatusCode::BAD_REQUEST,
            SignInError::Token(_) | SignInError::UserInfoSubject => StatusCode::UNAUTHORIZED,
            SignInError::Provider(_) => StatusCode::BAD_GATEWAY,
            SignInError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            SignInError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<ferry_store::StoreError> for SignInError {
    fn from(error: ferry_store::StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "sign-in: the store is unreachable");
            SignInError::Unavailable
        } else {
            SignInError::Store(error.to_string())
        }
    }
}

impl From<DiscoveryError> for SignInError {
    fn from(error: DiscoveryError) -> Self {
        SignInError::Provider(error.to_string())
    }
}

impl From<TokenError> for SignInError {
    fn from(error: TokenError) -> Self {
        SignInError::Token(error.to_string())
    }
}

impl From<ClientError> for SignInError {
    fn from(error: ClientError) -> Self {
        SignInError::Provider(error.to_string())
    }
}

/// The URL that starts `pending` at `provider`.
pub(crate) async fn authorization_url(
    provider: &Provider,
    client: &ProviderClient,
    pending: &PendingSignIn,
) -> Result<String, SignInError> {
    let metadata = provider.metadata(client).await?;
    let settings = &provider.settings;
    let scope = settings.scopes.join(" ");
    let challenge = pkce_challenge(&pending.verifier);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", &pending.callback)
        .append_pair("scope", &scope)
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if settings.response_mode == ResponseMode::FormPost {
        query.append_pair("response_mode", "form_post");
    }
    let separator = if metadata.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!(
        "{}{separator}{}",
        metadata.authorization_endpoint,
        query.finish()
    ))
}

/// What a provider sends back to the callback, in the query or a POSTed form.
#[derive(Debug, Default, Clone)]
pub struct CallbackParams {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// Reads the parameters from a query string or form body (the first of each wins).
    pub fn parse(encoded: &[u8]) -> CallbackParams {
        let mut params = CallbackParams::default();
        for (name, value) in form_urlencoded::parse(encoded) {
            let slot = match name.as_ref() {
                "code" => &mut params.code,
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        params
    }

    /// The provider's refusal, if it sent one, as words for the user.
    pub(crate) fn refusal(&self) -> Option<String> {
        let error = self.error.as_deref()?;
        let clean =
            |text: &str| -> String { text.chars().filter(|c| !c.is_control()).take(200).collect() };
        Some(match &self.error_description {
            Some(description) => format!("{} ({})", clean(error), clean(description)),
            None => clean(error),
        })
    }
}

/// An account the provider vouched for.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedAccount {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    access_token: Option<String>,
}

/// Checks the answer to `pending` and redeems its code: token request, ID token checks,
/// user information. `now` is in seconds since the Unix epoch.
pub(crate) async fn redeem(
    provider: &Provider,
    client: &ProviderClient,
    pending: &PendingSignIn,
    params: &CallbackParams,
    now: i64,
) -> Result<VerifiedAccount, SignInError> {
    let metadata = provider.metadata(client).await?;
    match &params.iss {
        Some(iss) if *iss != metadata.issuer => return Err(SignInError::WrongIssuer),
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(SignInError::WrongIssuer);
        }
        _ => {}
    }
    let code = params.code.as_deref().ok_or(SignInError::NoCode)?;
    let settings = &provider.settings;
    let secret = match &settings.client_secret {
        ClientSecret::Shared(secret) => secret.clone(),
        ClientSecret::Apple(key) => key
            .client_secret(&settings.client_id, now)
            .map_err(|error| SignInError::Provider(error.to_string()))?,
    };
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", pending.callback.as_str()),
        ("code_verifier", pending.verifier.as_str()),
    ];
    let basic = metadata.uses_basic_auth();
    if !basic {
        form.push(("client_id", settings.client_id.as_str()));
        form.push(("client_secret", secret.as_str()));
    }
    let answer: TokenAnswer = client
        .post_form(
            &metadata.token_endpoint,
            &form,
            basic.then_some((settings.client_id.as_str(), secret.as_str())),
        )
        .await
        .map_err(|error| match error {
            ClientError::Status { status, detail, .. } if status.is_client_error() => {
                SignInError::CodeRefused(detail)
            }
            other => other.into(),
        })?;
    let id_token = answer
        .id_token
        .ok_or_else(|| SignInError::Provider("the token answer has no id_token".into()))?;
    let issuer = metadata.expected_issuer();
    let expect = Expectations {
        issuer: &issuer,
        client_id: &settings.client_id,
        nonce: &pending.nonce,
        now,
    };
    let keys = provider.keys(client, &metadata, false).await?;
    let mut claims = match SignedToken::parse(&id_token)?.verify(&keys, &expect) {
        Err(error) if error.may_be_new_key() => {
            let keys = provider.keys(client, &metadata, true).await?;
            SignedToken::parse(&id_token)?.verify(&keys, &expect)?
        }
        result => result?,
    };
    if let (Some(endpoint), Some(access_token)) =
        (&metadata.userinfo_endpoint, &answer.access_token)
    {
        let info: Map<String, Value> = client.get_json(endpoint, Some(access_token)).await?;
        merge_user_info(&mut claims, info)?;
    }
    Ok(account_of(&claims))
}

/// Adds the claims of the userinfo answer the ID token lacks (OpenID Connect Core §5.3.2:
/// its `sub` must be the ID token's).
fn merge_user_info(
    claims: &mut Map<String, Value>,
    info: Map<String, Value>,
) -> Result<(), SignInError> {
    if info.get("sub") != claims.get("sub") {
        return Err(SignInError::UserInfoSubject);
    }
    for (name, value) in info {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

fn account_of(claims: &Map<String, Value>) -> VerifiedAccount {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    // Apple sends `"true"` as a string.
    let email_verified = matches!(claims.get("email_verified"), Some(Value::Bool(true)))
        || claims.get("email_verified").and_then(Value::as_str) == Some("true");
    let name = text("name").or_else(|| {
        let parts: Vec<String> = ["given_name", "family_name"]
            .iter()
            .filter_map(|name| text(name))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    VerifiedAccount {
        subject: text("sub").unwrap_or_default(),
        email: text("email").map(|email| email.to_ascii_lowercase()),
        email_verified,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn userinfo_adds_claims_but_must_be_about_the_same_user() {
        let mut claims = map(json!({ "sub": "alice", "name": "From the token" }));
        merge_user_info(
            &mut claims,
            map(json!({ "sub": "alice", "name": "Other", "email": "A@Example.com", "email_verified": true })),
        )
        .unwrap();
        let account = account_of(&claims);
        assert_eq!(account.name.as_deref(), Some("From the token"));
        assert_eq!(account.email.as_deref(), Some("a@example.com"));
        assert!(account.email_verified);
        assert!(matches!(
            merge_user_info(&mut claims, map(json!({ "sub": "mallory" }))),
            Err(SignInError::UserInfoSubject)
        ));
    }

    #[test]
    fn email_is_verified_only_when_the_provider_says_so() {
        let unverified = account_of(&map(json!({ "sub": "a", "email": "a@x.org" })));
        assert!(!unverified.email_verified);
        let apple = account_of(&map(
            json!({ "sub": "a", "email": "a@x.org", "email_verified": "true" }),
        ));
        assert!(apple.email_verified);
        let named = account_of(&map(
            json!({ "sub": "a", "given_name": "Ada", "family_name": "L" }),
        ));
        assert_eq!(named.name.as_deref(), Some("Ada L"));
    }

    #[test]
    fn callback_parameters_keep_the_first_of_each() {
        let params = CallbackParams::parse(b"code=c1&state=s&code=c2&iss=https%3A%2F%2Fid&x=y");
        assert_eq!(params.code.as_deref(), Some("c1"));
        assert_eq!(params.iss.as_deref(), Some("https://id"));
        let refused = CallbackParams::parse(b"error=access_denied&error_description=no%0Athanks");
        assert_eq!(
            refused.refusal().as_deref(),
            Some("access_denied (nothanks)")
        );
    }
}
