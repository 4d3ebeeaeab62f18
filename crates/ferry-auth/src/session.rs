//! Sessions: an opaque 256-bit id in an `HttpOnly; SameSite=Lax` cookie (with `Secure` and
//! the `__Host-` prefix over HTTPS), stored only as its SHA-256 digest; a sliding idle
//! timeout, an absolute maximum age and a cap on sessions per user. Valid sessions are
//! remembered for a few seconds so that a signed-in request costs no database read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderValue;
use http::header::{AUTHORIZATION, COOKIE};

use crate::identity::{Credential, User};
use crate::secret::sha256;

/// The cookie's name over plain HTTP; over HTTPS it carries the `__Host-` prefix.
pub const DEFAULT_COOKIE_NAME: &str = "ferry_session";
/// How long a session known valid is trusted before the store is asked again (a session
/// deleted on another node ends here within this time).
const REMEMBERED_FOR_SECS: i64 = 5;
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

/// Which bytes base64url uses.
const BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let c = byte as u8;
        table[byte] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        byte += 1;
    }
    table
};

/// A session id as the browser holds it: 43 base64url characters (256 bits). Checked for
/// shape when read, so nothing else is ever looked up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionId([u8; ID_LENGTH]);

impl std::hash::Hash for SessionId {
    /// Its first eight characters: ids are random, and only ids of real sessions are ever
    /// inserted into a map, so nobody can choose colliding keys (no keyed hash is needed).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

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

impl SessionId {
    /// `text` if it has the shape of a session id.
    pub(crate) fn parse(text: &str) -> Option<SessionId> {
        SessionId::from_bytes(text.as_bytes())
    }

    fn from_bytes(bytes: &[u8]) -> Option<SessionId> {
        SessionId::unchecked(bytes).filter(SessionId::is_well_formed)
    }

    /// `bytes` as an id, if they are as long as one, their characters not yet checked: good
    /// for looking a session up in memory (only real ids are there); the store is asked
    /// only after [`SessionId::is_well_formed`].
    fn unchecked(bytes: &[u8]) -> Option<SessionId> {
        Some(SessionId(bytes.try_into().ok()?))
    }

    /// Whether every character is base64url.
    pub(crate) fn is_well_formed(&self) -> bool {
        let mut valid = true;
        for byte in self.0 {
            valid &= BASE64URL[usize::from(byte)];
        }
        valid
    }

    /// The digest the session is stored under.
    pub(crate) fn stored_hash(&self) -> [u8; 32] {
        sha256(&self.0)
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A session id is a credential: never printed.
        f.write_str("SessionId(<redacted>)")
    }
}

/// The session cookie's two names, made once: plain, and with `__Host-` for HTTPS.
#[derive(Debug, Clone)]
pub(crate) struct CookieNames {
    plain: String,
    secure: String,
}

impl CookieNames {
    pub(crate) fn new(settings: &SessionSettings) -> CookieNames {
        CookieNames {
            plain: settings.cookie_name(false),
            secure: settings.cookie_name(true),
        }
    }

    /// The session id of a `Cookie` value that is exactly `NAME=ID`, one of the two names.
    fn only_session(&self, value: &[u8]) -> Option<SessionId> {
        [&self.plain, &self.secure].into_iter().find_map(|name| {
            let name = name.as_bytes();
            (value.len() == name.len() + 1 + ID_LENGTH
                && value.starts_with(name)
                && value[name.len()] == b'=')
                .then(|| SessionId::unchecked(&value[name.len() + 1..]))
                .flatten()
        })
    }
}

/// The session id a request presents, and how: a bearer token, else the cookie.
pub(crate) fn presented(
    headers: &http::HeaderMap,
    names: &CookieNames,
) -> Option<(SessionId, Credential)> {
    if let Some(authorization) = headers.get(AUTHORIZATION) {
        let value = authorization.as_bytes();
        if value.len() > 7
            && value[..7].eq_ignore_ascii_case(b"bearer ")
            && let Some(id) = SessionId::from_bytes(value[7..].trim_ascii())
        {
            return Some((id, Credential::Bearer));
        }
    }
    headers
        .get_all(COOKIE)
        .iter()
        .find_map(|value| session_cookie(value.as_bytes(), names))
        .map(|id| (id, Credential::Cookie))
}

/// The session id in one `Cookie` header value (`a=1; ferry_session=ID; b=2`), read as bytes.
fn session_cookie(header: &[u8], names: &CookieNames) -> Option<SessionId> {
    cookie_pairs(header).find_map(|(name, value)| {
        (name == names.plain.as_bytes() || name == names.secure.as_bytes())
            .then(|| SessionId::from_bytes(value))
            .flatten()
    })
}

/// The `name=value` pairs of a `Cookie` header value, trimmed; pairs without `=` are
/// skipped.
fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    header.split(|byte| *byte == b';').filter_map(|pair| {
        let pair = pair.trim_ascii();
        let at = pair.iter().position(|byte| *byte == b'=')?;
        Some((&pair[..at], &pair[at + 1..]))
    })
}

