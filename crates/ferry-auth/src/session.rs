//! Sessions: an opaque 256-bit id in an `HttpOnly; SameSite=Lax` cookie (with `Secure` and
//! the `__Host-` prefix over HTTPS), stored only as its SHA-256 digest; a sliding idle
//! timeout, an absolute maximum age and a cap on sessions per user. Valid sessions are
//! remembered for a few seconds so that a signed-in request costs no database read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{AUTHORIZATION, COOKIE};

use crate::identity::{Credential, User};
use crate::secret::sha256;

/// The cookie's name over plain HTTP; over HTTPS it carries the `__Host-` prefix.
pub const DEFAULT_COOKIE_NAME: &str = "ferry_session";
/// How long a session known valid is trusted before the store is asked again (a session
/// deleted on another node ends here within this time).
const REMEMBERED_FOR: Duration = Duration::from_secs(5);
/// How often a session's last use is written while it is in use.
pub(crate) const TOUCH_EVERY_SECS: i64 = 60;
/// The most sessions remembered at once; beyond it the memory starts over.
const REMEMBERED_AT_MOST: usize = 100_000;
/// The length of a session id in the cookie (32 bytes, unpadded base64url).
const ID_LENGTH: usize = 43;

/// How sessions behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// The cookie's name (over HTTPS with `__Host-` before it). Default `ferry_session`.
    pub cookie_name: String,
    /// A session unused this long ends. Default 24 hours.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in however much it is used. Default 30 days.
    pub max_age: Duration,
    /// The most sessions a user may have; signing in once more ends the oldest. Default 5.
    pub max_per_user: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            idle_timeout: Duration::from_secs(24 * 3600),
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_per_user: 5,
        }
    }
}

impl SessionSettings {
    /// The cookie's name on a connection that is (`secure`) or is not HTTPS.
    pub(crate) fn cookie_name(&self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.cookie_name)
        } else {
            self.cookie_name.clone()
        }
    }

    /// `Set-Cookie` for a new session `id`.
    pub(crate) fn set_cookie(&self, id: &str, secure: bool) -> HeaderValue {
        let attributes = if secure { "; Secure" } else { "" };
        let value = format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{attributes}",
            self.cookie_name(secure),
            self.max_age.as_secs()
        );
        HeaderValue::from_str(&value).expect("cookie names are checked when settings are made")
    }

    /// `Set-Cookie` that deletes the session cookie.
    pub(crate) fn clear_cookie(&self, secure: bool) -> HeaderValue {
        let attributes = if secure { "; Secure" } else { "" };
        let value = format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{attributes}",
            self.cookie_name(secure)
        );
        HeaderValue::from_str(&value).expect("cookie names are checked when settings are made")
    }

    /// Whether a session created at `created` and last used at `last_seen` is alive at `now`.
    pub(crate) fn is_alive(&self, created: i64, last_seen: i64, now: i64) -> bool {
        let secs = |duration: Duration| i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        now < last_seen.saturating_add(secs(self.idle_timeout))
            && now < created.saturating_add(secs(self.max_age))
    }

    /// Whether `name` may name a cookie (RFC 6265 token characters).
    pub fn valid_cookie_name(name: &str) -> bool {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
}

/// The session id a request presents, and how.
pub(crate) fn presented(
    headers: &http::HeaderMap,
    settings: &SessionSettings,
) -> Option<(String, Credential)> {
    if let Some(token) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| is_session_id(token))
    {
        return Some((token.to_owned(), Credential::Bearer));
    }
    let secure_name = settings.cookie_name(true);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            (*name == settings.cookie_name || *name == secure_name) && is_session_id(value)
        })
        .map(|(_, value)| (value.to_owned(), Credential::Cookie))
}

/// Whether `text` has the shape of a session id (anything else is never looked up).
pub(crate) fn is_session_id(text: &str) -> bool {
    text.len() == ID_LENGTH
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The digest a session id is stored under.
pub(crate) fn stored_hash(id: &str) -> [u8; 32] {
    sha256(id.as_bytes())
}

/// A session known valid a moment ago.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    pub user: Arc<User>,
    pub created: i64,
    pub last_seen: i64,
    checked: Instant,
}

