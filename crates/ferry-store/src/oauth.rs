//! What Ferry keeps as the OAuth 2.1 authorization server of its MCP endpoint: the clients
//! that registered themselves, authorization codes waiting to be exchanged, and the access
//! and refresh tokens issued. Secrets are known only by their digests.

use crate::{StoreError, UserRecord};

/// A client that registered itself (RFC 7591).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The client id Ferry gave it.
    pub id: String,
    /// The digest of its secret, for a confidential client; `None` for a public one.
    pub secret_hash: Option<Vec<u8>>,
    /// The name it gave, shown on the consent page.
    pub name: String,
    /// The redirect URIs it registered; an authorization request must name one exactly.
    pub redirect_uris: Vec<String>,
    /// When it registered, in seconds since the Unix epoch.
    pub created: i64,
}

/// An authorization code, until the client exchanges it (once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The user who consented.
    pub user_id: String,
    /// The redirect URI of the authorization request (the token request repeats it).
    pub redirect_uri: String,
    /// The PKCE S256 code challenge.
    pub challenge: String,
    /// The resource the token will be for (RFC 8707).
    pub resource: String,
    /// The scope granted.
    pub scope: String,
    /// When it was issued, in seconds since the Unix epoch.
    pub created: i64,
}

/// What an OAuth token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthTokenKind {
    /// Presented to the resource.
    Access,
    /// Exchanged (once) for a new access and refresh token.
    Refresh,
}

impl OAuthTokenKind {
    /// `"access"` or `"refresh"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthTokenKind::Access => "access",
            OAuthTokenKind::Refresh => "refresh",
        }
    }

    /// The kind stored as `text` (the schema admits only the two).
    pub(crate) fn from_stored(text: &str) -> OAuthTokenKind {
        if text == OAuthTokenKind::Access.as_str() {
            OAuthTokenKind::Access
        } else {
            OAuthTokenKind::Refresh
        }
    }
}

/// Redirect URIs are kept one per line (they never hold whitespace: registration checks),
/// the same on both back ends.
pub(crate) const URI_SEPARATOR: char = '\n';

/// An issued token, known by the digest of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthToken {
    /// Access or refresh.
    pub kind: OAuthTokenKind,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it acts for.
    pub user_id: String,
    /// The resource it is for.
    pub resource: String,
    /// The scope granted.
    pub scope: String,
    /// The sign-in it descends from: the tokens of one authorization and of the refreshes
    /// after it share this id, and go together when a used refresh token comes back.
    pub family: String,
    /// When it was issued, in seconds since the Unix epoch.
    pub created: i64,
    /// When it stops working, in seconds since the Unix epoch.
    pub expires: i64,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// A token not used before; it is used now.
    Fresh(OAuthToken),
    /// A token used before: somebody holds a copy. Every token of its family was revoked.
    Replayed {
        /// The client it was issued to.
        client_id: String,
        /// The user it acted for.
        user_id: String,
    },
    /// No such token (never issued, expired and forgotten, or revoked).
    Unknown,
}

/// Clients, codes and tokens of the authorization server, on either back end.
pub trait OAuthStore {
    /// Stores a newly registered client.
    fn register_client(&mut self, client: &OAuthClient) -> Result<(), StoreError>;
    /// The client `id`, if registered.
    fn oauth_client(&mut self, id: &str) -> Result<Option<OAuthClient>, StoreError>;
    /// Stores an authorization code under the digest `hash`, and forgets codes issued
    /// before `expired_before`.
    fn save_code(
        &mut self,
        hash: &[u8],
        code: &AuthorizationCode,
        expired_before: i64,
    ) -> Result<(), StoreError>;
    /// Takes (reads and deletes) the code stored under `hash`: each is exchanged once.
    fn take_code(&mut self, hash: &[u8]) -> Result<Option<AuthorizationCode>, StoreError>;
    /// Stores a token under the digest `hash`, and forgets tokens expired by `now`.
    fn save_oauth_token(
        &mut self,
        hash: &[u8],
        token: &OAuthToken,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The access token stored under `hash` and its user.
    fn access_token(&mut self, hash: &[u8])
    -> Result<Option<(OAuthToken, UserRecord)>, StoreError>;
    /// Uses the refresh token stored under `hash`: refresh tokens are rotated, each used
    /// once; one used again revokes its whole family (OAuth 2.1's reuse detection).
    fn use_refresh_token(&mut self, hash: &[u8]) -> Result<Refresh, StoreError>;
}
