//! What Discord's answers say about its rate limits (`X-RateLimit-*`, `Retry-After`), and the
//! buckets learned from them: which routes share a bucket (`X-RateLimit-Bucket`), and each
//! bucket's size and window, per major parameter (the channel, server or webhook).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::route::Route;
use super::window::Window;

/// Message sends per channel within [`CHANNEL_WINDOW`] until Discord says otherwise (Discord
/// allows 5 in 5 s).
pub const CHANNEL_MESSAGES: usize = 5;
/// Discord's 5 s, plus [`WINDOW_MARGIN`].
pub const CHANNEL_WINDOW: Duration = Duration::from_millis(5_250);
/// Added to every window Discord names: its window starts when the first call arrives, a little
/// after hookbot sent it, so without a margin the call after a full window can arrive a few
/// milliseconds early and be refused (measured against the stand-in: one 429 per channel in a
/// burst).
pub const WINDOW_MARGIN: Duration = Duration::from_millis(250);
/// The longest window believed from a header; a larger `Reset-After` still holds the bucket
/// (as exhausted) but does not stretch its window.
const MAX_LEARNED_WINDOW: Duration = Duration::from_secs(60 * 60);
/// At most this many calls per window are believed from `X-RateLimit-Limit`.
const MAX_LEARNED_LIMIT: usize = 10_000;

/// Discord's rate-limit headers on one answer, as far as they were there and readable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Bucket`: the bucket's id; routes that share a bucket name the same one.
    pub bucket: Option<String>,
    /// `X-RateLimit-Limit`: calls the bucket allows per window.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`: calls left in this window.
    pub remaining: Option<u32>,
    /// `X-RateLimit-Reset-After`: until the window resets.
    pub reset_after: Option<Duration>,
    /// `X-RateLimit-Scope` on a 429: `user`, `global` or `shared`.
    pub scope: Option<String>,
    /// `X-RateLimit-Global: true` on a 429: the bot's global limit was hit.
    pub global: bool,
    /// `Retry-After` (seconds) on a 429.
    pub retry_after: Option<Duration>,
}

impl RateLimitHeaders {
    /// Reads the headers through `get` (a header's value by its lower-case name); `None` when
    /// the answer carried none of them.
    pub fn parse<'h>(get: impl Fn(&str) -> Option<&'h str>) -> Option<RateLimitHeaders> {
        let seconds = |name: &str| {
            get(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(7.0 * 24.0 * 3600.0)))
        };
        let number = |name: &str| get(name).and_then(|v| v.trim().parse::<u32>().ok());
        let headers = RateLimitHeaders {
            bucket: get("x-ratelimit-bucket")
                .map(str::trim)
                .filter(|b| !b.is_empty() && b.len() <= 64)
                .map(str::to_owned),
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset_after: seconds("x-ratelimit-reset-after"),
            scope: get("x-ratelimit-scope").map(|s| s.trim().to_ascii_lowercase()),
            global: get("x-ratelimit-global")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            retry_after: seconds("retry-after"),
        };
        (headers != RateLimitHeaders::default()).then_some(headers)
    }

    /// From a `reqwest`/`http` answer's headers.
    pub fn from_map(map: &http::HeaderMap) -> Option<RateLimitHeaders> {
        RateLimitHeaders::parse(|name| map.get(name).and_then(|v| v.to_str().ok()))
    }

    /// A 429 for the bot as a whole (every route waits), not for one bucket.
    pub fn is_global(&self) -> bool {
        self.global || self.scope.as_deref() == Some("global")
    }

    /// A 429 for a resource shared with other bots (Discord's `shared` scope): it does not count
    /// against this bot.
    pub fn is_shared(&self) -> bool {
        self.scope.as_deref() == Some("shared")
    }
}

/// One bucket for one major parameter.
#[derive(Debug)]
struct Bucket {
    window: Window,
    /// Discord said nothing is left until then.
    exhausted_until: Option<Instant>,
}

/// Where a route's bucket is kept: Discord's bucket id once learned (else the route's kind),
/// and the major parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BucketKey {
    name: String,
    major: u64,
}

/// The buckets known so far.
#[derive(Debug, Default)]
pub(super) struct Buckets {
    /// A route's kind (`POST messages`) → the bucket Discord named for it.
    names: HashMap<String, String>,
    /// A bucket's size (calls per window) and window, the same for every major parameter.
    sizes: HashMap<String, (usize, Duration)>,
    /// The calls made per bucket and major parameter; forgotten once they constrain nothing.
    buckets: HashMap<BucketKey, Bucket>,
}