/// Sessions known valid, by stored hash, for [`REMEMBERED_FOR`].
#[derive(Debug, Default)]
pub(crate) struct SessionMemory {
    sessions: Mutex<HashMap<[u8; 32], Remembered>>,
}

impl SessionMemory {
    /// The session under `hash`, if known valid recently.
    pub(crate) fn recall(&self, hash: &[u8; 32]) -> Option<Remembered> {
        let sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions
            .get(hash)
            .filter(|remembered| remembered.checked.elapsed() < REMEMBERED_FOR)
            .cloned()
    }

    /// Remembers that the session under `hash` is valid now.
    pub(crate) fn remember(&self, hash: [u8; 32], user: Arc<User>, created: i64, last_seen: i64) {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if sessions.len() >= REMEMBERED_AT_MOST {
            sessions.retain(|_, remembered| remembered.checked.elapsed() < REMEMBERED_FOR);
            if sessions.len() >= REMEMBERED_AT_MOST {
                sessions.clear();
            }
        }
        sessions.insert(
            hash,
            Remembered {
                user,
                created,
                last_seen,
                checked: Instant::now(),
            },
        );
    }

    /// Notes a new last use of the session under `hash`.
    pub(crate) fn touched(&self, hash: &[u8; 32], now: i64) {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(remembered) = sessions.get_mut(hash) {
            remembered.last_seen = now;
        }
    }

    /// Forgets the session under `hash` (signed out or evicted).
    pub(crate) fn forget(&self, hash: &[u8]) {
        let Ok(hash) = <[u8; 32]>::try_from(hash) else {
            return;
        };
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions.remove(&hash);
    }

    /// Forgets every session of `user_id` (a role changed).
    pub(crate) fn forget_user(&self, user_id: &str) {
        let mut sessions = self
            .sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        sessions.retain(|_, remembered| remembered.user.id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::random_token;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn cookies_carry_the_attributes_and_the_host_prefix_over_https() {
        let settings = SessionSettings::default();
        let plain = settings.set_cookie("ID", false);
        assert_eq!(
            plain,
            "ferry_session=ID; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
        );
        let secure = settings.set_cookie("ID", true);
        assert_eq!(
            secure,
            "__Host-ferry_session=ID; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure"
        );
        assert!(
            settings
                .clear_cookie(true)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn the_session_id_is_read_from_cookie_or_bearer_and_nothing_else() {
        let settings = SessionSettings::default();
        let id = random_token();
        let cookie = format!("theme=dark; ferry_session={id}");
        assert_eq!(
            presented(&headers(&[("cookie", &cookie)]), &settings),
            Some((id.clone(), Credential::Cookie))
        );
        let bearer = format!("Bearer {id}");
        assert_eq!(
            presented(&headers(&[("authorization", &bearer)]), &settings),
            Some((id.clone(), Credential::Bearer))
        );
        for bad in [
            "ferry_session=short",
            "ferry_session=",
            "other=0123456789012345678901234567890123456789012",
            "ferry_session=012345678901234567890123456789012345678901!",
        ] {
            assert_eq!(
                presented(&headers(&[("cookie", bad)]), &settings),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            presented(
                &headers(&[("authorization", "Basic dXNlcjpwYXNz")]),
                &settings
            ),
            None
        );
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let settings = SessionSettings {
            idle_timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(100),
            ..SessionSettings::default()
        };
        assert!(settings.is_alive(0, 0, 9));
        assert!(!settings.is_alive(0, 0, 10), "idle");
        assert!(settings.is_alive(0, 95, 99));
        assert!(
            !settings.is_alive(0, 95, 100),
            "too old however recently used"
        );
    }

    #[test]
    fn cookie_names_are_tokens() {
        assert!(SessionSettings::valid_cookie_name("ferry_session"));
        for bad in ["", "a b", "a;b", "a=b", "ä"] {
            assert!(!SessionSettings::valid_cookie_name(bad), "{bad}");
        }
    }
}
