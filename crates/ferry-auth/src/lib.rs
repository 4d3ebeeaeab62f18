//! Identity for Ferry: sign-in with any OpenID Connect provider, sessions, users and
//! roles, and the pipeline step that says who a request is for.
//!
//! - [`Auth`] holds the providers ([`ProviderSettings`]: any issuer URL, with presets for
//!   Google, Microsoft and Apple) and keeps users and sessions in a
//!   [`ferry_store::IdentityStore`].
//! - [`Auth::install`] adds aiwebengine's routes (`/auth/login`, `/auth/login/{provider}`,
//!   `/auth/callback/{provider}`, `/auth/logout`, `/auth/status`, `/auth/refresh`) and the
//!   identity step, which attaches an [`Identity`] to each request with a live session and
//!   applies the [`AccessRule`]s.
//!
//! Sign-in is the authorization code flow with PKCE (S256), `state` and `nonce`; the
//! pending sign-in is kept in the store, keyed by `state`, so a provider's form POST or a
//! callback on another node finds it. ID tokens are checked for signature (the provider's
//! published keys, fetched again for an unknown `kid`), exact issuer (or Microsoft's
//! `{tenantid}` template), audience and authorized party, lifetime with a two-minute
//! leeway, and nonce; RFC 9207's `iss` parameter is checked when sent. Sessions are opaque
//! 256-bit ids in an `HttpOnly; SameSite=Lax` cookie, stored hashed.
//!
//! ```no_run
//! use ferry_auth::{AccessRule, Auth, AuthSettings, ProviderSettings};
//! use ferry_core::App;
//! use ferry_core::stack::{Authentication, Stack};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = ferry_store::Store::sqlite(std::path::Path::new("data"))?;
//! let auth = Auth::new(
//!     AuthSettings {
//!         providers: vec![ProviderSettings::google("CLIENT_ID", "CLIENT_SECRET")],
//!         rules: vec![AccessRule::signed_in("/private")],
//!         ..AuthSettings::default()
//!     },
//!     store.connect()?,
//! )?;
//! let stack = Stack {
//!     auth: Some(auth.stack_step()),
//!     ..Stack::default()
//! };
//! stack
//!     .apply(App::new().get("/private/report", |_req| async { "for signed-in users" }))
//!     .serve("127.0.0.1:3000")
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod admin;
mod apple;
mod auth;
mod client;
mod config;
mod credential;
mod groups;
mod id_token;
mod identity;
mod keys;
mod layer;
mod oauth;
mod pages;
mod provider;
mod redirect;
mod routes;
mod rules;
mod secret;
mod session;
mod session_memory;
mod settings;
mod sign_in;
mod tokens;

pub use admin::{AUDIT_TARGET, USER_ROLES_PATH, USERS_PATH};
pub use apple::{AppleKey, AppleKeyError};
pub use auth::{Auth, AuthStore, DEV_PROVIDER};
pub use client::ClientSetupError;
pub use config::{AuthConfig, AuthConfigError, ProtectConfig, ProviderConfig, ResolvedAuthConfig};
pub use credential::Credential;
pub use credential::{ACCESS_TOKEN_PREFIX, TOKEN_PREFIX};
pub use groups::{GROUP_MEMBERS_PATH, GROUPS_PATH, valid_group_name};
pub use identity::{Identity, Role, User};
pub use layer::{CrossSite, Identify, IdentifyLayer};
pub use oauth::{
    AUTHORIZATION_SERVER_METADATA_PATH, AUTHORIZE_PATH, PROTECTED_RESOURCE_METADATA_PATH,
    REGISTER_PATH, TOKEN_PATH,
};
pub use provider::{ClientSecret, KEYS_REFETCH_INTERVAL, ProviderSettings, ResponseMode};
pub use redirect::same_origin_target;
pub use rules::AccessRule;
pub use session::{DEFAULT_COOKIE_NAME, SessionSettings};
pub use settings::{AuthError, AuthSettings};
pub use sign_in::{CallbackParams, SignInError};
pub use tokens::TOKENS_PATH;

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input this crate
/// owns. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Looks for a session id in a `Cookie` and an `Authorization` header.
    pub fn session_from_headers(cookie: &[u8], authorization: &[u8]) -> bool {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            (http::header::COOKIE, cookie),
            (http::header::AUTHORIZATION, authorization),
        ] {
            if let Ok(value) = http::HeaderValue::from_bytes(value) {
                headers.insert(name, value);
            }
        }
        let names = crate::credential::CookieNames::new(&crate::SessionSettings::default());
        crate::credential::take_credential(&mut headers, &names).is_some()
    }

    /// Parses an ID token and checks it against a fixed key set.
    pub fn id_token(token: &str) -> bool {
        let keys: crate::keys::KeySet = serde_json::from_str(
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"RSA","kid":"r","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}"#,
        )
        .expect("the fixed key set is valid JSON");
        let issuer =
            crate::id_token::ExpectedIssuer::from_metadata("https://id.example/{tenantid}");
        let expect = crate::id_token::Expectations {
            issuer: &issuer,
            client_id: "ferry",
            nonce: "n",
            now: 1_800_000_000,
        };
        crate::id_token::SignedToken::parse(token)
            .and_then(|token| token.verify(&keys.signing_keys(), &expect))
            .is_ok()
    }

    /// Reads a client registration (JSON), an authorization request's query, a redirect URI
    /// and `Authorization: Basic` client credentials, as the MCP authorization server does.
    pub fn oauth_requests(bytes: &[u8], text: &str) -> bool {
        crate::oauth::fuzzing(bytes, text)
    }

    /// Reads a callback's query or form, a redirect target and a path for the access rules.
    pub fn callback_and_paths(encoded: &[u8], text: &str) -> bool {
        let params = crate::CallbackParams::parse(encoded);
        let _ = params.refusal();
        let target = crate::same_origin_target(Some(text));
        assert!(target.starts_with('/') && !target.starts_with("//") && !target.contains('\\'));
        let normalized = crate::rules::normalize(text);
        !normalized.contains("/../")
    }
}
