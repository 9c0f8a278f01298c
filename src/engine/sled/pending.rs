//! The pending queue: which runs wait to be carried out, when each is due, and how many there
//! are.

use std::sync::atomic::Ordering;

use super::idempotency::encode_key;
use super::journal::AcceptFrame;
use super::{decode_run_key, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{Accepted, Idempotency, IdempotencyRecord};
use crate::run::{Run, RunId, RunStatus};

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
        let frame = AcceptFrame {
            run_id: run.id,
            run: serde_json::to_vec(run)?,
            idempotency: match once {
                Some(Idempotency { key, answer }) => Some((
                    encode_key(key),
                    serde_json::to_vec(&IdempotencyRecord {
                        run: run.id,
                        accepted_at_ms: run.received_at_ms,
                        answer: answer.clone(),
                    })?,
                )),
                None => None,
            },
        };
        // Plain writes, one accept at a time (the journal's lock, or `accepts` without one): a
        // sled transaction would roll sled's io-buffer and write it out on every accept, which
        // is most of what an accept cost. Atomicity after a crash comes from the journal's
        // replay, which completes a run whose writes were cut short.
        let write = || {
            let run_key = run.id.0.to_be_bytes();
            if let Some((key, record)) = &frame.idempotency {
                if let Some(existing) = self.idempotency.get(key)? {
                    // An unreadable record is treated as absent: it is overwritten.
                    if let Ok(existing) = serde_json::from_slice::<IdempotencyRecord>(&existing) {
                        if !existing.expired(run.received_at_ms) {
                            return Ok((Accepted::Replay(existing), false));
                        }
                    }
                }
                self.idempotency.insert(key.as_slice(), record.as_slice())?;
            }
            self.runs.insert(run_key, frame.run.as_slice())?;
            // Last: the executor finds a run by its queue entry.
            if self.pending.insert(run_key, &[])?.is_none() {
                self.pending_count.fetch_add(1, Ordering::Relaxed);
            }
            Ok((Accepted::New, true))
        };
        // Durable either way before the answer; a replay waits too, as the first request may
        // not have reached the disk yet (its frame was queued before its key could be seen).
        match &self.journal {
            Some(journal) => {
                let accepted = journal.logged(&frame, write)?;
                journal.sync().await?;
                Ok(accepted)
            }
            None => {
                let (accepted, _) = {
                    let _one_at_a_time = self.accepts.lock().expect("accept lock");
                    write()?
                };
                self.flush().await?;
                Ok(accepted)
            }
        }
    }

    /// Completes a run from the accept journal at start, as far as sled lacks it: the run's
    /// record unless sled has it (or a later state of it; an earlier life of it, a failed run
    /// that `hookbot runs retry` queued again, is replaced), its queue entry while the run is
    /// not finished, and its idempotency key unless sled holds that key for a later request.
    /// Answers whether anything was missing.
    pub(super) fn replay_accept(&self, frame: AcceptFrame) -> Result<bool, StoreError> {
        let run_key = frame.run_id.0.to_be_bytes();
        let journaled: Run = serde_json::from_slice(&frame.run)?;
        let stored = self.runs.get(run_key)?;
        let stored = stored.and_then(|bytes| serde_json::from_slice::<Run>(&bytes).ok());
        let mut completed = false;
        let status = match stored {
            Some(stored) if stored.requeued_at_ms >= journaled.requeued_at_ms => stored.status,
            _ => {
                self.runs.insert(run_key, frame.run.as_slice())?;
                completed = true;
                journaled.status
            }
        };
        // A run not finished is queued: nothing takes a queue entry away before its run ends.
        if status == RunStatus::Pending && !self.pending.contains_key(run_key)? {
            self.pending.insert(run_key, &[])?;
            completed = true;
        }
        if let Some((key, record)) = &frame.idempotency {
            let accepted_at = |bytes: &[u8]| {
                serde_json::from_slice::<IdempotencyRecord>(bytes)
                    .ok()
                    .map(|record| record.accepted_at_ms)
            };
            let existing = self.idempotency.get(key)?;
            let keep = existing.as_deref().is_some_and(|existing| {
                existing == record.as_slice() || accepted_at(existing) > accepted_at(record)
            });
            if !keep {
                self.idempotency.insert(key.as_slice(), record.as_slice())?;
                completed = true;
            }
        }
        Ok(completed)
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

    /// Queued runs from `from` on, oldest first, at most `limit`.
    pub(super) fn pending_runs_from(
        &self,
        from: RunId,
        limit: usize,
    ) -> Result<Vec<RunId>, StoreError> {
        self.pending
            .range(from.0.to_be_bytes()..)
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
