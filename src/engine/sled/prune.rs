//! Retention: finished runs beyond their time or count, with their journals, and expired
//! idempotency keys; and the index of finished runs retention walks instead of every run.

use std::time::Duration;

use sled::Transactional;

use super::{mark_finished_indexed, SledEngine, FINISHED_INDEXED};
use crate::engine::error::StoreError;
use crate::engine::records::{IdempotencyRecord, Pruned};
use crate::run::{Run, RunStatus};

impl SledEngine {
    /// Deletes finished runs (with their journals) that finished more than `keep_for` before
    /// `now_ms` or are beyond the newest `keep_count` finished runs, and idempotency keys older
    /// than the idempotency window. A queued run is never deleted. Walks both trees: call it
    /// from a blocking context.
    pub(super) fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        // What the journal holds goes into sled first, so only runs accepted while this prune
        // walks are left for the next one.
        if let Some(journal) = &self.journal {
            journal.settle_all()?;
        }
        self.index_finished_runs()?;
        let keep_for_ms = keep_for.as_millis() as u64;
        let mut pruned = Pruned::default();
        let mut finished_seen = 0u64;
        // Newest first (run ids grow with time), through the index of finished runs: the walk
        // never reads a queued run's record, so a long queue costs a prune nothing.
        for entry in self.finished.iter().rev() {
            let (key, finished_at) = entry?;
            if self.pending.contains_key(&key)? {
                // Queued again (`hookbot runs retry`): finished again, it is indexed again.
                let _ = self
                    .finished
                    .compare_and_swap(&key, Some(finished_at), None::<&[u8]>)?;
                continue;
            }
            // A run the accept journal could still bring back at the next start stays while a
            // segment that could is on disk (see `Journal::unsettled_floor`).
            let unsettled = self
                .journal
                .as_ref()
                .map_or(u64::MAX, |j| j.unsettled_floor());
            if super::decode_run_key(&key) >= unsettled {
                continue;
            }
            finished_seen += 1;
            let too_old = now_ms.saturating_sub(decode_ms(&finished_at)) > keep_for_ms;
            if !too_old && finished_seen <= keep_count {
                continue;
            }
            // Deleted only if still finished, unchanged and off the queue (a retry may have
            // queued it again since it was indexed).
            let deleted = (&self.runs, &self.pending, &self.finished).transaction(
                |(runs, pending, finished)| {
                    let still_finished = runs.get(&key)?.is_some_and(|value| {
                        serde_json::from_slice::<Run>(&value)
                            .is_ok_and(|run| run.status != RunStatus::Pending)
                    });
                    if pending.get(&key)?.is_some()
                        || finished.get(&key)?.as_ref() != Some(&finished_at)
                        || !still_finished
                    {
                        return Err(ConflictableTransactionError::Abort(()));
                    }
                    runs.remove(&key)?;
                    finished.remove(&key)?;
                    Ok(())
                },
            );
            match deleted {
                Ok(()) => {
                    let mut batch = sled::Batch::default();
                    for step in self.steps.scan_prefix(&key).keys() {
                        batch.remove(step?);
                    }
                    self.steps.apply_batch(batch)?;
                    pruned.runs += 1;
                }
                Err(TransactionError::Abort(())) => {}
                Err(TransactionError::Storage(error)) => return Err(error.into()),
            }
        }
        for entry in self.idempotency.iter() {
            let (key, value) = entry?;
            let expired = serde_json::from_slice::<IdempotencyRecord>(&value)
                .map_or(true, |record| record.expired(now_ms));
            if expired
                && self
                    .idempotency
                    .compare_and_swap(&key, Some(value), None::<&[u8]>)?
                    .is_ok()
            {
                pruned.idempotency_keys += 1;
            }
        }
        Ok(pruned)
    }

    /// Indexes the finished runs of a database written before the index existed, once: a walk
    /// of every run record, as every prune used to make.
    fn index_finished_runs(&self) -> Result<(), StoreError> {
        if self.meta.contains_key(FINISHED_INDEXED)? {
            return Ok(());
        }
        for entry in self.runs.iter() {
            let (key, value) = entry?;
            if let Ok(run) = serde_json::from_slice::<Run>(&value) {
                if run.status != RunStatus::Pending && !self.pending.contains_key(&key)? {
                    self.finished.insert(&key, &finished_at(&run))?;
                }
            }
        }
        mark_finished_indexed(&self.meta)?;
        Ok(())
    }
}

/// The finished index's value for `run`: when it finished (unix ms, 8 bytes big-endian; when it
/// was received, for a run that never started).
pub(super) fn finished_at(run: &Run) -> [u8; 8] {
    run.finished_at_ms
        .unwrap_or(run.received_at_ms)
        .to_be_bytes()
}

fn decode_ms(bytes: &[u8]) -> u64 {
    <[u8; 8]>::try_from(bytes).map_or(0, u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testing::{new_run, temp_engine};
    use super::super::FINISHED_INDEXED;
    use crate::run::RunStatus;

    /// A database from before the index (finished runs, no index) is indexed by its first
    /// prune; a finished run queued again is neither pruned nor counted while it waits.
    #[tokio::test]
    async fn retention_indexes_an_older_database_and_skips_a_run_queued_again() {
        let (_dir, store) = temp_engine();
        let mut finished = Vec::new();
        for received in [1, 2, 3] {
            let mut run = new_run(&store, received);
            store.accept_run(&run, None).await.unwrap();
            run.status = RunStatus::Succeeded;
            run.finished_at_ms = Some(received);
            store.finish_run(&run).unwrap();
            finished.push(run);
        }
        // As an older version left it.
        store.finished.clear().unwrap();
        store.meta.remove(FINISHED_INDEXED).unwrap();
        // The newest finished run is queued again (`hookbot runs retry`).
        let mut again = finished[2].clone();
        again.status = RunStatus::Pending;
        store.accept_run(&again, None).await.unwrap();

        // Keep one finished run: the queued one is not counted, so only the oldest goes.
        let pruned = store.prune(Duration::from_secs(3600), 1, 10).unwrap();
        assert_eq!(pruned.runs, 1);
        assert!(store.run(finished[0].id).unwrap().is_none());
        assert!(store.run(finished[1].id).unwrap().is_some());
        assert!(store.run(again.id).unwrap().is_some());
        assert!(store.meta.contains_key(FINISHED_INDEXED).unwrap());
        assert_eq!(
            store.finished.len(),
            1,
            "only the finished run kept is indexed"
        );
    }
}
