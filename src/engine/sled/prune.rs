//! Retention: finished runs beyond their time or count, with their journals, and expired
//! idempotency keys.

use std::time::Duration;

use sled::Transactional;

use super::SledEngine;
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
        let keep_for_ms = keep_for.as_millis() as u64;
        let mut pruned = Pruned::default();
        let mut finished_seen = 0u64;
        // Newest first: run ids grow with time.
        for entry in self.runs.iter().rev() {
            let (key, value) = entry?;
            if self.pending.contains_key(&key)? {
                continue;
            }
            // A run the accept journal could still bring back at the next start stays until a
            // checkpoint has moved it into sled's log (about a second).
            let unsettled = self
                .journal
                .as_ref()
                .map_or(u64::MAX, |j| j.unsettled_floor());
            if super::decode_run_key(&key) >= unsettled {
                continue;
            }
            let Ok(run) = serde_json::from_slice::<Run>(&value) else {
                continue;
            };
            if run.status == RunStatus::Pending {
                continue;
            }
            finished_seen += 1;
            let finished_at = run.finished_at_ms.unwrap_or(run.received_at_ms);
            let too_old = now_ms.saturating_sub(finished_at) > keep_for_ms;
            if !too_old && finished_seen <= keep_count {
                continue;
            }
            // Deleted only if still finished, unchanged and off the queue (a retry may have
            // queued it again since it was read).
            let deleted = (&self.runs, &self.pending).transaction(|(runs, pending)| {
                if pending.get(&key)?.is_some() || runs.get(&key)?.as_ref() != Some(&value) {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                runs.remove(&key)?;
                Ok(())
            });
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
}

#[cfg(test)]
mod tests {
    use super::super::idempotency::encode_key;
    use super::super::testing::{answer, new_run, once, temp_engine};
    use super::*;
    use crate::engine::records::IdempotencyKey;
    use crate::run::{RunId, Step};

    #[tokio::test]
    async fn prune_keeps_pending_runs_and_the_newest() {
        use crate::run::StepOutcome;
        let (_dir, store) = temp_engine();
        const HOUR: u64 = 3_600_000;
        let now = 1_000 * HOUR;
        let step = Step {
            path: "1".into(),
            action: "stop".into(),
            line: 0,
            started_at_ms: 0,
            duration_ms: 0,
            outcome: StepOutcome::Waiting { until_ms: 1 },
            warnings: vec![],
            channel: None,
        };
        let finish = |received: u64, finished: u64| {
            let mut run = new_run(&store, received);
            store
                .runs
                .insert(run.id.0.to_be_bytes(), serde_json::to_vec(&run).unwrap())
                .unwrap();
            store.pending.insert(run.id.0.to_be_bytes(), &[]).unwrap();
            run.status = RunStatus::Succeeded;
            run.finished_at_ms = Some(finished);
            store.finish_run(&run).unwrap();
            store.append_step(run.id, 0, &step).unwrap();
            run.id
        };
        // Oldest first: two finished 3 days ago, three finished within the hour.
        let old_a = finish(now - 72 * HOUR, now - 72 * HOUR);
        let old_b = finish(now - 72 * HOUR, now - 71 * HOUR);
        let recent: Vec<RunId> = (0..3).map(|_| finish(now - HOUR, now - HOUR / 2)).collect();
        // An old run still queued is never pruned.
        let queued = new_run(&store, now - 100 * HOUR);
        store.accept_run(&queued, None).await.unwrap();
        // An old idempotency key and a fresh one.
        let old_key = IdempotencyKey {
            event_id: "e",
            key: b"old",
        };
        let new_key = IdempotencyKey {
            event_id: "e",
            key: b"new",
        };
        store
            .accept_run(&new_run(&store, now - 25 * HOUR), once(old_key, &answer(1)))
            .await
            .unwrap();
        store
            .accept_run(&new_run(&store, now - HOUR), once(new_key, &answer(2)))
            .await
            .unwrap();

        // Keep two days, at most two runs: both old ones go by age, the oldest recent by count.
        let pruned = store.prune(Duration::from_secs(48 * 3600), 2, now).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                runs: 3,
                idempotency_keys: 1
            }
        );
        for gone in [old_a, old_b, recent[0]] {
            assert!(store.run(gone).unwrap().is_none());
            assert!(
                store.steps(gone).unwrap().is_empty(),
                "steps of {gone} deleted"
            );
        }
        for kept in [recent[1], recent[2], queued.id] {
            assert!(store.run(kept).unwrap().is_some());
        }
        assert_eq!(store.steps(recent[2]).unwrap().len(), 1);
        assert!(store
            .idempotency
            .get(encode_key(old_key))
            .unwrap()
            .is_none());
        assert!(store
            .idempotency
            .get(encode_key(new_key))
            .unwrap()
            .is_some());
        // Nothing more to do.
        assert_eq!(
            store.prune(Duration::from_secs(48 * 3600), 2, now).unwrap(),
            Pruned::default()
        );
    }
}
