//! OpenID Connect providers: what the configuration says of one ([`ProviderSettings`],
//! with presets for Google, Microsoft and Apple), and what Ferry learns from it at run time
//! (its discovery document and signing keys, cached; the keys fetched again when a token
//! names one we have not seen, at most every [`KEYS_REFETCH_INTERVAL`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::apple::AppleKey;
use crate::client::{ClientError, ProviderClient};
use crate::id_token::ExpectedIssuer;
use crate::keys::{Jwk, KeySet};

/// How long a discovery document is trusted before it is fetched again.
const METADATA_LIFETIME: Duration = Duration::from_secs(3600);
/// The least time between two fetches of a key set (an unknown `kid` triggers one; a flood
/// of forged tokens must not turn into a flood of requests to the provider).
pub const KEYS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How the client proves itself at the token endpoint.
#[derive(Clone)]
pub enum ClientSecret {
    /// A shared secret, as most providers issue.
    Shared(String),
    /// Apple's: a short-lived ES256 JWT signed with the team's private key.
    Apple(AppleKey),
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never printed: settings end up in logs and error messages.
        match self {
            ClientSecret::Shared(_) => f.write_str("Shared(<redacted>)"),
            ClientSecret::Apple(key) => write!(f, "Apple({key:?})"),
        }
    }
}

/// How the provider returns to Ferry after sign-in (`query` or `form_post` in a config
/// file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// A redirect with the code in the query string (the default).
    #[default]
    Query,
    /// A form POSTed by the browser (Apple, when it shares name or e-mail).
    FormPost,
}

/// One provider users may sign in with.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Its name in URLs (`/auth/login/NAME`) and on user records: letters, digits, `-`, `_`.
    pub name: String,
    /// What the sign-in page calls it.
    pub label: String,
    /// The issuer URL; its discovery document is at
    /// `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id the provider issued to this site.
    pub client_id: String,
    /// The client's secret.
    pub client_secret: ClientSecret,
    /// The scopes asked for. Default `openid email profile`.
    pub scopes: Vec<String>,
    /// How the provider answers. Default [`ResponseMode::Query`].
    pub response_mode: ResponseMode,
}

impl ProviderSettings {
    /// Any OpenID Connect provider, found by its issuer URL.
    pub fn generic(name: &str, issuer: &str, client_id: &str, client_secret: &str) -> Self {
        ProviderSettings {
            name: name.to_owned(),
            label: name.to_owned(),
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: ClientSecret::Shared(client_secret.to_owned()),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            response_mode: ResponseMode::Query,
        }
    }

    /// Google accounts.
    pub fn google(client_id: &str, client_secret: &str) -> Self {
        ProviderSettings {
            label: "Google".into(),
            ..ProviderSettings::generic(
                "google",
                "https://accounts.google.com",
                client_id,
                client_secret,
            )
        }
    }

    /// Microsoft accounts of `tenant`: a tenant id or domain for one organization, or
    /// `common`, `organizations` or `consumers` (whose tokens carry the user's own tenant,
    /// checked against the `{tenantid}` issuer template).
    pub fn microsoft(tenant: &str, client_id: &str, client_secret: &str) -> Self {
        let issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        ProviderSettings {
            label: "Microsoft".into(),
            ..ProviderSettings::generic("microsoft", &issuer, client_id, client_secret)
        }
    }

    /// Sign in with Apple: `client_id` is the Services ID; the secret is made from `key`.
    /// Apple answers with a form POST.
    pub fn apple(client_id: &str, key: AppleKey) -> Self {
        ProviderSettings {
            label: "Apple".into(),
            client_secret: ClientSecret::Apple(key),
            scopes: ["openid", "email", "name"].map(str::to_owned).to_vec(),
            response_mode: ResponseMode::FormPost,
            ..ProviderSettings::generic("apple", "https://appleid.apple.com", client_id, "")
        }
    }

    /// Where its discovery document is.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }
}

/// The parts of a discovery document (OpenID Connect Discovery §3) Ferry uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 9207: the provider sends `iss` with every answer.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl Metadata {
    /// Whether the client authenticates with HTTP Basic (the default of RFC 6749) rather
    /// than with fields of the form.
    pub(crate) fn uses_basic_auth(&self) -> bool {
        match &self.token_endpoint_auth_methods_supported {
            None => true,
            Some(methods) => {
                methods.iter().any(|m| m == "client_secret_basic")
                    || !methods.iter().any(|m| m == "client_secret_post")
            }
        }
    }

    /// The issuer ID tokens must name.
    pub(crate) fn expected_issuer(&self) -> ExpectedIssuer {
        ExpectedIssuer::from_metadata(&self.issuer)
    }
}

