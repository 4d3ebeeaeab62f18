//! [`Auth`]: the configured providers, the store and the session memory, and what the
//! routes and the pipeline step ask of them — start and finish a sign-in, say who a
//! session is for, sign out.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_store::{AccountClaims, Groups, IdentityStore, OAuthStore, PendingSignIn, StoreError};

mod lookup;

use crate::client::ProviderClient;
use crate::credential::{CookieNames, SessionId};
use crate::identity::Role;
use crate::provider::{Provider, ProviderSettings};
use crate::secret::random_token;
use crate::session::SessionSettings;
use crate::session_memory::SessionMemory;
use crate::settings::{AuthError, AuthSettings, is_origin};
use crate::sign_in::{self, CallbackParams, SignInError};

/// How long a sign-in may wait for the provider's answer.
const PENDING_LIFETIME_SECS: i64 = 600;
/// The provider name of the development sign-in.
pub const DEV_PROVIDER: &str = "dev";

/// What sign-in keeps in the store: users, sessions, tokens, the groups users belong to,
/// and the MCP authorization server's clients, codes and tokens.
pub trait AuthStore: IdentityStore + Groups + OAuthStore + Send {}

impl<T: IdentityStore + Groups + OAuthStore + Send> AuthStore for T {}

/// Identity for one site: sign-in with its providers, sessions in its store. Cheap to
/// clone; every clone shares the same state.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

struct Inner {
    settings: AuthSettings,
    providers: Vec<Provider>,
    client: ProviderClient,
    store: Arc<Mutex<Box<dyn AuthStore>>>,
    memory: SessionMemory,
    cookie_names: CookieNames,
}

/// A new session: the id for the cookie, and the user.
#[derive(Debug)]
pub(crate) struct NewSession {
    pub id: String,
    pub redirect: String,
}

