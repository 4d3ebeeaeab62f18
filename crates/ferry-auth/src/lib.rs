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
//! let store = ferry_store::SqliteStore::open(std::path::Path::new("data"))?;
//! let auth = Auth::new(
//!     AuthSettings {
//!         providers: vec![ProviderSettings::google("CLIENT_ID", "CLIENT_SECRET")],
//!         rules: vec![AccessRule::signed_in("/private")],
//!         ..AuthSettings::default()
//!     },
//!     store.connect()?,
//! )?;
//! let stack = Stack {
//!     auth: Some(Authentication::custom(move |app| auth.install(app))),
//!     ..Stack::default()
//! };
//! stack
//!     .apply(App::new().get("/private/report", |_req| async { "for signed-in users" }))
//!     .serve("127.0.0.1:3000")
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod apple;
mod auth;
mod client;
mod id_token;
mod identity;
mod keys;
mod layer;
mod pages;
mod provider;
mod redirect;
mod routes;
mod rules;
mod secret;
mod session;
mod sign_in;

pub use apple::{AppleKey, AppleKeyError};
pub use auth::{Auth, AuthError, AuthSettings, DEV_PROVIDER};
pub use client::ClientSetupError;
pub use identity::{Credential, Identity, Role, User};
pub use layer::{Identify, IdentifyLayer};
pub use provider::{ClientSecret, KEYS_REFETCH_INTERVAL, ProviderSettings, ResponseMode};
pub use redirect::same_origin_target;
pub use rules::AccessRule;
pub use session::{DEFAULT_COOKIE_NAME, SessionSettings};
pub use sign_in::{CallbackParams, SignInError};
