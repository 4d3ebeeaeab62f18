//! Sessions known valid a moment ago, by id: a signed-in request that finds its session
//! here costs no digest and no database read. A session deleted on another node ends here
//! within [`REMEMBERED_FOR_SECS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::credential::SessionId;
use crate::identity::User;

/// How long a session known valid is trusted before the store is asked again.
const REMEMBERED_FOR_SECS: i64 = 5;
/// How often a session's last use is written while it is in use.
pub(crate) const TOUCH_EVERY_SECS: i64 = 60;
/// The most sessions remembered at once; beyond it the memory starts over.
const REMEMBERED_AT_MOST: usize = 100_000;

/// Passes [`SessionId`]'s hash through.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The kinds of secret: a session id, an API token, an OAuth access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Session,
    ApiToken,
    Access,
}

impl Kind {
    pub(crate) fn of(credential: crate::credential::Credential) -> Kind {
        use crate::credential::Credential;
        match credential {
            Credential::Cookie | Credential::Bearer => Kind::Session,
            Credential::Token => Kind::ApiToken,
            Credential::Access => Kind::Access,
        }
    }
}

/// A session known valid a moment ago.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    pub user: Arc<User>,
    /// What the secret was presented as when the store confirmed it: a secret is only ever
    /// recalled as the same kind of credential.
    pub kind: Kind,
    pub created: i64,
    pub last_seen: i64,
    /// When it stops working regardless of use (API tokens), if ever.
    pub expires: Option<i64>,
    hash: [u8; 32],
    /// When the store last confirmed it, in seconds since the Unix epoch.
    checked: i64,
}

/// Sessions known valid, by id, for [`REMEMBERED_FOR_SECS`]: a signed-in request that finds its
/// session here costs no digest and no database read.
#[derive(Debug, Default)]
pub(crate) struct SessionMemory {
    sessions: Mutex<Sessions>,
}

type Sessions = HashMap<SessionId, Remembered, std::hash::BuildHasherDefault<IdHasher>>;

impl SessionMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The secret `id` of `kind`, if known valid recently (`now` in seconds since the Unix
    /// epoch).
    pub(crate) fn recall(&self, id: &SessionId, kind: Kind, now: i64) -> Option<Remembered> {
        self.lock()
            .get(id)
            .filter(|remembered| {
                remembered.kind == kind && now - remembered.checked < REMEMBERED_FOR_SECS
            })
            .cloned()
    }

    /// Remembers that the session `id` (stored under `hash`) is valid `now`.
    pub(crate) fn remember(
        &self,
        (id, kind): (SessionId, Kind),
        hash: [u8; 32],
        user: Arc<User>,
        (created, last_seen, expires): (i64, i64, Option<i64>),
        now: i64,
    ) -> Remembered {
        let remembered = Remembered {
            user,
            kind,
            created,
            last_seen,
            expires,
            hash,
            checked: now,
        };
        let mut sessions = self.lock();
        if sessions.len() >= REMEMBERED_AT_MOST {
            sessions.retain(|_, remembered| now - remembered.checked < REMEMBERED_FOR_SECS);
            if sessions.len() >= REMEMBERED_AT_MOST {
                sessions.clear();
            }
        }
        sessions.insert(id, remembered.clone());
        remembered
    }

    /// Notes a new last use of the session `id`.
    pub(crate) fn touched(&self, id: &SessionId, now: i64) {
        if let Some(remembered) = self.lock().get_mut(id) {
            remembered.last_seen = now;
        }
    }

    /// Forgets the session `id` (signed out, or found dead).
    pub(crate) fn forget(&self, id: &SessionId) {
        self.lock().remove(id);
    }

    /// Forgets the session stored under `hash` (ended by a newer sign-in of its user).
    pub(crate) fn forget_hash(&self, hash: &[u8]) {
        self.lock().retain(|_, remembered| remembered.hash != hash);
    }

    /// Forgets every session (who belongs to which group changed).
    pub(crate) fn forget_all(&self) {
        self.lock().clear();
    }

    /// Forgets every session of `user_id` (a role changed).
    pub(crate) fn forget_user(&self, user_id: &str) {
        self.lock()
            .retain(|_, remembered| remembered.user.id != user_id);
    }
}
