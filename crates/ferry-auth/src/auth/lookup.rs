//! Who a session is for: remembered for a moment, or read from the store; alive or ended;
//! its use noted at most once a minute. And the session's end: sign-out and refresh.

use std::sync::Arc;

use ferry_store::StoreError;

use super::{Auth, unix_now};
use crate::credential::Credential;
use crate::credential::SessionId;
use crate::identity::{Identity, User};
use crate::session_memory::{Kind, Remembered, TOUCH_EVERY_SECS};

/// The store that knows who a session is for cannot be reached now (worth retrying).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unreachable;

impl Auth {
    /// Who the session `id` is for when that is known without asking the store: `None`
    /// when the store must be asked ([`Auth::identify`]).
    pub(crate) fn recall(
        &self,
        id: &SessionId,
        credential: Credential,
    ) -> Option<Option<Identity>> {
        let now = unix_now();
        let remembered = self.inner.memory.recall(id, Kind::of(credential), now)?;
        Some(self.admit(id, remembered, credential, now))
    }

    /// Who the session `id` is for, if it is alive: remembered, or read from the store.
    pub(crate) async fn identify(
        &self,
        id: &SessionId,
        credential: Credential,
    ) -> Result<Option<Identity>, Unreachable> {
        if let Some(known) = self.recall(id, credential) {
            return Ok(known);
        }
        if !id.is_well_formed() {
            return Ok(None);
        }
        let hash = id.stored_hash();
        let now = unix_now();
        let found = self
            .with_store(move |store| {
                let found = match credential {
                    Credential::Token => store
                        .token(&hash)?
                        .map(|(token, user)| ((token.created, now, token.expires), user)),
                    Credential::Access => store
                        .access_token(&hash)?
                        .map(|(token, user)| ((token.created, now, Some(token.expires)), user)),
                    Credential::Cookie | Credential::Bearer => store
                        .session(&hash)?
                        .map(|(session, user)| ((session.created, session.last_seen, None), user)),
                };
                let Some((times, user)) = found else {
                    return Ok(None);
                };
                let groups = store.user_groups(&user.id)?;
                Ok(Some((times, user, groups)))
            })
            .await;
        let (times, record, groups) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, "cannot read a session or token: the store is unreachable");
                return Err(Unreachable);
            }
            Err(error) => {
                tracing::error!(%error, "cannot read a session or token");
                return Ok(None);
            }
        };
        let user = Arc::new(User::from_record(&record, groups));
        let remembered =
            self.inner
                .memory
                .remember((*id, Kind::of(credential)), hash, user, times, now);
        Ok(self.admit(id, remembered, credential, now))
    }

    /// The identity of a remembered session if it is alive (a dead one is ended); notes its
    /// use at most once a minute.
    fn admit(
        &self,
        id: &SessionId,
        remembered: Remembered,
        credential: Credential,
        now: i64,
    ) -> Option<Identity> {
        if !credential.is_session() {
            // A token lives until it expires or is revoked; its use is not tracked.
            if remembered.expires.is_some_and(|expires| now >= expires) {
                self.inner.memory.forget(id);
                return None;
            }
            return Some(Identity::new(remembered.user, credential));
        }
        if !self
            .inner
            .settings
            .sessions
            .is_alive(remembered.created, remembered.last_seen, now)
        {
            self.inner.memory.forget(id);
            self.end_session_in_background(id.stored_hash());
            return None;
        }
        if now - remembered.last_seen >= TOUCH_EVERY_SECS {
            self.inner.memory.touched(id, now);
            let auth = self.clone();
            let hash = id.stored_hash();
            tokio::spawn(async move {
                if let Err(error) = auth
                    .with_store(move |store| store.touch_session(&hash, now))
                    .await
                {
                    tracing::warn!(%error, "cannot note a session's use");
                }
            });
        }
        Some(Identity::of_session(remembered.user, credential, *id))
    }

    fn end_session_in_background(&self, hash: [u8; 32]) {
        let auth = self.clone();
        tokio::spawn(async move {
            let _ = auth
                .with_store(move |store| store.delete_session(&hash))
                .await;
        });
    }

    /// Forgets the session or token stored under `hash` (revoked).
    pub(crate) fn forget_hash(&self, hash: &[u8]) {
        self.inner.memory.forget_hash(hash);
    }

    /// Ends the session `id` on the server.
    pub(crate) async fn sign_out(&self, id: &SessionId) {
        let hash = id.stored_hash();
        self.inner.memory.forget(id);
        if let Err(error) = self
            .with_store(move |store| store.delete_session(&hash))
            .await
        {
            tracing::error!(%error, "cannot delete a session");
        }
    }

    /// Extends the session `id` now (the sliding timeout starts again).
    pub(crate) async fn refresh(&self, id: &SessionId) -> Result<(), StoreError> {
        let hash = id.stored_hash();
        let now = unix_now();
        self.inner.memory.touched(id, now);
        self.with_store(move |store| store.touch_session(&hash, now))
            .await
    }
}
