//! What every webhook request shares: the store it reads and the queue it writes to, the limits it is held
//! to, and the memory of failed keys and signed deliveries seen lately.

use std::net::IpAddr;
use std::sync::Arc;

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
