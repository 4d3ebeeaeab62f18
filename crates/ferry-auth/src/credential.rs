//! The session credential of a request: the id in the session cookie, or in
//! `Authorization: Bearer`. Read as bytes on every request, so the common case — one
//! `Cookie` header holding only the session cookie — is recognised without scanning.

use http::header::{AUTHORIZATION, COOKIE};

use crate::secret::sha256;
use crate::session::SessionSettings;

/// How the request proved who it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The session cookie (a browser).
    Cookie,
    /// `Authorization: Bearer` with a session id (another program).
    Bearer,
    /// `Authorization: Bearer ferry_…` with a named API token the user made.
    Token,
    /// `Authorization: Bearer ferry_at_…` with an OAuth access token Ferry's authorization
    /// server issued to an MCP client; good at the MCP endpoint only.
    Access,
}

impl Credential {
    /// Whether the credential is a session id (cookie or bearer), as opposed to a token.
    pub(crate) fn is_session(self) -> bool {
        matches!(self, Credential::Cookie | Credential::Bearer)
    }
}

/// What every API token starts with, so that it is told from a session id at a glance (and
/// by secret scanners).
pub const TOKEN_PREFIX: &str = "ferry_";

/// What every OAuth access token starts with.
pub const ACCESS_TOKEN_PREFIX: &str = "ferry_at_";

/// What every OAuth refresh token starts with (never a credential for a request).
pub(crate) const REFRESH_TOKEN_PREFIX: &str = "ferry_rt_";

/// The length of a session id in the cookie (32 bytes, unpadded base64url).
const ID_LENGTH: usize = 43;

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
        if value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer ") {
            let token = value[7..].trim_ascii();
            if let Some(secret) = token.strip_prefix(ACCESS_TOKEN_PREFIX.as_bytes())
                && let Some(id) = SessionId::from_bytes(secret)
            {
                return Some((id, Credential::Access));
            }
            if let Some(secret) = token.strip_prefix(TOKEN_PREFIX.as_bytes())
                && let Some(id) = SessionId::from_bytes(secret)
            {
                return Some((id, Credential::Token));
            }
            if let Some(id) = SessionId::from_bytes(token) {
                return Some((id, Credential::Bearer));
            }
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
    if found.1 != Credential::Cookie {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::random_token;
    use http::HeaderValue;

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
        let token = format!("Bearer {TOKEN_PREFIX}{id}");
        assert_eq!(
            presented(&headers(&[("authorization", &token)]), &settings),
            Some((parsed, Credential::Token))
        );
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
}
