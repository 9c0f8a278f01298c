//! Which action failures are worth another attempt (the queue's retry schedule says when), and
//! the nonce that makes a repeated message send land once.

use std::time::Duration;

use crate::run::{ActionError, RunId};

/// Whether an action's failure may go away by itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Class {
    /// Discord 5xx, 429, a timeout, no answer, or hookbot's governor holding calls back: try
    /// again, after `retry_after` when Discord (or the governor) said how long.
    Transient {
        retry_after: Option<Duration>,
        /// False for the governor's own holds: they do not use up an attempt.
        counts: bool,
    },
    /// 400, 401, 403, 404, an invalid value, a name that matches nothing: another attempt
    /// would fail the same way.
    Permanent,
}

pub fn classify(error: &ActionError) -> Class {
    let retry_after = error.retry_after_ms.map(Duration::from_millis);
    if error.code == "paused" {
        return Class::Transient {
            retry_after,
            counts: false,
        };
    }
    match error.http_status {
        Some(429) | Some(408) => Class::Transient {
            retry_after,
            counts: true,
        },
        Some(status) if status >= 500 => Class::Transient {
            retry_after,
            counts: true,
        },
        Some(_) => Class::Permanent,
        // No answer at all: a Discord call that timed out or found nothing listening. (The
        // http_request action's own failures have the code `http_error` and are not retried.)
        None if matches!(error.code.as_str(), "timeout" | "unreachable") => Class::Transient {
            retry_after: None,
            counts: true,
        },
        None => Class::Permanent,
    }
}

/// The nonce of the message send at journal index `step` of `run` in the install `install_id`
/// ([`Engine::install_id`](crate::engine::Engine::install_id)): the same on every attempt and
/// after a restart, different for every send, and different from every other install's (a
/// wiped database hands out the same run ids again, and Discord would answer a repeated nonce
/// with the earlier message instead of sending the new one). 25 hex digits of a SHA-256 of the
/// three, as long as Discord allows.
pub fn nonce(install_id: u128, run: RunId, step: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(install_id.to_be_bytes());
    hash.update(run.0.to_be_bytes());
    hash.update((step as u64).to_be_bytes());
    let hex: String = hash
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    hex[..25].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: Option<u16>, code: &str) -> ActionError {
        ActionError {
            message: "x".into(),
            code: code.into(),
            discord_code: None,
            http_status: status,
            retry_after_ms: None,
        }
    }

    #[test]
    fn server_errors_timeouts_and_429s_are_transient() {
        for status in [500, 502, 503, 504, 429] {
            assert!(
                matches!(
                    classify(&error(Some(status), &status.to_string())),
                    Class::Transient { counts: true, .. }
                ),
                "{status}"
            );
        }
        assert!(matches!(
            classify(&error(None, "timeout")),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify(&error(None, "unreachable")),
            Class::Transient { .. }
        ));
        let mut limited = error(Some(429), "429");
        limited.retry_after_ms = Some(1500);
        assert_eq!(
            classify(&limited),
            Class::Transient {
                retry_after: Some(Duration::from_millis(1500)),
                counts: true
            }
        );
        let mut paused = error(None, "paused");
        paused.retry_after_ms = Some(60_000);
        assert_eq!(
            classify(&paused),
            Class::Transient {
                retry_after: Some(Duration::from_secs(60)),
                counts: false
            }
        );
    }

    #[test]
    fn refusals_and_bad_values_are_permanent() {
        for status in [400, 401, 403, 404] {
            assert_eq!(
                classify(&error(Some(status), "50013")),
                Class::Permanent,
                "{status}"
            );
        }
        for code in ["invalid", "not_found", "budget", "http_error"] {
            assert_eq!(classify(&error(None, code)), Class::Permanent, "{code}");
        }
    }

    #[test]
    fn nonces_fit_discord_and_are_stable_and_distinct() {
        let longest = nonce(u128::MAX, RunId(u64::MAX), u32::MAX as usize);
        assert!(longest.len() <= 25, "{longest}");
        assert_eq!(nonce(1, RunId(7), 3), nonce(1, RunId(7), 3));
        assert_ne!(nonce(1, RunId(7), 3), nonce(1, RunId(7), 4));
        assert_ne!(nonce(1, RunId(7), 3), nonce(1, RunId(8), 3));
        // Another install (a wiped database) with the same run id and step.
        assert_ne!(nonce(1, RunId(7), 3), nonce(2, RunId(7), 3));
    }
}
