//! Rate-limit quotas (`100/s`, `600/min`, `1000/h`) and the rules that apply one to the
//! paths under a prefix (`/api/login=5/min`), as flags and config files write them.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// How many requests a client may make in a period: `100/s`, `600/min`, `1000/h`. The whole
/// allowance may be used at once; it refills evenly over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitQuota {
    /// Requests allowed per period.
    pub requests: NonZeroU32,
    /// The period.
    pub period: Duration,
}

/// A quota that is not `N/s`, `N/min` or `N/h` with N at least 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a rate: write requests per period, such as 100/s, 600/min or 1000/h")]
pub struct InvalidQuota(pub String);

impl FromStr for RateLimitQuota {
    type Err = InvalidQuota;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidQuota(text.to_owned());
        let (count, unit) = text.trim().split_once('/').ok_or_else(invalid)?;
        let requests = count.trim().parse::<NonZeroU32>().map_err(|_| invalid())?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(invalid()),
        };
        Ok(RateLimitQuota { requests, period })
    }
}

impl std::fmt::Display for RateLimitQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// A limit on the paths under a prefix (`/api` covers `/api` and `/api/...`, not
/// `/apiary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    prefix: String,
    pub(super) quota: RateLimitQuota,
}

impl RateLimitRule {
    /// Limits requests whose path is `prefix` or lies under it.
    pub fn new(prefix: &str, quota: RateLimitQuota) -> Self {
        RateLimitRule {
            prefix: prefix.trim_end_matches(['/', '*']).to_owned(),
            quota,
        }
    }

    /// Whether the rule covers `path`: the prefix itself or a path below it.
    pub(super) fn applies_to(&self, path: &str) -> bool {
        match path.strip_prefix(&self.prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('/') || self.prefix.is_empty(),
            None => false,
        }
    }
}

/// A rule that is not `PATH=RATE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a route limit: write PATH=RATE, such as /api/login=5/min")]
pub struct InvalidRule(pub String);

impl FromStr for RateLimitRule {
    type Err = InvalidRule;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidRule(text.to_owned());
        let (path, rate) = text.split_once('=').ok_or_else(invalid)?;
        if !path.trim().starts_with('/') {
            return Err(invalid());
        }
        let quota = rate.parse().map_err(|_| invalid())?;
        Ok(RateLimitRule::new(path.trim(), quota))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_and_print() {
        let quota: RateLimitQuota = "600/min".parse().unwrap();
        assert_eq!(quota.requests.get(), 600);
        assert_eq!(quota.period, Duration::from_secs(60));
        assert_eq!(quota.to_string(), "600/min");
        for bad in ["", "0/s", "10", "10/day", "x/s", "-1/s"] {
            assert!(bad.parse::<RateLimitQuota>().is_err(), "{bad}");
        }
        let rule: RateLimitRule = "/api/login=5/min".parse().unwrap();
        assert!(rule.applies_to("/api/login"));
        assert!(rule.applies_to("/api/login/x"));
        assert!(!rule.applies_to("/api/loginx"));
        assert!(!rule.applies_to("/"));
        assert!("api=5/s".parse::<RateLimitRule>().is_err());
        assert!("/api=5".parse::<RateLimitRule>().is_err());
    }
}
