//! Token buckets: per event (`limits.per_event_per_minute`) and per client address for failed
//! authentication, so keys cannot be guessed at speed.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failed authentications an address may make at once before it is answered 429.
pub const AUTH_FAILURE_BURST: u32 = 20;
/// How fast that allowance refills.
pub const AUTH_FAILURES_PER_MINUTE: u32 = 60;
/// Past this many tracked keys, forgotten buckets are dropped so memory stays bounded.
const MAX_TRACKED_KEYS: usize = 10_000;

/// Counts only authenticated requests to known events.
pub struct EventRateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl EventRateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        EventRateLimiter {
            limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Takes one request from the event's bucket; `Err(seconds)` says when to retry.
    pub fn check(&self, event_id: &str) -> Result<(), u64> {
        match &self.limiter {
            Some(limiter) => take(limiter, &event_id.to_owned()),
            None => Ok(()),
        }
    }
}

/// Slows down an address that keeps presenting wrong keys: once its allowance of failures is
/// spent, every request from it is answered 429 until the allowance refills, without looking at
/// the key, so a guesser learns nothing faster than the refill rate.
pub struct AuthFailureGuard {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    blocked_until: Mutex<HashMap<IpAddr, Instant>>,
}

impl Default for AuthFailureGuard {
    fn default() -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(AUTH_FAILURES_PER_MINUTE).expect("non-zero"))
            .allow_burst(NonZeroU32::new(AUTH_FAILURE_BURST).expect("non-zero"));
        AuthFailureGuard {
            failures: RateLimiter::keyed(quota),
            blocked_until: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthFailureGuard {
    /// Seconds until `ip` may try again, if it is blocked now.
    pub fn blocked_for(&self, ip: IpAddr) -> Option<u64> {
        let mut blocked = self.blocked_until.lock().expect("auth guard lock poisoned");
        let until = *blocked.get(&ip)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&ip);
            return None;
        }
        Some(ceil_secs(until - now))
    }

    /// Records a failed attempt; `Some(seconds)` when this one spent the allowance.
    pub fn record_failure(&self, ip: IpAddr) -> Option<u64> {
        if self.failures.len() > MAX_TRACKED_KEYS {
            self.failures.retain_recent();
            self.failures.shrink_to_fit();
        }
        let wait = take(&self.failures, &ip).err()?;
        let mut blocked = self.blocked_until.lock().expect("auth guard lock poisoned");
        let now = Instant::now();
        if blocked.len() > MAX_TRACKED_KEYS {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(ip, now + Duration::from_secs(wait));
        Some(wait)
    }
}

fn take<K: Clone + Hash + Eq>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), u64> {
    limiter
        .check_key(key)
        .map_err(|not_until| ceil_secs(not_until.wait_time_from(DefaultClock::default().now())))
}

/// Retry-After is whole seconds; never tell a client to retry at once when it must wait.
fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_limit_allows_a_burst_then_refuses() {
        let limiter = EventRateLimiter::new(3);
        for _ in 0..3 {
            assert_eq!(limiter.check("a"), Ok(()));
        }
        let wait = limiter.check("a").unwrap_err();
        assert!((1..=20).contains(&wait), "retry after {wait}s");
        assert_eq!(limiter.check("b"), Ok(()), "events have separate buckets");
    }

    #[test]
    fn zero_turns_the_event_limit_off() {
        let limiter = EventRateLimiter::new(0);
        for _ in 0..1000 {
            assert_eq!(limiter.check("a"), Ok(()));
        }
    }

    #[test]
    fn an_address_is_blocked_after_its_failure_allowance() {
        let guard = AuthFailureGuard::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..AUTH_FAILURE_BURST {
            assert_eq!(guard.record_failure(ip), None);
            assert_eq!(guard.blocked_for(ip), None);
        }
        assert!(guard.record_failure(ip).is_some());
        assert!(guard.blocked_for(ip).is_some());
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(guard.blocked_for(other), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1500)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
    }
}
