//! The pending queue: which runs wait to be carried out, when each is due, and how many there
//! are.

use std::sync::atomic::Ordering;

use sled::Transactional;

use super::idempotency::encode_key;
use super::{decode_run_key, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{Accepted, Idempotency, IdempotencyRecord};
use crate::run::{Run, RunId};

impl SledEngine {
    /// Records a new run and queues it, durably, unless `once`'s key was seen for the run's
    /// event within [`IDEMPOTENCY_WINDOW`](crate::engine::IDEMPOTENCY_WINDOW): then nothing is
    /// written and the first record comes back. The key's record (with its answer) is written
    /// in the same transaction as the run, so two requests with one key never both start a run.
    /// Either way, when this returns Ok what it answers is on disk.
    pub(super) async fn accept_run(
        &self,
        run: &Run,
        once: Option<Idempotency<'_>>,
    ) -> Result<Accepted, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let run_key = run.id.0.to_be_bytes();
        let value = serde_json::to_vec(run)?;
        let idempotency = match once {
            Some(Idempotency { key, answer }) => Some((
                encode_key(key),
                serde_json::to_vec(&IdempotencyRecord {
                    run: run.id,
                    accepted_at_ms: run.received_at_ms,
                    answer: answer.clone(),
                })?,
            )),
            None => None,
        };
        let now_ms = run.received_at_ms;
        let outcome =
            (&self.runs, &self.pending, &self.idempotency).transaction(|(runs, pending, keys)| {
                if let Some((key, record)) = &idempotency {
                    if let Some(existing) = keys.get(key)? {
                        // An unreadable record is treated as absent: it is overwritten.
                        if let Ok(existing) = serde_json::from_slice::<IdempotencyRecord>(&existing)
                        {
                            if !existing.expired(now_ms) {
                                return Err(ConflictableTransactionError::Abort(existing));
                            }
                        }
                    }
                    keys.insert(key.as_slice(), record.as_slice())?;
                }
                runs.insert(&run_key, value.as_slice())?;
                Ok(pending.insert(&run_key, &[])?.is_none())
            });
        let accepted = match outcome {
            Ok(new_in_queue) => {
                if new_in_queue {
                    self.pending_count.fetch_add(1, Ordering::Relaxed);
                }
                Accepted::New
            }
            Err(TransactionError::Abort(first)) => Accepted::Replay(first),
            Err(TransactionError::Storage(error)) => return Err(error.into()),
        };
        // A replay waits too: the first request may not have reached the disk yet.
        self.flush().await?;
        Ok(accepted)
    }

    /// Takes a run off the queue without touching its record.
    pub(super) fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        let removed = self.pending.remove(id.0.to_be_bytes())?.is_some();
        self.pending_removed(removed);
        Ok(())
    }

    /// The queued runs waiting for a retry, with the time (unix ms) of their next attempt.
    pub(super) fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        let mut waiting = Vec::new();
        for entry in self.pending.iter() {
            let (key, value) = entry?;
            if let Ok(at) = <[u8; 8]>::try_from(value.as_ref()) {
                waiting.push((RunId(decode_run_key(&key)), u64::from_be_bytes(at)));
            }
        }
        Ok(waiting)
    }

    /// Saves a finished run and takes it off the queue.
    pub(super) fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        self.save_run(run)?;
        let removed = self.pending.remove(run.id.0.to_be_bytes())?.is_some();
        self.pending_removed(removed);
        Ok(())
    }

    /// Queued runs, oldest first, at most `limit`.
    pub(super) fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        self.pending
            .iter()
            .keys()
            .take(limit)
            .map(|k| Ok(RunId(decode_run_key(&k?))))
            .collect()
    }

    /// Runs accepted and not finished.
    pub(super) fn pending_count(&self) -> u64 {
        self.pending_count.load(Ordering::Relaxed)
    }

    fn pending_removed(&self, removed: bool) {
        if removed {
            let _ = self
                .pending_count
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(1))
                });
        }
    }
}
