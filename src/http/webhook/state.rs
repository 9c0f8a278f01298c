//! What every webhook request shares: the store it reads and the queue it writes to, the limits it is held
//! to, the memory of failed keys and signed deliveries seen lately, and the counters of its answers.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;

use super::limits::{AuthFailureGuard, EventRateLimiter};
use super::signatures::ReplayGuard;
use crate::engine::Store;
use crate::queue::Queue;

/// Everything the webhook routes share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    /// Where events are looked up and accepted runs are written before any 200.
    pub store: Store,
    /// The id in every webhook URL; another bot's id is a 404.
    pub bot_id: u64,
    /// `http.max_body_bytes`: a larger body is a 413, checked before it is read.
    pub max_body_bytes: usize,
    /// `limits.per_event_per_minute`, quoted in the 429's message.
    pub per_event_per_minute: u32,
    /// Takes each run (refusing past `delivery.max_pending_runs`), wakes the executor, and
    /// tells `?wait=true` requests that their run finished.
    pub queue: Queue,
    /// One token bucket per event (`limits.per_event_per_minute`).
    pub event_limits: EventRateLimiter,
    /// Failed authentications per client address, so keys cannot be guessed at speed.
    pub auth_failures: AuthFailureGuard,
    /// Signed deliveries seen lately, so a provider's retry of one does not run twice.
    pub replays: ReplayGuard,
    /// Peers whose `X-Forwarded-For` names the real client (see [`AppState::trusting_proxies`]).
    pub trusted_proxies: Vec<IpAddr>,
    /// `hookbot_webhooks_total` by status.
    pub answered: AnsweredCounters,
}

/// The handles of `hookbot_webhooks_total{status=…}`, each looked up in the recorder on its
/// status's first answer rather than on every answer (which built the label as a `String` and
/// the key's label list each time). The recorder is installed before the listener starts
/// (`server::start`) and never replaced, so a handle kept is the one a lookup would give.
pub(super) struct AnsweredCounters {
    /// Statuses 100-599, at `status - 100`.
    by_status: [OnceLock<metrics::Counter>; 500],
}

impl Default for AnsweredCounters {
    fn default() -> Self {
        AnsweredCounters {
            by_status: [const { OnceLock::new() }; 500],
        }
    }
}

impl AnsweredCounters {
    /// Counts one answer with `status`.
    pub fn count(&self, status: StatusCode) {
        let label = || status.as_str().to_owned();
        match self
            .by_status
            .get(usize::from(status.as_u16()).wrapping_sub(100))
        {
            Some(handle) => handle
                .get_or_init(|| metrics::counter!(crate::metrics::WEBHOOKS, "status" => label()))
                .increment(1),
            None => metrics::counter!(crate::metrics::WEBHOOKS, "status" => label()).increment(1),
        }
    }
}

impl AppState {
    /// `queue` takes the runs, tells `?wait=true` requests that theirs finished, and refuses
    /// (503) when full.
    pub fn new(
        store: Store,
        bot_id: u64,
        max_body_bytes: usize,
        per_event_per_minute: u32,
        queue: Queue,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                bot_id,
                max_body_bytes,
                per_event_per_minute,
                queue,
                event_limits: EventRateLimiter::new(per_event_per_minute),
                auth_failures: AuthFailureGuard::default(),
                replays: ReplayGuard::default(),
                trusted_proxies: Vec::new(),
                answered: AnsweredCounters::default(),
            }),
        }
    }

    /// Requests from these addresses come through a reverse proxy: their client is the one the
    /// proxy names in `X-Forwarded-For`, so one caller's wrong keys do not block everyone.
    pub fn trusting_proxies(mut self, proxies: Vec<IpAddr>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.trusted_proxies = proxies;
        }
        self
    }
}