/// Takes the session cookie out of `headers` — scripts and files never see a session id (a
/// script could otherwise send its caller's session elsewhere) — and returns the session
/// credential the request presents.
pub(crate) fn take_credential(
    headers: &mut http::HeaderMap,
    names: &CookieNames,
) -> Option<(SessionId, Credential)> {
    // Most signed-in requests carry one Cookie header holding only the session cookie:
    // recognised by its length and name, without scanning.
    let mut values = headers.get_all(COOKIE).iter();
    if let (Some(only), None) = (values.next(), values.next())
        && headers.get(AUTHORIZATION).is_none()
        && let Some(id) = names.only_session(only.as_bytes())
    {
        headers.remove(COOKIE);
        return Some((id, Credential::Cookie));
    }
    let found = presented(headers, names)?;
    if found.1 == Credential::Bearer {
        // Left in place: a bearer token may be something else than a session (an admin
        // token); the identity step removes it once a session is found.
        return Some(found);
    }
    let mut kept = Vec::new();
    for value in headers.get_all(COOKIE) {
        for (name, value) in cookie_pairs(value.as_bytes()) {
            if name != names.plain.as_bytes() && name != names.secure.as_bytes() {
                if !kept.is_empty() {
                    kept.extend_from_slice(b"; ");
                }
                kept.extend_from_slice(name);
                kept.push(b'=');
                kept.extend_from_slice(value);
            }
        }
    }
    headers.remove(COOKIE);
    if !kept.is_empty()
        && let Ok(value) = http::HeaderValue::from_bytes(&kept)
    {
        headers.insert(COOKIE, value);
    }
    Some(found)
}

/// A session known valid a moment ago.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    pub user: Arc<User>,
    pub created: i64,
    pub last_seen: i64,
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

    /// The session `id`, if known valid recently (`now` in seconds since the Unix epoch).
    pub(crate) fn recall(&self, id: &SessionId, now: i64) -> Option<Remembered> {
        self.lock()
            .get(id)
            .filter(|remembered| now - remembered.checked < REMEMBERED_FOR_SECS)
            .cloned()
    }

    /// Remembers that the session `id` (stored under `hash`) is valid `now`.
    pub(crate) fn remember(
        &self,
        id: SessionId,
        hash: [u8; 32],
        user: Arc<User>,
        (created, last_seen): (i64, i64),
        now: i64,
    ) -> Remembered {
        let remembered = Remembered {
            user,
            created,
            last_seen,
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

    /// Forgets every session of `user_id` (a role changed).
    pub(crate) fn forget_user(&self, user_id: &str) {
        self.lock()
            .retain(|_, remembered| remembered.user.id != user_id);
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
        let settings = CookieNames::new(&SessionSettings::default());
        let id = random_token();
        let parsed = SessionId::parse(&id).unwrap();
        let cookie = format!("theme=dark; ferry_session={id}");
        assert_eq!(
            presented(&headers(&[("cookie", &cookie)]), &settings),
            Some((parsed, Credential::Cookie))
        );
        let secure = format!("__Host-ferry_session={id}");
        assert_eq!(
            presented(&headers(&[("cookie", &secure)]), &settings),
            Some((parsed, Credential::Cookie))
        );
        let bearer = format!("Bearer {id}");
        assert_eq!(
            presented(&headers(&[("authorization", &bearer)]), &settings),
            Some((parsed, Credential::Bearer))
        );
        assert_eq!(parsed.stored_hash(), sha256(id.as_bytes()));
        let spaced = format!("a=1 ;  ferry_session={id} ; b=2");
        assert_eq!(
            presented(
                &headers(&[("cookie", "x=y"), ("cookie", &spaced)]),
                &settings
            ),
            Some((parsed, Credential::Cookie))
        );
        assert!(!format!("{parsed:?}").contains(&id));
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
    fn the_credential_is_taken_out_of_the_headers_and_other_cookies_stay() {
        let names = CookieNames::new(&SessionSettings::default());
        let id = random_token();
        let mut map = headers(&[
            ("cookie", &format!("a=1; ferry_session={id}; b=2")),
            ("cookie", "c=3"),
        ]);
        assert!(take_credential(&mut map, &names).is_some());
        assert_eq!(
            map.get_all(COOKIE).iter().collect::<Vec<_>>(),
            ["a=1; b=2; c=3"]
        );
        let mut only = headers(&[("cookie", &format!("__Host-ferry_session={id}"))]);
        assert!(take_credential(&mut only, &names).is_some());
        assert!(only.get(COOKIE).is_none());
        let bearer_header = format!("Bearer {id}");
        let mut bearer = headers(&[("authorization", &bearer_header), ("cookie", "a=1")]);
        let taken = take_credential(&mut bearer, &names).unwrap();
        assert_eq!(taken.1, Credential::Bearer);
        assert!(
            bearer.get(AUTHORIZATION).is_some(),
            "removed once it proves a session"
        );
        assert_eq!(bearer.get(COOKIE).unwrap(), "a=1");
        // A malformed id is taken out too, and never reaches the store.
        let malformed = format!("ferry_session={}!", &id[..42]);
        let mut bad = headers(&[("cookie", &malformed)]);
        let (taken, _) = take_credential(&mut bad, &names).unwrap();
        assert!(!taken.is_well_formed() && bad.get(COOKIE).is_none());
        let mut none = headers(&[("cookie", "a=1"), ("authorization", "Bearer short")]);
        assert!(take_credential(&mut none, &names).is_none());
        assert_eq!(none.len(), 2, "nothing else is touched");
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
