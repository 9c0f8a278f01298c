//! Discord's rate limits, when a test or benchmark asks for them: a global bucket over every
//! REST request and a bucket per channel for `POST /channels/{id}/messages`, answered as Discord
//! answers them (429 with `retry_after`, `Retry-After` and the `X-RateLimit-*` headers), and the
//! same headers on successful sends so a client can pace itself.
//!
//! Buckets are fixed windows that open at the first request after the last one closed, as
//! Discord's do: a bucket of 5 per 5 s takes 5 requests, then refuses until 5 s after the
//! first of them.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::wire::{Answer, API_PREFIX};

/// The limits the stand-in enforces; [`RateLimits::DISCORD`] is Discord's for a bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Every REST request counts (Discord: 50 a second).
    pub global_per_second: u32,
    /// `POST /channels/{id}/messages`, per channel, per `per_seconds` (Discord: 5 per 5 s).
    pub messages_per_channel: u32,
    /// The length of the per-channel window, in seconds.
    pub per_seconds: u32,
}

impl RateLimits {
    /// Discord's limits for a bot: 50 requests a second, 5 messages per channel per 5 s.
    pub const DISCORD: RateLimits = RateLimits {
        global_per_second: 50,
        messages_per_channel: 5,
        per_seconds: 5,
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::DISCORD
    }
}

/// The route bucket Discord names for message creation; the channel is its major parameter.
const MESSAGES_BUCKET: &str = "80c17d2f203122d936070c88c8d10f33";

/// A fixed window: `count` requests since `opened`, closing `length` after it.
#[derive(Clone, Copy, Debug)]
struct Window {
    opened: Instant,
    count: u32,
}

impl Window {
    /// The window in force at `now`, a fresh one when the last has closed.
    fn current(slot: &mut Option<Window>, now: Instant, length: Duration) -> &mut Window {
        let window = slot.get_or_insert(Window {
            opened: now,
            count: 0,
        });
        if now.duration_since(window.opened) >= length {
            *window = Window {
                opened: now,
                count: 0,
            };
        }
        window
    }

    fn reset_after(&self, now: Instant, length: Duration) -> Duration {
        (self.opened + length).saturating_duration_since(now)
    }
}

/// The buckets' state, kept in the stand-in's world.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: RateLimits,
    global: Option<Window>,
    channels: HashMap<u64, Option<Window>>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Limiter {
            limits,
            global: None,
            channels: HashMap::new(),
        }
    }

    fn channel_window(&self) -> Duration {
        Duration::from_secs(u64::from(self.limits.per_seconds.max(1)))
    }

    /// Takes one request out of its buckets at `now`: `Ok` with the headers a successful answer
    /// carries, or `Err` with Discord's 429. A refused request takes nothing.
    pub fn admit(
        &mut self,
        method: &str,
        path: &str,
        now: Instant,
    ) -> Result<Vec<(&'static str, String)>, Answer> {
        let second = Duration::from_secs(1);
        let global_limit = self.limits.global_per_second;
        let global = Window::current(&mut self.global, now, second);
        if global.count >= global_limit {
            let after = global.reset_after(now, second);
            return Err(limited(after, global_limit, 0, "global", true));
        }
        let Some(channel) = message_channel(method, path) else {
            global.count += 1;
            return Ok(Vec::new());
        };
        let length = self.channel_window();
        let limit = self.limits.messages_per_channel;
        let slot = self.channels.entry(channel).or_insert(None);
        let window = Window::current(slot, now, length);
        let after = window.reset_after(now, length);
        if window.count >= limit {
            return Err(limited(after, limit, 0, MESSAGES_BUCKET, false));
        }
        window.count += 1;
        let remaining = limit - window.count;
        Window::current(&mut self.global, now, second).count += 1;
        Ok(bucket_headers(limit, remaining, after, MESSAGES_BUCKET))
    }
}

/// The channel of `POST /api/v10/channels/{id}/messages`, the one route with a channel bucket.
fn message_channel(method: &str, path: &str) -> Option<u64> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    let route = path.strip_prefix(API_PREFIX)?;
    let mut segments = route.split('/').filter(|s| !s.is_empty());
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("channels"), Some(id), Some("messages"), None) => id.parse().ok(),
        _ => None,
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

/// `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`, as Discord sends them.
fn bucket_headers(
    limit: u32,
    remaining: u32,
    reset_after: Duration,
    bucket: &str,
) -> Vec<(&'static str, String)> {
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + reset_after;
    vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", seconds(reset)),
        ("x-ratelimit-reset-after", seconds(reset_after)),
        ("x-ratelimit-bucket", bucket.to_owned()),
    ]
}

