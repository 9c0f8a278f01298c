//! Exponential backoff with jitter: the one rule for how long to wait before trying again, used
//! by a run's retries (`queue::retry`) and by the connection to Discord (`discord::client`).

use std::time::Duration;

/// Each wait is moved by up to this fraction either way, so what failed together does not all
/// come back at the same instant.
pub const JITTER: f64 = 0.2;

/// Waits that start at `first` and double after each failed attempt, up to `cap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    /// No wait is longer than this before jitter.
    pub cap: Duration,
}

impl Backoff {
    /// The wait before attempt `attempt + 1` after `attempt` failed attempts: `first` for 1,
    /// twice that for 2, …, at most `cap`. `jitter` is from -1 to 1: where in the ±[`JITTER`]
    /// band.
    pub fn wait(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let raw = self.first.saturating_mul(1u32 << exponent).min(self.cap);
        raw.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0))
    }
}