impl Auth {
    /// Checks `settings` and keeps users and sessions in `store`.
    pub fn new(settings: AuthSettings, store: impl AuthStore + 'static) -> Result<Auth, AuthError> {
        let mut names = std::collections::HashSet::new();
        for provider in &settings.providers {
            let name = &provider.name;
            let well_formed = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !well_formed || name == DEV_PROVIDER || !names.insert(name.clone()) {
                return Err(AuthError::ProviderName(name.clone()));
            }
            if provider.issuer.is_empty() || provider.client_id.is_empty() {
                return Err(AuthError::ProviderIncomplete(name.clone()));
            }
            if let crate::provider::ClientSecret::Apple(key) = &provider.client_secret {
                key.validate().map_err(|source| AuthError::AppleKey {
                    name: name.clone(),
                    source,
                })?;
            }
        }
        if !SessionSettings::valid_cookie_name(&settings.sessions.cookie_name) {
            return Err(AuthError::CookieName(settings.sessions.cookie_name.clone()));
        }
        if let Some(url) = &settings.public_url
            && !is_origin(url)
        {
            return Err(AuthError::PublicUrl(url.clone()));
        }
        let providers = settings
            .providers
            .iter()
            .cloned()
            .map(Provider::new)
            .collect();
        let cookie_names = CookieNames::new(&settings.sessions);
        Ok(Auth {
            inner: Arc::new(Inner {
                settings,
                providers,
                client: ProviderClient::new()?,
                store: Arc::new(Mutex::new(Box::new(store))),
                memory: SessionMemory::default(),
                cookie_names,
            }),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    /// The session cookie's names.
    pub(crate) fn cookie_names(&self) -> &CookieNames {
        &self.inner.cookie_names
    }

    pub(crate) fn providers(&self) -> impl Iterator<Item = &ProviderSettings> {
        self.inner
            .providers
            .iter()
            .map(|provider| &provider.settings)
    }

    fn provider(&self, name: &str) -> Result<&Provider, SignInError> {
        self.inner
            .providers
            .iter()
            .find(|provider| provider.settings.name == name)
            .ok_or_else(|| SignInError::UnknownProvider(name.to_owned()))
    }

    /// Runs `work` on the store, off the async threads.
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn AuthStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.inner.store.clone();
        let run = move || {
            let mut store = store.lock().unwrap_or_else(|poison| poison.into_inner());
            work(store.as_mut())
        };
        match tokio::task::spawn_blocking(run).await {
            Ok(result) => result,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    /// Starts a sign-in at `provider` that returns to `callback` and then goes to
    /// `redirect`; returns the provider's URL to send the browser to.
    pub(crate) async fn start_sign_in(
        &self,
        provider: &str,
        callback: String,
        redirect: String,
    ) -> Result<String, SignInError> {
        let provider = self.provider(provider)?;
        let pending = PendingSignIn {
            state: random_token(),
            provider: provider.settings.name.clone(),
            nonce: random_token(),
            verifier: random_token(),
            callback,
            redirect,
            created: unix_now(),
        };
        // Asked first: a provider that cannot be reached leaves no pending sign-in behind.
        let url = sign_in::authorization_url(provider, &self.inner.client, &pending).await?;
        let expired_before = pending.created - PENDING_LIFETIME_SECS;
        self.with_store(move |store| store.save_pending(&pending, expired_before))
            .await
            .map_err(SignInError::from)?;
        Ok(url)
    }

    /// Finishes a sign-in at `provider` with the provider's answer: a new session.
    pub(crate) async fn finish_sign_in(
        &self,
        provider: &str,
        params: CallbackParams,
    ) -> Result<NewSession, SignInError> {
        let provider = self.provider(provider)?;
        let state = params.state.clone().unwrap_or_default();
        // Taken before anything else: a state is good for one answer, refusals included.
        let pending = self
            .with_store(move |store| store.take_pending(&state))
            .await
            .map_err(SignInError::from)?
            .filter(|pending| pending.created >= unix_now() - PENDING_LIFETIME_SECS);
        // A refusal opens nothing, so it is shown even when the provider left the state out
        // (some do, against RFC 6749 §4.1.2.1).
        if let Some(refusal) = params.refusal() {
            return Err(SignInError::Refused(refusal));
        }
        let pending = pending.ok_or(SignInError::UnknownState)?;
        if pending.provider != provider.settings.name {
            return Err(SignInError::WrongProvider);
        }
        let account =
            sign_in::redeem(provider, &self.inner.client, &pending, &params, unix_now()).await?;
        let id = self
            .open_session(
                AccountClaims {
                    provider: &provider.settings.name,
                    subject: &account.subject,
                    email: account.email.as_deref(),
                    email_verified: account.email_verified,
                    name: account.name.as_deref(),
                },
                None,
            )
            .await?;
        Ok(NewSession {
            id,
            redirect: pending.redirect,
        })
    }

    /// Signs in as anyone, for development: only when the settings allow it (the routes
    /// also check that the request comes from this machine).
    pub(crate) async fn dev_sign_in(
        &self,
        name: &str,
        email: &str,
        role: Role,
    ) -> Result<String, SignInError> {
        if !self.inner.settings.dev_sign_in {
            return Err(SignInError::DevelopmentOnly);
        }
        let email = email.trim().to_ascii_lowercase();
        let subject = if email.is_empty() {
            name.trim().to_owned()
        } else {
            email.clone()
        };
        self.open_session(
            AccountClaims {
                provider: DEV_PROVIDER,
                subject: &subject,
                email: Some(email.as_str()).filter(|email| !email.is_empty()),
                email_verified: !email.is_empty(),
                name: Some(name.trim()).filter(|name| !name.is_empty()),
            },
            Some(role),
        )
        .await
    }

    /// Records the sign-in of `account` and opens a session with a fresh id (never one the
    /// browser had before: no fixation). `role` is forced when given (development).
    async fn open_session(
        &self,
        account: AccountClaims<'_>,
        role: Option<Role>,
    ) -> Result<String, SignInError> {
        let bootstrap = account.email_verified
            && account.email.is_some_and(|email| {
                self.inner
                    .settings
                    .bootstrap_admins
                    .iter()
                    .any(|admin| admin.eq_ignore_ascii_case(email))
            });
        let provider = account.provider.to_owned();
        let subject = account.subject.to_owned();
        let email = account.email.map(str::to_owned);
        let email_verified = account.email_verified;
        let name = account.name.map(str::to_owned);
        let id = random_token();
        let hash = SessionId::parse(&id)
            .expect("a random token has the shape of a session id")
            .stored_hash();
        let keep = self.inner.settings.sessions.max_per_user;
        let now = unix_now();
        let (user, evicted) = self
            .with_store(move |store| {
                let account = AccountClaims {
                    provider: &provider,
                    subject: &subject,
                    email: email.as_deref(),
                    email_verified,
                    name: name.as_deref(),
                };
                let mut user = store.record_sign_in(
                    &account,
                    &random_token(),
                    Role::Authenticated.as_str(),
                    now,
                )?;
                let wanted = match role {
                    Some(role) => Some(role),
                    None if bootstrap => Some(Role::Administrator),
                    None => None,
                };
                if let Some(wanted) = wanted.filter(|wanted| wanted.as_str() != user.role) {
                    store.set_role(&user.id, wanted.as_str())?;
                    user.role = wanted.as_str().to_owned();
                }
                let evicted = store.create_session(&hash, &user.id, now, keep)?;
                Ok((user, evicted))
            })
            .await
            .map_err(SignInError::from)?;
        for hash in &evicted {
            self.inner.memory.forget_hash(hash);
        }
        // A role may have changed: sessions remembered with the old one are asked again.
        self.inner.memory.forget_user(&user.id);
        tracing::info!(
            user = %user.id,
            provider = %user.provider,
            role = %user.role,
            ended_sessions = evicted.len(),
            "signed in"
        );
        Ok(id)
    }

    /// Every user, oldest first.
    pub(crate) async fn users(&self) -> Result<Vec<ferry_store::UserRecord>, StoreError> {
        self.with_store(|store| store.users()).await
    }

    /// Gives user `id` the role `role`; their sessions see it at once. Says whether the
    /// user exists.
    /// Forgets every remembered identity, so that the next request of each reads its user's
    /// role and groups again (group membership changed).
    pub(crate) fn forget_remembered(&self) {
        self.inner.memory.forget_all();
    }

    pub(crate) async fn set_role(&self, id: &str, role: Role) -> Result<bool, StoreError> {
        let user = id.to_owned();
        let changed = self
            .with_store(move |store| store.set_role(&user, role.as_str()))
            .await?;
        self.inner.memory.forget_user(id);
        Ok(changed)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
