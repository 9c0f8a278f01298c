//! When each run waiting for a retry is due: an in-memory order, rebuilt from the queue at start.

use std::collections::{BTreeSet, HashMap};

use crate::run::RunId;

/// Runs waiting for their next attempt, by when they are due (unix ms). Runs not in it are due
/// now. Kept in memory; [`Queue::restore_schedule`](super::Queue::restore_schedule) rebuilds it from the
/// queue at start.
#[derive(Debug, Default)]
pub struct Schedule {
    due: HashMap<RunId, u64>,
    order: BTreeSet<(u64, RunId)>,
}

impl Schedule {
    pub fn insert(&mut self, id: RunId, at_ms: u64) {
        self.remove(id);
        self.due.insert(id, at_ms);
        self.order.insert((at_ms, id));
    }

    pub fn remove(&mut self, id: RunId) {
        if let Some(at) = self.due.remove(&id) {
            self.order.remove(&(at, id));
        }
    }

    /// Whether `id` must wait past `now_ms`; a run found due is forgotten.
    pub fn waiting(&mut self, id: RunId, now_ms: u64) -> bool {
        match self.due.get(&id) {
            Some(at) if *at > now_ms => true,
            Some(_) => {
                self.remove(id);
                false
            }
            None => false,
        }
    }

    /// Takes out up to `limit` runs due by `now_ms` that `take` accepts, earliest first; the
    /// others stay.
    pub fn take_due(
        &mut self,
        now_ms: u64,
        limit: usize,
        take: impl Fn(RunId) -> bool,
    ) -> Vec<RunId> {
        let due: Vec<(u64, RunId)> = self
            .order
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .filter(|(_, id)| take(*id))
            .take(limit)
            .copied()
            .collect();
        for (at, id) in &due {
            self.order.remove(&(*at, *id));
            self.due.remove(id);
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// When `id` is due, if it waits.
    pub fn due(&self, id: RunId) -> Option<u64> {
        self.due.get(&id).copied()
    }

    pub fn contains(&self, id: RunId) -> bool {
        self.due.contains_key(&id)
    }

    /// How many runs wait.
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// When the earliest waiting run is due (unix ms).
    pub fn earliest(&self) -> Option<u64> {
        self.order.first().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_knows_the_earliest_and_forgets_what_is_due() {
        let mut schedule = Schedule::default();
        schedule.insert(RunId(1), 500);
        schedule.insert(RunId(2), 300);
        schedule.insert(RunId(1), 900);
        assert_eq!(schedule.len(), 2);
        assert_eq!(schedule.earliest(), Some(300));
        assert!(schedule.waiting(RunId(1), 400));
        assert!(!schedule.waiting(RunId(2), 400));
        assert_eq!(schedule.earliest(), Some(900));
        assert!(!schedule.waiting(RunId(3), 0));
        schedule.insert(RunId(4), 100);
        schedule.insert(RunId(5), 50);
        schedule.insert(RunId(6), 200);
        // Earliest first, only what is due and accepted; the rest stays.
        assert_eq!(schedule.take_due(150, 10, |id| id != RunId(5)), [RunId(4)]);
        assert!(schedule.contains(RunId(5)) && schedule.contains(RunId(6)));
        assert_eq!(schedule.take_due(1000, 1, |_| true), [RunId(5)]);
        schedule.remove(RunId(6));
        schedule.remove(RunId(1));
        assert_eq!(schedule.len(), 0);
        assert_eq!(schedule.earliest(), None);
    }
}
