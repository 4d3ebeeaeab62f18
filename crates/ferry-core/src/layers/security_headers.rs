//! The security response headers a web server should send, as one typed set: what
//! `ferry serve` and `ferry run` send, and what a library user gets with
//! `SecurityHeaders::default()`. It fills a [`ResponseHeadersLayer`], never overriding a
//! header a handler set itself.

use std::time::Duration;

use http::HeaderValue;

use super::ResponseHeadersLayer;

/// Who may show the responses in a frame (`X-Frame-Options`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOptions {
    /// No page may frame them (`DENY`).
    Deny,
    /// Only pages of the same origin may (`SAMEORIGIN`).
    SameOrigin,
}

/// The security headers sent with every answer whose handler did not set them:
/// `X-Content-Type-Options: nosniff` always, and the ones below where set.
///
/// ```
/// use ferry_core::layers::{ResponseHeadersLayer, SecurityHeaders};
///
/// let layer = SecurityHeaders::default().add_to(ResponseHeadersLayer::new(), false);
/// // nosniff, X-Frame-Options and Referrer-Policy; HSTS is off and only sent over HTTPS.
/// assert_eq!(layer.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    /// `X-Frame-Options`, or none. Default [`FrameOptions::Deny`].
    pub frame_options: Option<FrameOptions>,
    /// `Referrer-Policy`, or none. Default `strict-origin-when-cross-origin`.
    pub referrer_policy: Option<HeaderValue>,
    /// `Content-Security-Policy`, or none. Default none: a policy is the site's to write.
    pub content_security_policy: Option<HeaderValue>,
    /// `Strict-Transport-Security`'s max-age, sent over HTTPS only. Default none: pinning
    /// browsers to HTTPS outlives a test certificate.
    pub hsts: Option<Duration>,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders {
            frame_options: Some(FrameOptions::Deny),
            referrer_policy: Some(HeaderValue::from_static("strict-origin-when-cross-origin")),
            content_security_policy: None,
            hsts: None,
        }
    }
}

impl SecurityHeaders {
    /// A year: the usual `Strict-Transport-Security` max-age.
    pub const HSTS_ONE_YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

    /// Adds these headers to `layer`, each only where a handler did not set its own;
    /// `Strict-Transport-Security` only when the server speaks HTTPS (`tls`).
    pub fn add_to(&self, layer: ResponseHeadersLayer, tls: bool) -> ResponseHeadersLayer {
        let mut layer = layer.set_if_absent(
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(frame_options) = self.frame_options {
            let value = match frame_options {
                FrameOptions::Deny => "DENY",
                FrameOptions::SameOrigin => "SAMEORIGIN",
            };
            layer = layer.set_if_absent(
                http::header::X_FRAME_OPTIONS,
                HeaderValue::from_static(value),
            );
        }
        if let Some(policy) = &self.referrer_policy {
            layer = layer.set_if_absent(http::header::REFERRER_POLICY, policy.clone());
        }
        if let Some(policy) = &self.content_security_policy {
            layer = layer.set_if_absent(http::header::CONTENT_SECURITY_POLICY, policy.clone());
        }
        if let (true, Some(max_age)) = (tls, self.hsts) {
            let value = HeaderValue::from_str(&format!("max-age={}", max_age.as_secs()))
                .expect("letters, `=` and digits make a header value");
            layer = layer.set_if_absent(http::header::STRICT_TRANSPORT_SECURITY, value);
        }
        layer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_is_sent_over_https_only() {
        let headers = SecurityHeaders {
            hsts: Some(SecurityHeaders::HSTS_ONE_YEAR),
            ..SecurityHeaders::default()
        };
        assert_eq!(headers.add_to(ResponseHeadersLayer::new(), false).len(), 3);
        assert_eq!(headers.add_to(ResponseHeadersLayer::new(), true).len(), 4);
    }

    #[test]
    fn every_header_can_be_left_out_but_nosniff() {
        let none = SecurityHeaders {
            frame_options: None,
            referrer_policy: None,
            content_security_policy: None,
            hsts: None,
        };
        assert_eq!(none.add_to(ResponseHeadersLayer::new(), true).len(), 1);
    }
}
