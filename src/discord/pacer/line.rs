//! One route's line: the queued runs waiting for its calls, lowest run id first, and which of
//! them are in play (their turn estimated, each coming back for it) or parked behind until the
//! line reaches them.

use std::collections::BTreeMap;

use tokio::time::Instant;

/// Who makes a call: a queued run (its id), which may be parked instead of waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Holder(pub u64);

/// How many runs at the front of a line are in play: each has its turn estimated and comes back
/// for it. The runs behind them are parked without a time and brought into play as the front
/// moves, so a backlog of thousands costs each run one park, and a decision looks at no more
/// than this many places.
pub const IN_PLAY: usize = 16;

/// Where a run stands in its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Its call is being decided in a worker (it asked at this instant, and asks again at
    /// least every `ORDER_WAIT` while it waits there).
    Asking(Instant),
    /// In play, parked until this instant, its estimated turn.
    Due(Instant),
    /// In play, parked behind a late earlier run until that one moves, or this instant at the
    /// latest.
    Behind(Instant),
    /// Behind the runs in play, parked without a time: it holds no ticket and no place in the
    /// queue's schedule, and comes back only when the line reaches it, so a backlog costs a
    /// place in its line per run and nothing else.
    Waiting,
}

impl Place {
    /// When the run is expected to ask again at the latest (`None`: when the line reaches it).
    pub fn expected(self) -> Option<Instant> {
        match self {
            Place::Asking(at) | Place::Due(at) | Place::Behind(at) => Some(at),
            Place::Waiting => None,
        }
    }

    /// Whether the run was expected back longer than `grace` before `now`: it went elsewhere
    /// without leaving the line. A run parked until the line reaches it is never lost.
    pub fn lost(self, now: Instant, grace: std::time::Duration) -> bool {
        self.expected().is_some_and(|at| at + grace <= now)
    }
}

/// The queued runs waiting for one route, in run order.
#[derive(Debug, Default)]
pub(super) struct Line {
    pub holders: BTreeMap<Holder, Place>,
    /// A call of this route is out and not yet answered (since then).
    pub sending: Option<Instant>,
}

impl Line {
    /// How many runs are before `holder`, when it is in play (`None`: it is behind them).
    pub fn rank_in_play(&self, holder: Holder) -> Option<usize> {
        let rank = self.holders.range(..holder).take(IN_PLAY).count();
        (rank < IN_PLAY).then_some(rank)
    }

    /// When the runs before `holder` are expected back, the latest of them.
    pub fn earlier_back(&self, holder: Holder) -> Option<Instant> {
        self.holders
            .range(..holder)
            .filter_map(|(_, place)| match place {
                Place::Due(at) => Some(*at),
                _ => None,
            })
            .max()
    }

    /// Whether a run before `holder` is in a worker now (asking, or its call is out): it will
    /// move on without needing a worker of its own to come back.
    pub fn earlier_in_worker(&self, holder: Holder) -> bool {
        self.sending.is_some()
            || self
                .holders
                .range(..holder)
                .any(|(_, place)| matches!(place, Place::Asking(_)))
    }

    /// The runs parked behind that have reached the runs in play, with their rank, front first.
    pub fn reached(&self) -> Vec<(usize, Holder)> {
        self.holders
            .iter()
            .take(IN_PLAY)
            .enumerate()
            .filter(|(_, (_, place))| matches!(place, Place::Behind(_) | Place::Waiting))
            .map(|(rank, (holder, _))| (rank, *holder))
            .collect()
    }

    /// Whether a run parked until the line reaches it is among the runs in play.
    pub fn front_waits(&self) -> bool {
        self.holders
            .values()
            .take(IN_PLAY)
            .any(|place| *place == Place::Waiting)
    }

    /// Whether every run before `holder` is overdue by `grace` at `now` (it was expected back
    /// longer ago than that): runs that went elsewhere without leaving the line.
    pub fn earlier_all_overdue(
        &self,
        holder: Holder,
        now: Instant,
        grace: std::time::Duration,
    ) -> bool {
        self.holders
            .range(..holder)
            .all(|(_, place)| place.lost(now, grace))
    }

    /// Takes out the runs [lost](Place::lost) at `now`; returns them.
    pub fn remove_lost(&mut self, now: Instant, grace: std::time::Duration) -> Vec<Holder> {
        let mut lost = Vec::new();
        self.holders.retain(|holder, place| {
            let keep = !place.lost(now, grace);
            if !keep {
                lost.push(*holder);
            }
            keep
        });
        lost
    }

    pub fn idle(&self) -> bool {
        self.holders.is_empty() && self.sending.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_front_of_a_line_is_in_play() {
        let mut line = Line::default();
        let now = Instant::now();
        for id in 1..=IN_PLAY as u64 + 3 {
            let place = if id as usize <= IN_PLAY {
                Place::Asking(now)
            } else {
                Place::Waiting
            };
            line.holders.insert(Holder(id * 10), place);
        }
        assert_eq!(line.rank_in_play(Holder(10)), Some(0));
        assert_eq!(
            line.rank_in_play(Holder(IN_PLAY as u64 * 10)),
            Some(IN_PLAY - 1)
        );
        assert_eq!(line.rank_in_play(Holder(IN_PLAY as u64 * 10 + 10)), None);
        // A lower run arriving late is in play at its place.
        assert_eq!(line.rank_in_play(Holder(15)), Some(1));
        assert!(line.reached().is_empty());
        assert!(!line.front_waits());
        line.holders.remove(&Holder(10));
        let front = IN_PLAY as u64 * 10 + 10;
        assert_eq!(line.reached(), [(IN_PLAY - 1, Holder(front))]);
        assert!(
            line.front_waits(),
            "the front reaches a run parked without a time"
        );
    }
}
