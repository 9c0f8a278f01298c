//! Run records and each run's journal of steps.

use super::{get_json, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{run_id, RunFilter};
use crate::run::{Run, RunId, RunStatus, Step};

impl SledEngine {
    /// The next run id ([`run_id`]), counted by sled.
    pub(super) fn next_run_id(&self) -> Result<RunId, StoreError> {
        let counter = self.run_counter_floor + self.db.generate_id()?;
        Ok(run_id(self.install_id, counter))
    }

    pub(super) fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        get_json(&self.runs, &id.0.to_be_bytes())
    }

    /// Checkpoints a run in progress. A queued run's next attempt time is kept on its queue
    /// entry too, so a restart rebuilds the retry schedule from the small queue alone instead of
    /// reading every queued run.
    pub(super) fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let key = run.id.0.to_be_bytes();
        self.runs.insert(key, serde_json::to_vec(run)?)?;
        if run.status != RunStatus::Pending {
            // Written after the record, so retention never finds an index entry before its run.
            self.finished.insert(key, &super::prune::finished_at(run))?;
        }
        if run.status == RunStatus::Pending && self.pending.contains_key(key)? {
            let retry_at = run
                .next_attempt_at_ms
                .map(|at| at.to_be_bytes().to_vec())
                .unwrap_or_default();
            self.pending.insert(key, retry_at)?;
        }
        Ok(())
    }

    /// Runs newest first, as `filter` asks.
    pub(super) fn runs_newest_first(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        let mut found = Vec::new();
        for item in self.runs.iter().rev() {
            if found.len() >= filter.limit {
                break;
            }
            let (_, value) = item?;
            let run: Run = serde_json::from_slice(&value)?;
            if filter.matches(&run) {
                found.push(run);
            }
        }
        Ok(found)
    }

    /// Journals a run's step `index` (0-based). Not flushed here: sled writes it out within
    /// half a second, and the run's own record is flushed when it finishes.
    pub(super) fn append_step(&self, id: RunId, index: u32, step: &Step) -> Result<(), StoreError> {
        self.steps
            .insert(step_key(id, index), serde_json::to_vec(step)?)?;
        Ok(())
    }

    /// A run's journal, in order.
    pub(super) fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError> {
        self.steps
            .scan_prefix(id.0.to_be_bytes())
            .values()
            .map(|value| Ok(serde_json::from_slice(&value?)?))
            .collect()
    }

    /// Drops a run's journal from step `index` (0-based) on.
    pub(super) fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError> {
        let range = step_key(id, index)..=step_key(id, u32::MAX);
        for key in self.steps.range(range).keys() {
            self.steps.remove(key?)?;
        }
        Ok(())
    }
}

fn step_key(id: RunId, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&id.0.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}
