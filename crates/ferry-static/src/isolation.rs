//! Cross-origin isolation headers, so `SharedArrayBuffer` and WebAssembly threads work.
//!
//! A page is cross-origin isolated (`crossOriginIsolated === true`) when its document is
//! served with `Cross-Origin-Opener-Policy: same-origin` and a `Cross-Origin-Embedder-Policy`
//! of `require-corp` or `credentialless`. Ferry sends these on every response by default,
//! plus `Cross-Origin-Resource-Policy` so its own resources may be embedded by such pages.

use http::{HeaderName, HeaderValue};

/// Which cross-origin isolation headers to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossOriginIsolation {
    /// COOP `same-origin`, COEP `require-corp` (every cross-origin resource the page loads
    /// must opt in with CORP or CORS). The default.
    #[default]
    RequireCorp,
    /// COOP `same-origin`, COEP `credentialless` (cross-origin resources load without
    /// credentials instead of needing to opt in).
    Credentialless,
    /// No isolation headers.
    Off,
}

const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
const COEP: HeaderName = HeaderName::from_static("cross-origin-embedder-policy");
const CORP: HeaderName = HeaderName::from_static("cross-origin-resource-policy");

impl CrossOriginIsolation {
    /// The headers to send with every response. `cors` says whether CORS is on: then other
    /// origins are meant to use these resources, so CORP is `cross-origin` rather than
    /// `same-origin`.
    pub fn headers(self, cors: bool) -> Vec<(HeaderName, HeaderValue)> {
        let corp = if cors {
            HeaderValue::from_static("cross-origin")
        } else {
            HeaderValue::from_static("same-origin")
        };
        match self {
            CrossOriginIsolation::RequireCorp => vec![
                (COOP, HeaderValue::from_static("same-origin")),
                (COEP, HeaderValue::from_static("require-corp")),
                (CORP, corp),
            ],
            CrossOriginIsolation::Credentialless => vec![
                (COOP, HeaderValue::from_static("same-origin")),
                (COEP, HeaderValue::from_static("credentialless")),
                (CORP, corp),
            ],
            CrossOriginIsolation::Off => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_isolation_requires_corp() {
        let headers = CrossOriginIsolation::default().headers(false);
        assert!(headers.contains(&(COOP, HeaderValue::from_static("same-origin"))));
        assert!(headers.contains(&(COEP, HeaderValue::from_static("require-corp"))));
        assert!(headers.contains(&(CORP, HeaderValue::from_static("same-origin"))));
    }

    #[test]
    fn cors_makes_resources_cross_origin_and_off_sends_nothing() {
        let headers = CrossOriginIsolation::Credentialless.headers(true);
        assert!(headers.contains(&(COEP, HeaderValue::from_static("credentialless"))));
        assert!(headers.contains(&(CORP, HeaderValue::from_static("cross-origin"))));
        assert!(CrossOriginIsolation::Off.headers(false).is_empty());
    }
}