/// Discord's 429: `retry_after` in seconds (a float) in the body, `Retry-After` rounded up to
/// whole seconds in the header, and scope `user` with the route's bucket headers; or, for the
/// global limit, `X-RateLimit-Global: true` and scope `global` without bucket headers (the
/// global limit is no route's bucket, and Discord names none).
fn limited(
    retry_after: Duration,
    limit: u32,
    remaining: u32,
    bucket: &str,
    global: bool,
) -> Answer {
    // Never 0: a client told to retry in 0 s would come straight back.
    let retry_after = retry_after.max(Duration::from_millis(1));
    let mut headers = if global {
        Vec::new()
    } else {
        bucket_headers(limit, remaining, retry_after, bucket)
    };
    headers.push((
        "retry-after",
        (retry_after.as_secs_f64().ceil() as u64).to_string(),
    ));
    if global {
        headers.push(("x-ratelimit-global", "true".to_owned()));
    }
    headers.push((
        "x-ratelimit-scope",
        if global { "global" } else { "user" }.to_owned(),
    ));
    Answer {
        status: 429,
        body: Some(json!({
            "message": "You are being rate limited.",
            "retry_after": (retry_after.as_secs_f64() * 1000.0).round() / 1000.0,
            "global": global,
        })),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND: &str = "/api/v10/channels/7/messages";

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn a_channel_takes_its_allowance_then_429s_until_the_window_closes() {
        let mut limiter = Limiter::new(RateLimits::DISCORD);
        let start = Instant::now();
        for sent in 1..=5u32 {
            let headers = limiter.admit("POST", SEND, start).expect("allowed");
            assert_eq!(header(&headers, "x-ratelimit-limit"), Some("5"));
            let remaining = (5 - sent).to_string();
            assert_eq!(header(&headers, "x-ratelimit-remaining"), Some(&*remaining));
            assert_eq!(header(&headers, "x-ratelimit-reset-after"), Some("5.000"));
            assert_eq!(
                header(&headers, "x-ratelimit-bucket"),
                Some(MESSAGES_BUCKET)
            );
            assert!(header(&headers, "x-ratelimit-reset").is_some());
        }
        let later = start + Duration::from_millis(1500);
        let refused = limiter
            .admit("POST", SEND, later)
            .expect_err("sixth refused");
        assert_eq!(refused.status, 429);
        assert_eq!(
            refused.body,
            Some(
                json!({"message": "You are being rate limited.", "retry_after": 3.5, "global": false})
            )
        );
        assert_eq!(header(&refused.headers, "retry-after"), Some("4"));
        assert_eq!(header(&refused.headers, "x-ratelimit-remaining"), Some("0"));
        assert_eq!(header(&refused.headers, "x-ratelimit-scope"), Some("user"));
        assert_eq!(header(&refused.headers, "x-ratelimit-global"), None);
        // Another channel has its own bucket; other routes have none.
        assert!(limiter
            .admit("POST", "/api/v10/channels/8/messages", later)
            .is_ok());
        assert_eq!(
            limiter.admit("GET", SEND, later).expect("a read"),
            Vec::new()
        );
        // The window closes 5 s after its first request.
        let reopened = start + Duration::from_secs(5);
        let headers = limiter.admit("POST", SEND, reopened).expect("new window");
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("4"));
    }

    #[test]
    fn the_global_bucket_counts_every_request_and_says_it_is_global() {
        let limits = RateLimits {
            global_per_second: 3,
            messages_per_channel: 100,
            per_seconds: 10,
        };
        let mut limiter = Limiter::new(limits);
        let start = Instant::now();
        limiter.admit("GET", "/api/v10/users/@me", start).unwrap();
        limiter.admit("POST", SEND, start).unwrap();
        limiter
            .admit("PUT", "/api/v10/guilds/1/members/2/roles/3", start)
            .unwrap();
        let at = start + Duration::from_millis(250);
        let refused = limiter.admit("POST", SEND, at).expect_err("global");
        assert_eq!(refused.status, 429);
        assert_eq!(refused.body.as_ref().unwrap()["global"], json!(true));
        assert_eq!(refused.body.as_ref().unwrap()["retry_after"], json!(0.75));
        assert_eq!(header(&refused.headers, "retry-after"), Some("1"));
        assert_eq!(header(&refused.headers, "x-ratelimit-global"), Some("true"));
        assert_eq!(
            header(&refused.headers, "x-ratelimit-scope"),
            Some("global")
        );
        assert_eq!(header(&refused.headers, "x-ratelimit-bucket"), None);
        assert_eq!(header(&refused.headers, "x-ratelimit-limit"), None);
        // A refused request took nothing from the channel's bucket.
        let next_second = start + Duration::from_secs(1);
        let headers = limiter.admit("POST", SEND, next_second).unwrap();
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("98"));
    }

    #[test]
    fn only_message_creation_has_a_channel_bucket() {
        assert_eq!(message_channel("POST", SEND), Some(7));
        assert_eq!(message_channel("post", SEND), Some(7));
        assert_eq!(message_channel("GET", SEND), None);
        assert_eq!(
            message_channel("POST", "/api/v10/channels/7/messages/9/crosspost"),
            None
        );
        assert_eq!(message_channel("POST", "/channels/7/messages"), None);
    }
}
