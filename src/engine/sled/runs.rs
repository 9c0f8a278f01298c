//! Run records and each run's journal of steps.

use super::{get_json, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{run_id, RunFilter};
use crate::run::{Run, RunId, RunStatus, Step};

impl SledEngine {
    /// The next run id ([`run_id`]), counted by sled; [`secure_run_ids`](Self::secure_run_ids)
    /// ran at open, so none is handed out again after a crash.
    pub(super) fn next_run_id(&self) -> Result<RunId, StoreError> {
        let counter = self.run_counter_floor + self.db.generate_id()?;
        Ok(run_id(self.install_id, counter))
    }

    /// Makes sled's id counter durable above every id this process will hand out, before the
    /// first. sled keeps a high-water mark of its counter, written when the ids enter a new
    /// million but not waited for (it waits for the mark before), and a start carries on from
    /// the last durable mark plus two million. A start's own jump uses that margin up: a process
    /// killed before sled's next flush (half a second, or the first run finished) left the mark
    /// where it had found it, and the next start handed out the same ids again. A run replayed
    /// from the accept journal then had its record overwritten by a new webhook's, and the new
    /// run's message carried the nonce of the old one's, so Discord answered with the earlier
    /// message. Taking one id and flushing makes this start's mark durable; within one life
    /// the marks are a million ids apart, each flushed long before the next.
    pub(super) fn secure_run_ids(&self) -> Result<(), sled::Error> {
        self.db.generate_id()?;
        self.db.flush()?;
        Ok(())
    }

    /// A run's record: from the accept journal while it waits there, else from sled.
    pub(super) fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        if let Some(journal) = &self.journal {
            if let Some(record) = journal.waiting_run(id)? {
                return Ok(Some(serde_json::from_slice(&record)?));
            }
        }
        get_json(&self.runs, &id.0.to_be_bytes())
    }

    /// Checkpoints a run in progress. A queued run's next attempt time is kept on its queue
    /// entry and in the `retrying` index too, so a restart rebuilds the retry schedule from that
    /// index alone instead of reading every queued run. A run that waited in the accept journal moves into sled here:
    /// it gets its queue entry while still queued, or leaves the queue's count when not.
    pub(super) fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let key = run.id.0.to_be_bytes();
        self.settled(run.id, |waited| {
            self.write_record(run)?;
            // The queue's count is of its entries and the runs waiting in the journal.
            if waited {
                self.pending_count_down();
            }
            if run.status == RunStatus::Pending && (waited || self.pending.contains_key(key)?) {
                let retry_at = run
                    .next_attempt_at_ms
                    .map(|at| at.to_be_bytes().to_vec())
                    .unwrap_or_default();
                let previous = self.pending.insert(key, retry_at)?;
                self.index_retry(key, run.next_attempt_at_ms, previous.as_deref())?;
                if previous.is_none() {
                    self.pending_count_up();
                }
            }
            Ok(())
        })
    }

    /// Writes a run's record, and its entry in the index of finished runs once it is finished.
    pub(super) fn write_record(&self, run: &Run) -> Result<(), StoreError> {
        let key = run.id.0.to_be_bytes();
        self.runs.insert(key, serde_json::to_vec(run)?)?;
        if run.status != RunStatus::Pending {
            // Written after the record, so retention never finds an index entry before its run.
            self.finished.insert(key, &super::prune::finished_at(run))?;
        }
        Ok(())
    }

    /// Runs newest first, as `filter` asks: those in sled and those waiting in the accept
    /// journal (which are queued, so never failed).
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
        if let (Some(journal), false) = (&self.journal, filter.failed) {
            let mut waiting = Vec::new();
            let mut below = u64::MAX;
            'read: while waiting.len() < filter.limit {
                let chunk = journal.waiting_below(below, 64)?;
                if chunk.is_empty() {
                    break;
                }
                for (id, record) in chunk {
                    below = id.0;
                    let run: Run = serde_json::from_slice(&record)?;
                    if filter.matches(&run) {
                        waiting.push(run);
                        if waiting.len() >= filter.limit {
                            break 'read;
                        }
                    }
                }
            }
            // A run retried (`hookbot runs retry`) waits in the journal with its earlier life
            // still in sled: the journal's is the newer.
            let ids: std::collections::HashSet<RunId> = waiting.iter().map(|run| run.id).collect();
            found.retain(|run| !ids.contains(&run.id));
            found.extend(waiting);
            found.sort_unstable_by_key(|run| std::cmp::Reverse(run.id));
            found.truncate(filter.limit);
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::SledEngine;

    /// What a `kill -9` at this instant leaves: the database folder as the files hold it now,
    /// copied while the engine still has it open.
    fn crash_image(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                crash_image(&entry.path(), &to.join(entry.file_name()));
            } else {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }

    /// Each start takes a run id and is killed at once, before sled flushes by itself (the
    /// crash bench's short rounds): the next start must still hand out only larger ids.
    #[test]
    fn a_start_killed_at_once_never_has_its_run_ids_handed_out_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut path = dir.path().join("start0");
        drop(SledEngine::open(&path).unwrap());
        let mut last = None;
        for start in 1..=3 {
            let engine = SledEngine::open(&path).unwrap();
            let id = engine.next_run_id().unwrap();
            assert!(
                last.map_or(true, |last| id > last),
                "start {start} handed out {id}, not above the start before's {}",
                last.map_or_else(String::new, |last| last.to_text())
            );
            last = Some(id);
            let image = dir.path().join(format!("start{start}"));
            crash_image(&path, &image);
            drop(engine);
            path = image;
        }
    }
}
