//! One quota's buckets, one per client — an address, or a signed-in user — (GCRA, from the
//! `governor` crate), and what they say about a request.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use http::HeaderValue;

use super::quota::RateLimitQuota;

/// Who a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Client {
    /// A client address (anonymous requests).
    Address(IpAddr),
    /// A key a step before the limit set (a signed-in user), wherever they call from.
    Key(Arc<str>),
}

type KeyedLimiter =
    RateLimiter<Client, DefaultKeyedStateStore<Client>, DefaultClock, StateInformationMiddleware>;

/// How often, at most, buckets of clients that have gone quiet are dropped.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// One quota's buckets, one per client.
pub(super) struct Limiter {
    pub(super) quota: RateLimitQuota,
    pub(super) buckets: KeyedLimiter,
    /// `RateLimit-Policy`, e.g. `100;w=1`.
    pub(super) policy: HeaderValue,
    pub(super) limit: HeaderValue,
    created: Instant,
    /// Seconds since `created` at the last clean-up.
    forgotten_at: AtomicU64,
}

/// What one limit said about one request.
pub(super) enum Verdict {
    Allowed { remaining: u32, reset: Duration },
    Refused { retry_after: Duration },
}

impl Limiter {
    pub(super) fn new(quota: RateLimitQuota) -> Self {
        let interval = quota.period / quota.requests.get();
        let governor_quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("the interval is above zero")
            .allow_burst(quota.requests);
        Limiter {
            quota,
            buckets: RateLimiter::keyed(governor_quota).with_middleware(),
            policy: HeaderValue::from_str(&format!(
                "{};w={}",
                quota.requests,
                quota.period.as_secs()
            ))
            .expect("digits and ;w= are valid header text"),
            limit: HeaderValue::from(quota.requests.get()),
            created: Instant::now(),
            forgotten_at: AtomicU64::new(0),
        }
    }

    pub(super) fn check(&self, client: &Client) -> Verdict {
        self.forget_quiet_clients();
        match self.buckets.check_key(client) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.quota.requests.get().saturating_sub(remaining);
                Verdict::Allowed {
                    remaining,
                    reset: self.quota.period / self.quota.requests.get() * used,
                }
            }
            Err(not_until) => Verdict::Refused {
                retry_after: not_until.wait_time_from(self.buckets.clock().now()),
            },
        }
    }

    /// Drops the buckets of clients whose allowance is full again, so the table does not
    /// grow with every address ever seen.
    fn forget_quiet_clients(&self) {
        let now = self.created.elapsed().as_secs();
        let last = self.forgotten_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) < FORGET_EVERY.as_secs() {
            return;
        }
        if self
            .forgotten_at
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
    }
}
