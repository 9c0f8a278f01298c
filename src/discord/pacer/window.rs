//! A sliding window of reservations: at most `limit` calls within any `span`.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// At most `limit` reservations within any `span`.
#[derive(Debug)]
pub(super) struct Window {
    pub limit: usize,
    pub span: Duration,
    slots: VecDeque<Instant>,
}

impl Window {
    pub fn new(limit: usize, span: Duration) -> Window {
        Window {
            limit,
            span,
            slots: VecDeque::new(),
        }
    }

    /// The earliest instant at or after `at` that keeps the window's promise; reserves it.
    /// Reservations come out in the order they were asked for.
    pub fn reserve(&mut self, at: Instant) -> Instant {
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
    pub fn idle(&self, now: Instant) -> bool {
        self.slots
            .back()
            .map_or(true, |&last| last + self.span <= now)
    }
}
