//! The retry schedule's rules: how many attempts, for how long, and the exponential backoff with
//! jitter between them (when Discord does not say how long to wait).

use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::DeliveryConfig;

/// The first retry comes about this long after the failure; each further one twice as late.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// No wait between two attempts is longer than this (before jitter).
pub const BACKOFF_CAP: Duration = Duration::from_secs(5 * 60);
/// A run's retries: from [`BACKOFF_BASE`], doubling, up to [`BACKOFF_CAP`].
const RUN_RETRIES: Backoff = Backoff {
    first: BACKOFF_BASE,
    cap: BACKOFF_CAP,
};

/// When a run that keeps failing transiently is given up on (dead-lettered).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts at one action, the first included.
    pub max_attempts: u32,
    /// Counted from the run's acceptance.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    pub fn from_config(delivery: &DeliveryConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: u32::try_from(delivery.max_attempts)
                .unwrap_or(u32::MAX)
                .max(1),
            give_up_after: delivery.give_up_after,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failed attempts (1 → about 1 s, 2 →
/// about 2 s, …, capped at [`BACKOFF_CAP`]). `jitter` is from -1 to 1: where in the ±20 % band ([`crate::backoff`]).
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    RUN_RETRIES.wait(attempt, jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(5, 0.0), Duration::from_secs(16));
        assert_eq!(backoff(30, 0.0), BACKOFF_CAP);
        assert_eq!(backoff(u32::MAX, 0.0), BACKOFF_CAP);
        assert_eq!(backoff(1, 1.0), Duration::from_millis(1200));
        assert_eq!(backoff(1, -1.0), Duration::from_millis(800));
        assert_eq!(backoff(30, 1.0), BACKOFF_CAP.mul_f64(1.2));
        for attempt in 1..40 {
            for jitter in [-1.0, -0.5, 0.0, 0.5, 1.0] {
                let wait = backoff(attempt, jitter);
                assert!(wait >= Duration::from_millis(800) && wait <= BACKOFF_CAP.mul_f64(1.2));
            }
        }
    }
}
