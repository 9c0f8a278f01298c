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
