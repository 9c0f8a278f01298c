//! Run records and each run's journal of steps.

use super::{get_json, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::RunFilter;
use crate::run::{Run, RunId, RunStatus, Step};

impl SledEngine {
    /// The next run id: the top 24 bits come from the install id (highest bit set, so every
    /// new id sorts after those of databases made before install ids existed), the low 40 bits
    /// count up. Two databases thus hand out different ids, and ids still sort by age.
    pub(super) fn next_run_id(&self) -> Result<RunId, StoreError> {
        Ok(run_id(self.install_id, self.db.generate_id()?))
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

/// See [`SledEngine::next_run_id`].
fn run_id(install_id: u128, counter: u64) -> RunId {
    const COUNTER_BITS: u32 = 40;
    let prefix = (install_id as u64 & 0x7f_ffff) | 0x80_0000;
    RunId((prefix << COUNTER_BITS) | (counter & ((1 << COUNTER_BITS) - 1)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::temp_engine;
    use super::*;

    #[test]
    fn steps_come_back_in_order_per_run() {
        use crate::run::StepOutcome;
        let (_dir, store) = temp_engine();
        let step = |path: &str| Step {
            path: path.into(),
            action: "stop".into(),
            line: 0,
            started_at_ms: 0,
            duration_ms: 0,
            outcome: StepOutcome::Waiting { until_ms: 1 },
            warnings: vec![],
            channel: None,
        };
        // Index 256 would sort before 2 if keys were not fixed-width big-endian.
        store.append_step(RunId(1), 256, &step("c")).unwrap();
        store.append_step(RunId(1), 0, &step("a")).unwrap();
        store.append_step(RunId(1), 2, &step("b")).unwrap();
        store.append_step(RunId(2), 0, &step("other")).unwrap();
        let paths: Vec<String> = store
            .steps(RunId(1))
            .unwrap()
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(paths, ["a", "b", "c"]);
    }
}
