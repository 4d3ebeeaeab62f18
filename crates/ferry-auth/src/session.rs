//! Sessions: an opaque 256-bit id in an `HttpOnly; SameSite=Lax` cookie (with `Secure` and
//! the `__Host-` prefix over HTTPS), stored only as its SHA-256 digest; a sliding idle
//! timeout, an absolute maximum age and a cap on sessions per user. Reading the id from a
//! request is `credential`'s job; remembering valid sessions, `session_memory`'s.

use std::time::Duration;

use http::HeaderValue;

/// The cookie's name over plain HTTP; over HTTPS it carries the `__Host-` prefix.
pub const DEFAULT_COOKIE_NAME: &str = "ferry_session";

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

#[cfg(test)]
mod tests {
    use super::*;

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
