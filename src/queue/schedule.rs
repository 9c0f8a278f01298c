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
        schedule.remove(RunId(1));
        assert_eq!(schedule.len(), 0);
        assert_eq!(schedule.earliest(), None);
    }
}
