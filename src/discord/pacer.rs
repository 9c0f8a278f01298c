//! The outbound governor: how fast hookbot talks to Discord, whether or not serenity's own
//! ratelimiter is on.
//!
//! Every write call an action makes asks [`Pacer::before`] first and reports Discord's answer to
//! [`Pacer::after`]. The pacer keeps:
//! - a global pace of [`GLOBAL_PER_SECOND`] requests in any second (Discord allows 50);
//! - per channel, at most [`CHANNEL_MESSAGES`] message sends in any [`CHANNEL_WINDOW`];
//! - per route (method, resource and the channel or server it is about), after a 429 nothing
//!   more to that route until Discord's `retry_after` has passed;
//! - a breaker: [`BREAKER_THRESHOLD`] answers 401, 403 or 429 within [`BREAKER_WINDOW`] pause
//!   every call for [`BREAKER_PAUSE`] (Discord bans a bot that makes 10,000 invalid requests in
//!   10 minutes), and the log says so.
//!
//! Waits up to [`MAX_INLINE_WAIT`] are waited inside the action; a longer one (a long
//! `retry_after`, the breaker) is answered with the time to wait, so the run is retried then
//! without holding a worker.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Requests per second to Discord, all routes together (Discord allows 50).
pub const GLOBAL_PER_SECOND: usize = 45;
/// Message sends per channel within [`CHANNEL_WINDOW`] (Discord allows 5 in 5 s).
pub const CHANNEL_MESSAGES: usize = 5;
/// Discord's 5 s, plus a margin: Discord's window starts when the first send arrives, a little
/// after hookbot sent it, so without one the sixth send can arrive a few milliseconds early and
/// be refused with a 429 (measured against the stand-in: one per channel in a burst).
pub const CHANNEL_WINDOW: Duration = Duration::from_millis(5_250);
/// A 429 without `retry_after` blocks its route this long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Refusals (401, 403, 429) within [`BREAKER_WINDOW`] that trip the breaker.
pub const BREAKER_THRESHOLD: usize = 100;
pub const BREAKER_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long delivery pauses once the breaker trips.
pub const BREAKER_PAUSE: Duration = Duration::from_secs(5 * 60);
/// The longest wait done inside an action; a longer one defers the run instead.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);

/// What a call is about, as far as Discord's rate limits go: the method, the kind of resource,
/// and the channel or server (its "major parameter").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    pub method: &'static str,
    /// `messages`, `reactions`, `member_roles`, `channels`, …
    pub resource: &'static str,
    /// The channel or server id the call is about.
    pub target: u64,
}

impl Route {
    pub fn new(method: &'static str, resource: &'static str, target: u64) -> Route {
        Route {
            method,
            resource,
            target,
        }
    }

    /// A message send into channel `channel`: paced per channel as well.
    pub fn message_send(channel: u64) -> Route {
        Route::new("POST", "messages", channel)
    }

    fn is_message_send(&self) -> bool {
        self.method == "POST" && self.resource == "messages"
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.method, self.resource, self.target)
    }
}

/// Why a call was not made now: wait this long and try again (nothing was sent).
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    pub wait: Duration,
    pub reason: String,
}

/// At most `limit` reservations within any `span`.
#[derive(Debug)]
struct Window {
    limit: usize,
    span: Duration,
    slots: VecDeque<Instant>,
}

impl Window {
    fn new(limit: usize, span: Duration) -> Window {
        Window {
            limit,
            span,
            slots: VecDeque::with_capacity(limit),
        }
    }

    /// The earliest instant at or after `at` that keeps the window's promise; reserves it.
    fn reserve(&mut self, at: Instant) -> Instant {
        let mut slot = at;
        if self.slots.len() >= self.limit {
            slot = slot.max(self.slots[self.slots.len() - self.limit] + self.span);
        }
        if let Some(&last) = self.slots.back() {
            slot = slot.max(last);
        }
        self.slots.push_back(slot);
        while self.slots.len() > self.limit {
            self.slots.pop_front();
        }
        slot
    }

    /// Whether the window no longer constrains anything at `now` (it can be forgotten).
    fn idle(&self, now: Instant) -> bool {
        self.slots
            .back()
            .map_or(true, |&last| last + self.span <= now)
    }
}