/// Why a provider's documents could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryError {
    /// Fetching failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The document names another issuer than the one configured.
    #[error(
        "the discovery document of {configured} names the issuer {published}; set `issuer` to the provider's exact issuer URL"
    )]
    IssuerMismatch {
        configured: String,
        published: String,
    },
}

/// A configured provider and what has been learnt from it.
#[derive(Debug)]
pub(crate) struct Provider {
    pub settings: ProviderSettings,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    metadata: Option<(Arc<Metadata>, Instant)>,
    keys: Option<Arc<Vec<Jwk>>>,
    /// When a token with an unknown key last made us fetch the set again.
    last_refetch: Option<Instant>,
}

impl Provider {
    pub(crate) fn new(settings: ProviderSettings) -> Self {
        Provider {
            settings,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The discovery document, fetched when not cached or stale.
    pub(crate) async fn metadata(
        &self,
        client: &ProviderClient,
    ) -> Result<Arc<Metadata>, DiscoveryError> {
        let mut cache = self.cache.lock().await;
        if let Some((metadata, fetched)) = &cache.metadata
            && fetched.elapsed() < METADATA_LIFETIME
        {
            return Ok(metadata.clone());
        }
        let metadata: Metadata = client
            .get_json(&self.settings.discovery_url(), None)
            .await?;
        let published = metadata.issuer.trim_end_matches('/');
        if published != self.settings.issuer && !metadata.issuer.contains("{tenantid}") {
            return Err(DiscoveryError::IssuerMismatch {
                configured: self.settings.issuer.clone(),
                published: metadata.issuer.clone(),
            });
        }
        let metadata = Arc::new(metadata);
        cache.metadata = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    /// The signing keys: cached ones, or fetched ones when there are none yet or when
    /// `refresh` asks (a token named a key we do not have) and no such fetch happened in the
    /// last [`KEYS_REFETCH_INTERVAL`].
    pub(crate) async fn keys(
        &self,
        client: &ProviderClient,
        metadata: &Metadata,
        refresh: bool,
    ) -> Result<Arc<Vec<Jwk>>, DiscoveryError> {
        let mut cache = self.cache.lock().await;
        let refetch_allowed = cache
            .last_refetch
            .is_none_or(|last| last.elapsed() >= KEYS_REFETCH_INTERVAL);
        if let Some(keys) = &cache.keys
            && (!refresh || !refetch_allowed)
        {
            return Ok(keys.clone());
        }
        if refresh {
            cache.last_refetch = Some(Instant::now());
        }
        let set: KeySet = client.get_json(&metadata.jwks_uri, None).await?;
        let keys = Arc::new(set.signing_keys());
        cache.keys = Some(keys.clone());
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_their_issuers() {
        assert_eq!(
            ProviderSettings::google("id", "s").discovery_url(),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
        assert_eq!(
            ProviderSettings::microsoft("common", "id", "s").issuer,
            "https://login.microsoftonline.com/common/v2.0"
        );
        assert_eq!(
            ProviderSettings::generic("test", "http://127.0.0.1:9400/", "id", "s").issuer,
            "http://127.0.0.1:9400"
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        let settings = ProviderSettings::google("id", "very-secret");
        assert!(!format!("{settings:?}").contains("very-secret"));
    }

    #[test]
    fn client_authentication_follows_the_document() {
        let metadata = |methods: Option<Vec<&str>>| Metadata {
            issuer: "i".into(),
            authorization_endpoint: "a".into(),
            token_endpoint: "t".into(),
            jwks_uri: "j".into(),
            userinfo_endpoint: None,
            token_endpoint_auth_methods_supported: methods
                .map(|m| m.into_iter().map(str::to_owned).collect()),
            authorization_response_iss_parameter_supported: false,
        };
        assert!(metadata(None).uses_basic_auth());
        assert!(
            metadata(Some(vec!["client_secret_post", "client_secret_basic"])).uses_basic_auth()
        );
        assert!(!metadata(Some(vec!["client_secret_post"])).uses_basic_auth());
    }
}
