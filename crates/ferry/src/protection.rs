//! The protective steps both server commands share, built from their flags: security
//! response headers, CORS and rate limits (the stack orders them).

use std::time::Duration;

use anyhow::anyhow;
use ferry_core::layers::{CorsLayer, FrameOptions, RateLimitLayer, SecurityHeaders};
use http::{HeaderValue, Method};

use crate::cli::{FrameOptionsArg, LimitArgs, SecurityArgs};

/// What a command sends when its flags leave a security header unset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecurityDefaults {
    /// X-Frame-Options.
    pub frame_options: FrameOptionsArg,
    /// Strict-Transport-Security max-age, when serving HTTPS.
    pub hsts: Option<Duration>,
}

/// The security headers the flags ask for (none with `--no-security-headers`).
pub(crate) fn security_headers(
    args: &SecurityArgs,
    defaults: SecurityDefaults,
) -> anyhow::Result<Option<SecurityHeaders>> {
    if args.no_security_headers {
        return Ok(None);
    }
    let value = |value: &str, flag: &str| {
        HeaderValue::from_str(value)
            .map_err(|_| anyhow!("--{flag}: `{value}` cannot be sent in a header"))
    };
    Ok(Some(SecurityHeaders {
        frame_options: match args.frame_options.unwrap_or(defaults.frame_options) {
            FrameOptionsArg::Deny => Some(FrameOptions::Deny),
            FrameOptionsArg::Sameorigin => Some(FrameOptions::SameOrigin),
            FrameOptionsArg::Off => None,
        },
        referrer_policy: (args.referrer_policy != "off")
            .then(|| value(&args.referrer_policy, "referrer-policy"))
            .transpose()?,
        content_security_policy: args
            .csp
            .as_deref()
            .map(|csp| value(csp, "csp"))
            .transpose()?,
        hsts: match args.hsts {
            Some(0) => None,
            Some(seconds) => Some(Duration::from_secs(seconds)),
            None => defaults.hsts,
        },
    }))
}

/// The CORS layer the flags ask for, if any. `any_origin` is `ferry serve --cors`;
/// `methods` are allowed unless --cors-methods says otherwise.
pub(crate) fn cors(
    args: &SecurityArgs,
    any_origin: bool,
    methods: &[Method],
) -> anyhow::Result<Option<CorsLayer>> {
    if args.cors_origin.is_empty() && !any_origin {
        return Ok(None);
    }
    let mut layer = if any_origin {
        CorsLayer::any_origin()
    } else {
        CorsLayer::allow_origins(args.cors_origin.iter().map(String::as_str))
            .map_err(|error| anyhow!("--cors-origin: {error}"))?
    };
    let methods = if args.cors_methods.is_empty() {
        methods
    } else {
        &args.cors_methods
    };
    layer = layer
        .allow_methods(methods)
        .allow_credentials(args.cors_credentials)
        .max_age(Duration::from_secs(args.cors_max_age));
    if !args.cors_headers.is_empty() {
        let names: Vec<&str> = args.cors_headers.iter().map(String::as_str).collect();
        layer = layer
            .allow_headers(&names)
            .map_err(|error| anyhow!("--cors-headers: {error}"))?;
    }
    Ok(Some(layer))
}

/// The rate-limit layer the flags ask for, if any (the stack exempts its own health and
/// metrics paths).
pub(crate) fn rate_limits(args: &LimitArgs) -> Option<RateLimitLayer> {
    let mut layer = RateLimitLayer::new();
    if let Some(quota) = args.rate_limit {
        layer = layer.limit_all(quota);
    }
    for rule in &args.rate_limit_route {
        layer = layer.limit(rule.clone());
    }
    (!layer.is_empty()).then_some(layer)
}