#[derive(Debug)]
struct State {
    global: Window,
    channels: HashMap<u64, Window>,
    blocked: HashMap<Route, Instant>,
    refusals: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// The governor; one per process, shared by every run.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    pub fn new() -> Pacer {
        Pacer {
            state: Mutex::new(State {
                global: Window::new(GLOBAL_PER_SECOND, Duration::from_secs(1)),
                channels: HashMap::new(),
                blocked: HashMap::new(),
                refusals: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    /// Waits until a call to `route` may go out, or says how long to wait when that is longer
    /// than [`MAX_INLINE_WAIT`]. Each `Ok` uses up a place in the pace.
    pub async fn before(&self, route: &Route) -> Result<(), Deferred> {
        let at = self.reserve(route, Instant::now())?;
        tokio::time::sleep_until(at).await;
        // The global pace is reserved only once the route's own wait is over, so a call held
        // back for its channel never holds back calls elsewhere.
        let at = self.reserve_global(Instant::now());
        tokio::time::sleep_until(at).await;
        Ok(())
    }

    /// Reserves a place in the global pace at or after `now`.
    fn reserve_global(&self, now: Instant) -> Instant {
        self.state.lock().expect("pacer lock").global.reserve(now)
    }

    /// Reserves the instant a call to `route` may go out as far as its route and channel go,
    /// at or after `now`.
    fn reserve(&self, route: &Route, now: Instant) -> Result<Instant, Deferred> {
        let mut state = self.state.lock().expect("pacer lock");
        let mut start = now;
        let mut reason = String::new();
        match state.paused_until {
            Some(until) if until > now => {
                start = until;
                reason = format!(
                    "delivery is paused: Discord refused {BREAKER_THRESHOLD} calls within {} min",
                    BREAKER_WINDOW.as_secs() / 60
                );
            }
            Some(_) => state.paused_until = None,
            None => {}
        }
        match state.blocked.get(route).copied() {
            Some(until) if until > start => {
                start = until;
                reason = format!("Discord rate-limited {route}");
            }
            Some(until) if until <= now => {
                state.blocked.remove(route);
            }
            _ => {}
        }
        if start - now > MAX_INLINE_WAIT {
            return Err(Deferred {
                wait: start - now,
                reason,
            });
        }
        if route.is_message_send() {
            state.channels.retain(|_, window| !window.idle(now));
            start = state
                .channels
                .entry(route.target)
                .or_insert_with(|| Window::new(CHANNEL_MESSAGES, CHANNEL_WINDOW))
                .reserve(start);
        }
        Ok(start)
    }

    /// Discord's answer to a call to `route`: `status` when it answered, `retry_after` when it
    /// said how long to wait.
    pub fn after(&self, route: &Route, status: Option<u16>, retry_after: Option<Duration>) {
        let answered = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        metrics::counter!(crate::metrics::DISCORD_CALLS, "status" => answered).increment(1);
        if !matches!(status, Some(s) if s < 400) {
            metrics::counter!(crate::metrics::DISCORD_ERRORS).increment(1);
        }
        if status == Some(429) {
            metrics::counter!(crate::metrics::DISCORD_RATE_LIMITED).increment(1);
        }
        self.answered(route, status, retry_after, Instant::now());
    }

    fn answered(
        &self,
        route: &Route,
        status: Option<u16>,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        let Some(status) = status else { return };
        let mut state = self.state.lock().expect("pacer lock");
        if status == 429 {
            let until = now + retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
            let entry = state.blocked.entry(route.clone()).or_insert(until);
            *entry = (*entry).max(until);
            tracing::warn!(route = %route, wait_ms = (until - now).as_millis() as u64, "Discord rate-limited a route; holding calls to it back");
        }
        if matches!(status, 401 | 403 | 429) {
            while state
                .refusals
                .front()
                .is_some_and(|&t| t + BREAKER_WINDOW <= now)
            {
                state.refusals.pop_front();
            }
            state.refusals.push_back(now);
            if state.refusals.len() >= BREAKER_THRESHOLD {
                state.refusals.clear();
                state.paused_until = Some(now + BREAKER_PAUSE);
                tracing::error!(
                    "Discord refused {BREAKER_THRESHOLD} calls (401, 403 or 429) within {} min; pausing delivery for {} min so Discord does not ban the bot; check the bot's permissions and token",
                    BREAKER_WINDOW.as_secs() / 60,
                    BREAKER_PAUSE.as_secs() / 60
                );
            }
        }
    }

    /// Whether the breaker is holding delivery back now.
    pub fn paused(&self) -> bool {
        let state = self.state.lock().expect("pacer lock");
        state.paused_until.is_some_and(|t| t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    //! On a clock of their own: each reservation says when its call may go out, so no test
    //! sleeps (tokio's paused clock needs its `test-util` feature, which this crate leaves off).
    use super::*;

    const CHANNEL: u64 = 42;

    /// When each of `count` calls to `route`, all asked for at `now`, may go out (after `now`).
    fn schedule(pacer: &Pacer, route: &Route, now: Instant, count: usize) -> Vec<Duration> {
        (0..count)
            .map(|_| pacer.reserve(route, now).unwrap() - now)
            .collect()
    }

    #[test]
    fn message_sends_keep_to_five_per_five_seconds_per_channel() {
        let pacer = Pacer::new();
        let now = Instant::now();
        let sent = schedule(&pacer, &Route::message_send(CHANNEL), now, 12);
        for (i, at) in sent.iter().enumerate() {
            let in_window = sent
                .iter()
                .filter(|other| **other >= *at && **other < *at + CHANNEL_WINDOW)
                .count();
            assert!(
                in_window <= CHANNEL_MESSAGES,
                "send {i} at {at:?}: {sent:?}"
            );
        }
        assert_eq!(sent[4], Duration::ZERO, "the first five go at once");
        assert_eq!(sent[5], CHANNEL_WINDOW);
        assert_eq!(sent[10], 2 * CHANNEL_WINDOW);
        // Another channel is not held back by the first.
        let other = pacer
            .reserve(&Route::message_send(CHANNEL + 1), now)
            .unwrap();
        assert!(other - now < Duration::from_secs(1), "{:?}", other - now);
    }

    #[test]
    fn the_global_pace_stays_under_fifty_a_second() {
        let pacer = Pacer::new();
        let now = Instant::now();
        let times: Vec<Duration> = (0..200).map(|_| pacer.reserve_global(now) - now).collect();
        for at in &times {
            let in_second = times
                .iter()
                .filter(|other| **other >= *at && **other < *at + Duration::from_secs(1))
                .count();
            assert!(
                in_second <= GLOBAL_PER_SECOND,
                "{in_second} within a second"
            );
        }
        assert!(times[199] >= Duration::from_secs(4), "{:?}", times[199]);
        assert!(times[199] < Duration::from_secs(5), "{:?}", times[199]);
    }

    #[test]
    fn a_429_holds_its_route_back_for_retry_after() {
        let pacer = Pacer::new();
        let route = Route::new("PUT", "member_roles", 7);
        let now = Instant::now();
        pacer.reserve(&route, now).unwrap();
        pacer.answered(&route, Some(429), Some(Duration::from_millis(2500)), now);
        let next = pacer.reserve(&route, now).unwrap();
        assert_eq!(next - now, Duration::from_millis(2500));
        // Other routes are not held back.
        let other = pacer
            .reserve(&Route::new("PUT", "member_roles", 8), now)
            .unwrap();
        assert!(other - now < Duration::from_secs(1));
        // Once the wait is over, the route is free again.
        let later = now + Duration::from_secs(3);
        assert_eq!(pacer.reserve(&route, later).unwrap(), later);
        // Without retry_after, a default wait; a long one is not waited inside the action:
        // the caller is told to come back.
        pacer.answered(&route, Some(429), None, later);
        assert_eq!(
            pacer.reserve(&route, later).unwrap() - later,
            DEFAULT_RETRY_AFTER
        );
        pacer.answered(&route, Some(429), Some(Duration::from_secs(60)), later);
        let deferred = pacer.reserve(&route, later).unwrap_err();
        assert_eq!(deferred.wait, Duration::from_secs(60));
        assert!(
            deferred.reason.contains("rate-limited"),
            "{}",
            deferred.reason
        );
    }

    #[test]
    fn many_refusals_trip_the_breaker_for_a_while() {
        let pacer = Pacer::new();
        let route = Route::new("POST", "messages", 9);
        let now = Instant::now();
        for _ in 0..BREAKER_THRESHOLD - 1 {
            pacer.answered(&route, Some(403), None, now);
        }
        // Successes, other errors and no answer do not count.
        pacer.answered(&route, Some(200), None, now);
        pacer.answered(&route, Some(404), None, now);
        pacer.answered(&route, None, None, now);
        let free = Route::new("PUT", "member_roles", 1);
        assert!(pacer.reserve(&free, now).is_ok());
        pacer.answered(&route, Some(401), None, now);
        let deferred = pacer.reserve(&free, now).unwrap_err();
        assert_eq!(deferred.wait, BREAKER_PAUSE);
        assert!(deferred.reason.contains("paused"), "{}", deferred.reason);
        assert!(pacer.reserve(&free, now + BREAKER_PAUSE).is_ok());
    }

    #[test]
    fn refusals_spread_over_more_than_the_window_do_not_trip_it() {
        let pacer = Pacer::new();
        let route = Route::new("POST", "messages", 9);
        let mut now = Instant::now();
        for _ in 0..3 {
            for _ in 0..BREAKER_THRESHOLD / 2 {
                pacer.answered(&route, Some(403), None, now);
            }
            now += BREAKER_WINDOW / 2 + Duration::from_secs(1);
        }
        assert!(pacer.reserve(&route, now).is_ok());
    }

    #[tokio::test]
    async fn before_waits_briefly_inline() {
        let pacer = Pacer::new();
        let route = Route::new("PUT", "member_roles", 7);
        pacer.after(&route, Some(429), Some(Duration::from_millis(50)));
        let start = Instant::now();
        pacer.before(&route).await.unwrap();
        assert!(Instant::now() - start >= Duration::from_millis(50));
    }
}
