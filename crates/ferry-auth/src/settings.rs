//! What sign-in is configured with ([`AuthSettings`]) and why a configuration is refused
//! ([`AuthError`]).

use crate::provider::ProviderSettings;
use crate::rules::AccessRule;
use crate::session::SessionSettings;

/// Everything sign-in needs to know.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// The providers users may sign in with.
    pub providers: Vec<ProviderSettings>,
    /// How sessions behave.
    pub sessions: SessionSettings,
    /// E-mail addresses that become administrators when they sign in with a verified
    /// address.
    pub bootstrap_admins: Vec<String>,
    /// Offer the development sign-in (any name, e-mail and role, no provider) to requests
    /// from this machine. Default off.
    pub dev_sign_in: bool,
    /// The site's public origin (`https://app.example.com`), for callback URLs and the
    /// `Secure` cookie behind a proxy that terminates TLS. Default: from each request's
    /// `Host` and connection.
    pub public_url: Option<String>,
    /// Paths kept for signed-in users.
    pub rules: Vec<AccessRule>,
    /// The break-glass credential: its holder (`Authorization: Bearer TOKEN`) manages users
    /// and roles as an administrator, without signing in. Default none.
    pub admin_token: Option<String>,
    /// The path of the app's MCP endpoint (`/mcp`), when it serves one: Ferry is then the
    /// OAuth 2.1 authorization server MCP clients sign in through (with the providers
    /// above), and the access tokens it issues are good at this path only. Default none.
    pub mcp_resource: Option<String>,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A provider's name is unusable or taken twice.
    #[error(
        "sign-in provider {0:?}: a name is letters, digits, `-` and `_`, used once (and `dev` is the development sign-in's)"
    )]
    ProviderName(String),
    /// A provider lacks an issuer or client id.
    #[error("sign-in provider {0:?} needs an issuer URL and a client id")]
    ProviderIncomplete(String),
    /// The Apple key cannot sign.
    #[error("sign-in provider {name:?}: {source}")]
    AppleKey {
        /// The provider.
        name: String,
        /// What is wrong with the key.
        #[source]
        source: crate::apple::AppleKeyError,
    },
    /// The cookie name is not a token.
    #[error("the session cookie name {0:?} may hold only letters, digits and !#$%&'*+-.^_`|~")]
    CookieName(String),
    /// The public URL is not an http(s) origin.
    #[error("the public URL {0:?} must be an origin like https://app.example.com")]
    PublicUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot set up the client for sign-in providers: {0}")]
    Client(#[from] crate::client::ClientSetupError),
}

/// Whether `url` is an http(s) origin: scheme and host, no path, query or user.
pub(crate) fn is_origin(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.trim_end_matches('/');
    !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' '])
}
