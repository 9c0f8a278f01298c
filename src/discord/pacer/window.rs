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

    /// The instant the `n`-th next reservation at or after `at` would get (0: the next one),
    /// reserving nothing.
    pub fn peek(&self, at: Instant, n: usize) -> Instant {
        let mut slots = self.slots.clone();
        let mut slot = at;
        for _ in 0..=n {
            slot = at;
            if slots.len() >= self.limit {
                slot = slot.max(slots[slots.len() - self.limit] + self.span);
            }
            if let Some(&last) = slots.back() {
                slot = slot.max(last);
            }
            slots.push_back(slot);
            while slots.len() > self.limit {
                slots.pop_front();
            }
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
