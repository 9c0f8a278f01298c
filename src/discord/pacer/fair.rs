//! The global pace — Discord's 50 requests a second for a bot, kept at [`GLOBAL_PER_SECOND`] —
//! shared fairly between channels and servers, so that one flood cannot take all of it.
//!
//! The share is work-conserving: while the second has room, any channel or server may take it.
//! Once it is nearly full, a channel or server that already made its fair share of the calls of
//! the last second (the limit over the number of channels and servers that made calls in it, plus
//! one for a newcomer) leaves the last places — one for each of the others and one for a
//! newcomer — and waits until one of its own calls has aged out. So a flood takes at most all but
//! one place of a second, and a channel that was idle gets its call out at once.

use std::time::Duration;

use tokio::time::Instant;

/// Requests per second to Discord, all routes together (Discord allows 50).
pub const GLOBAL_PER_SECOND: usize = 45;

/// The calls of the last second (and those about to go), with the channel or server of each.
#[derive(Debug)]
pub(super) struct FairShare {
    limit: usize,
    span: Duration,
    /// By time: when each call goes, and its major parameter.
    calls: Vec<(Instant, u64)>,
    /// Discord answered a 429 for the whole bot: nothing goes before then.
    held_until: Option<Instant>,
}

impl FairShare {
    pub fn new(limit: usize, span: Duration) -> FairShare {
        FairShare {
            limit: limit.max(1),
            span,
            calls: Vec::new(),
            held_until: None,
        }
    }

    /// Nothing goes out before `until` (a global 429).
    pub fn hold(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }

    /// The earliest instant at or after `at` at which a call about `major` may go; `now` is
    /// the present (calls older than a second before it are forgotten).
    pub fn earliest(&mut self, at: Instant, now: Instant, major: u64) -> Instant {
        let span = self.span;
        self.calls.retain(|(when, _)| *when + span > now);
        let mut t = match self.held_until {
            Some(until) if until > at => until,
            _ => at,
        };
        // Each round moves `t` past at least one call, so this ends; the bound is a guard.
        for _ in 0..=2 * self.calls.len() + 1 {
            let window: Vec<(Instant, u64)> = self
                .calls
                .iter()
                .copied()
                .filter(|(when, _)| *when + span > t)
                .collect();
            if window.len() >= self.limit {
                t = window[window.len() - self.limit].0 + span;
                continue;
            }
            let mut majors: Vec<u64> = window.iter().map(|(_, m)| *m).collect();
            majors.push(major);
            majors.sort_unstable();
            majors.dedup();
            let active = majors.len();
            let share = (self.limit / (active + 1)).max(1);
            let mine: Vec<Instant> = window
                .iter()
                .filter(|(_, m)| *m == major)
                .map(|(when, _)| *when)
                .collect();
            let free = self.limit - window.len();
            if mine.len() >= share && free <= active {
                // Past its share with only the others' (and a newcomer's) places left: wait
                // for one of its own calls to age out.
                t = mine[mine.len() - share] + span;
                continue;
            }
            return t;
        }
        t
    }

    /// Records a call about `major` going out at `at`.
    pub fn take(&mut self, at: Instant, major: u64) {
        let index = self.calls.partition_point(|(when, _)| *when <= at);
        self.calls.insert(index, (at, major));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks for `count` places for `major` at `now`, and takes those free at once (as the
    /// pacer does: a call that must wait is parked without a place).
    fn take(fair: &mut FairShare, now: Instant, major: u64, count: usize) -> Vec<Duration> {
        (0..count)
            .map(|_| {
                let at = fair.earliest(now, now, major);
                if at == now {
                    fair.take(at, major);
                }
                at - now
            })
            .collect()
    }

    #[test]
    fn one_channel_alone_may_use_all_but_a_newcomer_s_place() {
        let mut fair = FairShare::new(GLOBAL_PER_SECOND, Duration::from_secs(1));
        let now = Instant::now();
        let times = take(&mut fair, now, 1, GLOBAL_PER_SECOND - 1);
        assert!(times.iter().all(|t| t.is_zero()), "{times:?}");
        // The next one waits for the second to pass; a newcomer takes the last place at once.
        assert_eq!(take(&mut fair, now, 1, 1), vec![Duration::from_secs(1)]);
        assert_eq!(take(&mut fair, now, 2, 1), vec![Duration::ZERO]);
        assert_eq!(take(&mut fair, now, 3, 1), vec![Duration::from_secs(1)]);
    }

    #[test]
    fn a_flood_leaves_room_for_another_channel() {
        let mut fair = FairShare::new(GLOBAL_PER_SECOND, Duration::from_secs(1));
        let now = Instant::now();
        // Channel 1 floods; channel 2 has sent once this second.
        take(&mut fair, now, 2, 1);
        let flood = take(&mut fair, now, 1, 60);
        let at_once = flood.iter().filter(|t| t.is_zero()).count();
        assert_eq!(at_once, GLOBAL_PER_SECOND - 3, "{flood:?}");
        // The place the flood left is channel 2's, at once.
        assert_eq!(take(&mut fair, now, 2, 1), vec![Duration::ZERO]);
        // Never more than the limit in any second.
        let mut all: Vec<Duration> = flood;
        all.extend([Duration::ZERO, Duration::ZERO]);
        for at in &all {
            let in_second = all
                .iter()
                .filter(|o| **o >= *at && **o < *at + Duration::from_secs(1))
                .count();
            assert!(in_second <= GLOBAL_PER_SECOND, "{in_second} at {at:?}");
        }
    }

    #[test]
    fn many_channels_share_a_full_second_evenly() {
        let mut fair = FairShare::new(10, Duration::from_secs(1));
        let now = Instant::now();
        // Two channels each ask for 20 places, taking turns.
        let mut first_second = [0usize; 2];
        for _ in 0..20 {
            for major in 0..2u64 {
                if take(&mut fair, now, major, 1) == [Duration::ZERO] {
                    first_second[major as usize] += 1;
                }
            }
        }
        assert_eq!(first_second, [4, 4]);
        // Two places of the second are left: one for a newcomer.
        assert_eq!(take(&mut fair, now, 9, 1), vec![Duration::ZERO]);
    }

    #[test]
    fn a_global_429_holds_every_call() {
        let mut fair = FairShare::new(GLOBAL_PER_SECOND, Duration::from_secs(1));
        let now = Instant::now();
        fair.hold(now + Duration::from_millis(700));
        assert_eq!(fair.earliest(now, now, 1) - now, Duration::from_millis(700));
    }
}