fn kind(route: &Route) -> String {
    format!("{} {}", route.method, route.resource)
}

impl Buckets {
    fn key(&self, route: &Route) -> BucketKey {
        let kind = kind(route);
        BucketKey {
            name: self.names.get(&kind).cloned().unwrap_or(kind),
            major: route.target,
        }
    }

    /// The size and window of `key`'s bucket: as Discord said, else, for message sends,
    /// Discord's documented 5 per 5 s; `None` when nothing is known (only the global pace
    /// applies until Discord names the bucket).
    fn size(&self, key: &BucketKey, route: &Route) -> Option<(usize, Duration)> {
        self.sizes.get(&key.name).copied().or_else(|| {
            route
                .is_message_send()
                .then_some((CHANNEL_MESSAGES, CHANNEL_WINDOW))
        })
    }

    /// Reserves the earliest instant at or after `at` that the route's bucket allows.
    pub fn reserve(&mut self, route: &Route, at: Instant) -> Instant {
        let key = self.key(route);
        let Some((limit, span)) = self.size(&key, route) else {
            return at;
        };
        let bucket = self.buckets.entry(key).or_insert_with(|| Bucket {
            window: Window::new(limit, span),
            exhausted_until: None,
        });
        let start = match bucket.exhausted_until {
            Some(until) if until > at => until,
            _ => at,
        };
        bucket.window.reserve(start)
    }

    /// The instant the `n`-th next call to the route (0: the next one) could go at or after `at`,
    /// reserving nothing: when a run that waits in the route's line behind `n` others may expect
    /// its turn.
    pub fn peek(&self, route: &Route, at: Instant, n: usize) -> Instant {
        let key = self.key(route);
        let Some((limit, span)) = self.size(&key, route) else {
            return at;
        };
        match self.buckets.get(&key) {
            Some(bucket) => {
                let start = match bucket.exhausted_until {
                    Some(until) if until > at => until,
                    _ => at,
                };
                bucket.window.peek(start, n)
            }
            None => Window::new(limit, span).peek(at, n),
        }
    }

    /// Learns from the headers of an answer to `route` at `now`.
    pub fn learn(&mut self, route: &Route, headers: &RateLimitHeaders, now: Instant) {
        if headers.is_global() {
            return;
        }
        let kind = kind(route);
        if let Some(name) = &headers.bucket {
            if self.names.get(&kind) != Some(name) {
                // What was paced under the old name moves to the new one.
                let old = self.key(route);
                self.names.insert(kind, name.clone());
                let new = self.key(route);
                if let Some(bucket) = self.buckets.remove(&old) {
                    self.buckets.entry(new).or_insert(bucket);
                }
            }
        }
        let (Some(limit), Some(reset_after)) = (headers.limit, headers.reset_after) else {
            return;
        };
        let limit = (limit as usize).clamp(1, MAX_LEARNED_LIMIT);
        let key = self.key(route);
        // The first call of a window sees the window's whole length, later ones less: the
        // longest seen is the best guess of its length.
        let seen = reset_after.min(MAX_LEARNED_WINDOW) + WINDOW_MARGIN;
        let span = match self.sizes.get(&key.name) {
            Some((_, known)) if *known > seen => *known,
            _ => seen,
        };
        self.sizes.insert(key.name.clone(), (limit, span));
        let bucket = self.buckets.entry(key).or_insert_with(|| Bucket {
            window: Window::new(limit, span),
            exhausted_until: None,
        });
        bucket.window.limit = limit;
        bucket.window.span = span;
        if headers.remaining == Some(0) {
            let until = now + reset_after;
            bucket.exhausted_until = Some(bucket.exhausted_until.map_or(until, |u| u.max(until)));
        }
    }

    /// Forgets the calls of buckets that constrain nothing any more (their sizes stay known).
    pub fn prune(&mut self, now: Instant) {
        self.buckets.retain(|_, bucket| {
            !bucket.window.idle(now) || bucket.exhausted_until.is_some_and(|u| u > now)
        });
    }

    /// The calls a bucket allows per window and the window, as known.
    #[cfg(test)]
    pub fn known(&self, route: &Route) -> Option<(usize, Duration)> {
        let key = self.key(route);
        self.size(&key, route)
    }
}
