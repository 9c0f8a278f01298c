//! The queue's bookkeeping beyond the store: when each waiting run is due, listing runs, and
//! putting a failed run back in the queue (`hookbot runs retry`).

use std::collections::{BTreeSet, HashMap};

use crate::run::{Run, RunId, RunStatus, StepOutcome};
use crate::store::{Store, StoreError};

/// Runs waiting for their next attempt, by when they are due (unix ms). Runs not in it are due
/// now. Kept in memory, rebuilt from the pending runs' records at start.
#[derive(Debug, Default)]
pub struct Schedule {
    due: HashMap<RunId, u64>,
    order: BTreeSet<(u64, RunId)>,
}

impl Schedule {
    /// From the queue: each run whose next attempt is still ahead. (A run is checked against
    /// its own record again when it is taken up, so an entry from an older version that lacks
    /// the time only means the run is looked at early.)
    pub fn rebuild(store: &Store, now_ms: u64) -> Result<Schedule, StoreError> {
        let mut schedule = Schedule::default();
        for (id, at) in store.pending_retry_times()? {
            if at > now_ms {
                schedule.insert(id, at);
            }
        }
        Ok(schedule)
    }

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

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// When the earliest waiting run is due (unix ms).
    pub fn earliest(&self) -> Option<u64> {
        self.order.first().map(|(at, _)| *at)
    }
}

/// Which runs `hookbot runs` lists.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub event: Option<String>,
    /// Failed or dead-lettered only.
    pub failed: bool,
    pub limit: usize,
}

/// Runs newest first, as `filter` asks.
pub fn list(store: &Store, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
    store.runs_newest_first(filter.limit, |run| {
        filter.event.as_deref().map_or(true, |e| run.event_id == e)
            && (!filter.failed || run.status == RunStatus::Failed)
    })
}

/// Why a run cannot be put back in the queue.
#[derive(Debug, thiserror::Error)]
pub enum RequeueError {
    #[error("no run {0}")]
    NoRun(RunId),
    #[error(
        "run {0} has not failed (it is {1}); only a failed or dead-lettered run can be retried"
    )]
    NotFailed(RunId, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts a failed or dead-lettered run back in the queue, attempts reset, to resume at the action
/// that failed: that action's failed step, the journal's last, is dropped so it is tried again;
/// everything before it is replayed, not repeated.
pub async fn requeue(store: &Store, id: RunId, now_ms: u64) -> Result<Run, RequeueError> {
    let mut run = store.run(id)?.ok_or(RequeueError::NoRun(id))?;
    if run.status != RunStatus::Failed {
        return Err(RequeueError::NotFailed(id, status_word(&run)));
    }
    let steps = store.steps(id)?;
    let failed_path = run.error.as_ref().map(|e| e.path.as_str()).unwrap_or("");
    if let Some(last) = steps.last() {
        let unhandled = matches!(last.outcome, StepOutcome::Failed { handled: false, .. });
        if unhandled && !failed_path.is_empty() && last.path == failed_path {
            let index = (steps.len() - 1) as u32;
            store.drop_steps_from(id, index)?;
            run.steps = index;
        }
    }
    run.status = RunStatus::Pending;
    run.error = None;
    run.attempts = 0;
    run.next_attempt_at_ms = None;
    run.dead_lettered = false;
    run.finished_at_ms = None;
    run.requeued_at_ms = Some(now_ms);
    // The run's own time budget starts again from now.
    if let Some(started) = run.started_at_ms {
        run.retry_waited_ms = now_ms.saturating_sub(started);
    }
    store.accept_run(&run).await?;
    Ok(run)
}

/// `succeeded`, `failed`, `dead-lettered` or `pending`.
pub fn status_word(run: &Run) -> &'static str {
    match run.status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed if run.dead_lettered => "dead-lettered",
        RunStatus::Failed => "failed",
        RunStatus::Pending => "pending",
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
        assert!(schedule.is_empty());
        assert_eq!(schedule.earliest(), None);
    }
}
