//! Bearer tokens (RFC 6750): the one check every token-guarded endpoint uses (the scripts'
//! management API, `/mcp`), so they cannot drift apart in how they read or compare it.
//!
//! ```
//! use ferry_core::bearer::BearerToken;
//!
//! let token = BearerToken::new("s3cret-token-of-some-length");
//! let request = http::Request::builder()
//!     .header("authorization", "Bearer s3cret-token-of-some-length")
//!     .body(())
//!     .unwrap();
//! assert!(token.admits(&request));
//! ```

use std::sync::Arc;

use http::header::AUTHORIZATION;
use http::{HeaderValue, Request};
use subtle::ConstantTimeEq;

/// The `WWW-Authenticate` challenge a request without the right token is answered with
/// (with status 401).
pub const CHALLENGE: HeaderValue = HeaderValue::from_static("Bearer realm=\"ferry\"");

/// A secret a request must present as `Authorization: Bearer <token>`. Its `Debug` form
/// never shows it.
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// The token `token` (surrounding whitespace is not part of it).
    pub fn new(token: &str) -> Self {
        BearerToken(Arc::from(token.trim()))
    }

    /// Whether `request` presents this token. The scheme is matched in any letter case (RFC
    /// 9110 §11.1) and whitespace around the token is ignored; the comparison takes the
    /// same time however much of the token matches.
    pub fn admits<B>(&self, request: &Request<B>) -> bool {
        let Some(presented) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
        else {
            return false;
        };
        bool::from(presented.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: Option<&str>) -> Request<()> {
        let mut builder = Request::builder();
        if let Some(header) = header {
            builder = builder.header(AUTHORIZATION, header);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_the_exact_token_is_admitted() {
        let token = BearerToken::new(" abcdefghijklmnop ");
        assert!(token.admits(&with(Some("Bearer abcdefghijklmnop"))));
        assert!(token.admits(&with(Some("bearer  abcdefghijklmnop "))));
        assert!(!token.admits(&with(Some("Bearer abcdefghijklmno"))));
        assert!(!token.admits(&with(Some("Bearer abcdefghijklmnopq"))));
        assert!(!token.admits(&with(Some("Basic abcdefghijklmnop"))));
        assert!(!token.admits(&with(Some("Bearer"))));
        assert!(!token.admits(&with(None)));
        assert_eq!(format!("{token:?}"), "BearerToken(<redacted>)");
    }
}
