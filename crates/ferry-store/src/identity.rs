//! What Ferry keeps about who signs in: users, their sessions, and sign-ins waiting for a
//! provider's answer. The store only keeps records; what they mean (roles, timeouts,
//! cookies) is decided by `ferry-auth`.

use crate::StoreError;

/// A user as stored: one per provider account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Ferry's own id for the user (random, stable).
    pub id: String,
    /// The name of the provider the account belongs to (`google`, `dev`, ...).
    pub provider: String,
    /// The provider's subject (`sub`) for the account.
    pub subject: String,
    /// The e-mail address, if the provider gave one.
    pub email: Option<String>,
    /// Whether the provider says it verified the e-mail address.
    pub email_verified: bool,
    /// The display name, if the provider gave one.
    pub name: Option<String>,
    /// The user's role, as `ferry-auth` names it.
    pub role: String,
    /// When the user first signed in, in seconds since the Unix epoch.
    pub created: i64,
    /// When the user last signed in, in seconds since the Unix epoch.
    pub last_sign_in: i64,
}

/// What a provider said about an account at sign-in.
#[derive(Debug, Clone, Copy)]
pub struct AccountClaims<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// Its subject for the account.
    pub subject: &'a str,
    /// The e-mail address, if any.
    pub email: Option<&'a str>,
    /// Whether the provider verified it.
    pub email_verified: bool,
    /// The display name, if any.
    pub name: Option<&'a str>,
}

/// A session as stored; its id is known only by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user it belongs to.
    pub user_id: String,
    /// When it was created, in seconds since the Unix epoch.
    pub created: i64,
    /// When it was last used (written at most about once a minute).
    pub last_seen: i64,
}

/// A sign-in sent to a provider and not yet answered, keyed by its `state`. Kept on the
/// server so that it survives a cross-site `form_post` and works on any node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The `state` parameter sent to the provider.
    pub state: String,
    /// The provider's name.
    pub provider: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The callback URL sent to the provider (the token request repeats it).
    pub callback: String,
    /// Where the user goes after signing in (a same-origin path).
    pub redirect: String,
    /// When the sign-in started, in seconds since the Unix epoch.
    pub created: i64,
}

/// A named API token, as stored: only its digest is kept, apart from this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's own id (for listing and revoking; not the secret).
    pub id: String,
    /// The user it acts for.
    pub user_id: String,
    /// What the user called it.
    pub name: String,
    /// When it was made, in seconds since the Unix epoch.
    pub created: i64,
    /// When it stops working, if ever.
    pub expires: Option<i64>,
}

/// Users, sessions, pending sign-ins and API tokens, on either back end.
pub trait IdentityStore {
    /// Records a sign-in: creates the user (with `new_id` and `role`) when the account is new,
    /// otherwise updates its e-mail, name and sign-in time. Returns the user as stored.
    fn record_sign_in(
        &mut self,
        account: &AccountClaims<'_>,
        new_id: &str,
        role: &str,
        now: i64,
    ) -> Result<UserRecord, StoreError>;
    /// The user `id`, if any.
    fn user(&mut self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Every user, oldest first.
    fn users(&mut self) -> Result<Vec<UserRecord>, StoreError>;
    /// Gives user `id` the role `role`; says whether the user exists.
    fn set_role(&mut self, id: &str, role: &str) -> Result<bool, StoreError>;
    /// Stores a new session for `user_id` under `id_hash`, then deletes the user's oldest
    /// sessions beyond `keep_at_most`; returns the hashes it deleted.
    fn create_session(
        &mut self,
        id_hash: &[u8],
        user_id: &str,
        now: i64,
        keep_at_most: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The session stored under `id_hash` and its user.
    fn session(
        &mut self,
        id_hash: &[u8],
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError>;
    /// Notes that the session was used at `now`.
    fn touch_session(&mut self, id_hash: &[u8], now: i64) -> Result<(), StoreError>;
    /// Deletes the session; says whether it existed.
    fn delete_session(&mut self, id_hash: &[u8]) -> Result<bool, StoreError>;
    /// Deletes sessions last used before `idle_before` or created before `created_before`;
    /// returns how many.
    fn prune_sessions(
        &mut self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<usize, StoreError>;
    /// Stores a pending sign-in, and forgets those started before `expired_before`.
    fn save_pending(
        &mut self,
        pending: &PendingSignIn,
        expired_before: i64,
    ) -> Result<(), StoreError>;
    /// Takes (reads and deletes) the pending sign-in with `state`: each can be finished once.
    fn take_pending(&mut self, state: &str) -> Result<Option<PendingSignIn>, StoreError>;
    /// Stores a new API token under the digest `hash` of its secret.
    fn create_token(&mut self, hash: &[u8], token: &TokenRecord) -> Result<(), StoreError>;
    /// The token stored under `hash` and its user.
    fn token(&mut self, hash: &[u8]) -> Result<Option<(TokenRecord, UserRecord)>, StoreError>;
    /// The tokens of `user_id`, oldest first.
    fn tokens(&mut self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError>;
    /// Deletes the token `id` of `user_id`; returns its digest if it existed.
    fn revoke_token(&mut self, user_id: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
}
