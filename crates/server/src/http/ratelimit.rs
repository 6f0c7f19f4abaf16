//! Global per-IP request rate limit (token bucket from `governor`) and the
//! login throttle (failed attempts per IP and per username).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::extract::ClientIp;
use crate::error::ApiError;

/// Requests per second per IP, with a burst of four seconds' worth.
#[derive(Clone)]
pub struct IpRateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for IpRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IpRateLimit")
    }
}

impl IpRateLimit {
    /// `per_second` requests per second per IP (0 turns the limit off).
    pub fn new(per_second: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(per_second.saturating_mul(4)).unwrap_or(rate);
        let limiter = DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst));
        Some(IpRateLimit {
            limiter: Arc::new(limiter),
        })
    }

    /// `Err(retry_after)` when the IP is over its limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let r = self
            .limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()));
        // Keep the key table from growing without bound under many addresses.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        r
    }
}

/// Middleware: 429 with `Retry-After` once an IP exceeds the global limit.
pub async fn limit_per_ip(State(limit): State<IpRateLimit>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = ClientIp::from_parts(&parts).0;
    if let Err(after) = limit.check(ip) {
        return ApiError::RateLimited(after).into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Counts failed logins in a sliding window per key; blocks once the count
/// reaches the limit until the oldest failure leaves the window.
#[derive(Debug)]
pub struct FailureThrottle<K> {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<K, Vec<Instant>>>,
}

impl<K: Eq + Hash + Clone> FailureThrottle<K> {
    /// At most `max_failures` failures per `window` per key.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        FailureThrottle {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Vec<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(retry_after)` while `key` is blocked.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.lock();
        let Some(times) = map.get_mut(key) else {
            return Ok(());
        };
        times.retain(|t| now.duration_since(*t) < self.window);
        if times.len() >= self.max_failures {
            let oldest = times.first().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        Ok(())
    }

    /// Records one failure for `key`.
    pub fn fail(&self, key: K) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 50_000 {
            map.retain(|_, v| {
                v.last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        map.entry(key).or_default().push(now);
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn clear(&self, key: &K) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_blocks_after_the_limit_and_clears_on_success() {
        let t = FailureThrottle::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(t.check(&"bob").is_ok());
            t.fail("bob");
        }
        let after = t.check(&"bob").unwrap_err();
        assert!(after > Duration::from_secs(50) && after <= Duration::from_secs(60));
        assert!(t.check(&"alice").is_ok(), "other keys unaffected");
        t.clear(&"bob");
        assert!(t.check(&"bob").is_ok());
    }

    #[test]
    fn ip_limit_refuses_after_the_burst() {
        let l = IpRateLimit::new(1).unwrap();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..4 {
            assert!(l.check(ip).is_ok());
        }
        assert!(l.check(ip).is_err());
        assert!(l.check([10, 0, 0, 2].into()).is_ok());
        assert!(IpRateLimit::new(0).is_none());
    }
}
