//! What hookbot knows before Discord answers: the bot's id from its token, and how long to
//! wait between attempts to reach Discord.

use std::time::Duration;

use crate::backoff::Backoff;

/// The wait after the first failed attempt to reach Discord; each further wait is twice as long.
pub const RECONNECT_FIRST: Duration = Duration::from_secs(1);
/// No wait between two attempts to reach Discord is longer than this (before jitter).
pub const RECONNECT_CAP: Duration = Duration::from_secs(30);
/// The wait before attempt `attempt + 1`: [`RECONNECT_FIRST`] doubled for each failed attempt,
/// at most [`RECONNECT_CAP`], moved by up to a fifth either way (`jitter` from -1 to 1) so many
/// bots do not all come back at the same instant after an outage.
pub fn reconnect_backoff(attempt: u32, jitter: f64) -> Duration {
    Backoff {
        first: RECONNECT_FIRST,
        cap: RECONNECT_CAP,
    }
    .wait(attempt, jitter)
}

/// The bot's user id read from its token, whose first part is the id in base64; `None` for a
/// token of another shape (a stand-in's).
pub fn bot_id_from_token(token: &str) -> Option<u64> {
    use base64::Engine;
    let first = token.trim().trim_start_matches("Bot ").split('.').next()?;
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(first.trim_end_matches('='))
        .ok()?;
    std::str::from_utf8(&decoded)
        .ok()?
        .parse()
        .ok()
        .filter(|id| *id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_id_comes_from_the_token() {
        // "123456789012345678" in base64, as Discord puts it in front of a token.
        let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz";
        assert_eq!(bot_id_from_token(token), Some(123456789012345678));
        assert_eq!(
            bot_id_from_token(&format!("Bot {token}")),
            Some(123456789012345678)
        );
        assert_eq!(bot_id_from_token("not a token"), None);
        assert_eq!(bot_id_from_token("test-token"), None);
    }

    #[test]
    fn reconnecting_backs_off_to_a_cap() {
        assert_eq!(reconnect_backoff(1, 0.0), RECONNECT_FIRST);
        assert_eq!(reconnect_backoff(2, 0.0), RECONNECT_FIRST * 2);
        assert_eq!(reconnect_backoff(100, 0.0), RECONNECT_CAP);
        assert_eq!(reconnect_backoff(u32::MAX, 1.0), RECONNECT_CAP.mul_f64(1.2));
        assert_eq!(reconnect_backoff(1, -1.0), RECONNECT_FIRST.mul_f64(0.8));
    }
}
