//! The pending queue: which runs wait to be carried out (in the `pending` tree, or still in the
//! accept journal until they are taken up), when each is due, and how many there are.

use std::sync::atomic::Ordering;

use super::idempotency::encode_key;
use super::journal::{AcceptFrame, Logged};
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
        match &self.journal {
            // The run waits in the journal (its frame) and nowhere in sled until it is taken
            // up; only its idempotency key goes to sled here, checked and written under the
            // journal's lock with nothing in between.
            Some(journal) => {
                let accepted = journal.logged(&frame, |waits_already| {
                    let accepted = self.check_and_keep_key(run, &frame)?;
                    if !matches!(accepted, Accepted::New) {
                        return Ok((accepted, Logged::Nothing));
                    }
                    let run_key = run.id.0.to_be_bytes();
                    if !waits_already && self.runs.contains_key(run_key)? {
                        // A run sled knows, accepted again (`hookbot runs retry`): written there,
                        // its queue entry (and any retry time on it) made anew. The entry goes
                        // first: cut short by a crash, the journal's frame, newer than the
                        // record left, lists the run as waiting again.
                        let previous = self.pending.insert(run_key, &[])?;
                        self.index_retry(run_key, None, previous.as_deref())?;
                        if previous.is_none() {
                            self.pending_count.fetch_add(1, Ordering::Relaxed);
                        }
                        self.runs.insert(run_key, frame.run.as_slice())?;
                        return Ok((accepted, Logged::Frame));
                    }
                    if !waits_already {
                        self.pending_count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((accepted, Logged::Waiting))
                })?;
                // Durable either way before the answer; a replay waits too, as the first
                // request may not have reached the disk yet.
                journal.sync().await?;
                Ok(accepted)
            }
            // A temporary database: plain writes, one accept at a time, then a flush.
            None => {
                let accepted = {
                    let _one_at_a_time = self.accepts.lock().expect("accept lock");
                    let accepted = self.check_and_keep_key(run, &frame)?;
                    if matches!(accepted, Accepted::New) {
                        let run_key = run.id.0.to_be_bytes();
                        self.runs.insert(run_key, frame.run.as_slice())?;
                        // Last: the executor finds a run by its queue entry.
                        if self.pending.insert(run_key, &[])?.is_none() {
                            self.pending_count.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    accepted
                };
                self.flush().await?;
                Ok(accepted)
            }
        }
    }

    /// The first request's record when `frame`'s idempotency key was seen within its window;
    /// otherwise the key (if any) is written with the new run's record and the run stands.
    fn check_and_keep_key(&self, run: &Run, frame: &AcceptFrame) -> Result<Accepted, StoreError> {
        if let Some((key, record)) = &frame.idempotency {
            if let Some(existing) = self.idempotency.get(key)? {
                // An unreadable record is treated as absent: it is overwritten.
                if let Ok(existing) = serde_json::from_slice::<IdempotencyRecord>(&existing) {
                    if !existing.expired(run.received_at_ms) {
                        return Ok(Accepted::Replay(existing));
                    }
                }
            }
            self.idempotency.insert(key.as_slice(), record.as_slice())?;
        }
        Ok(Accepted::New)
    }

    /// Looks at a run's frame left in the accept journal at start: answers whether the run
    /// still waits there, which it does unless sled holds its record (or a later state of it:
    /// an earlier life of it, a failed run that `hookbot runs retry` queued again, does not
    /// count). A run in sled and not finished gets its queue entry if it lacks one (cut short
    /// by a crash, or a journal of an older version, whose accepts wrote to sled). The
    /// idempotency key is written to sled unless sled holds that key for a later request.
    pub(super) fn replay_accept(&self, frame: AcceptFrame) -> Result<bool, StoreError> {
        let run_key = frame.run_id.0.to_be_bytes();
        let journaled: Run = serde_json::from_slice(&frame.run)?;
        let stored = self.runs.get(run_key)?;
        let stored = stored.and_then(|bytes| serde_json::from_slice::<Run>(&bytes).ok());
        let waits = match stored {
            Some(stored) if stored.requeued_at_ms >= journaled.requeued_at_ms => {
                if stored.status == RunStatus::Pending && !self.pending.contains_key(run_key)? {
                    self.pending.insert(run_key, &[])?;
                    self.pending_count.fetch_add(1, Ordering::Relaxed);
                }
                false
            }
            _ => true,
        };
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
            }
        }
        Ok(waits)
    }

    /// Moves a run that waited in the accept journal into sled's trees: its record and its
    /// queue entry (the queue's count does not change: it counted the run already).
    pub(super) fn move_into_sled(
        runs: &sled::Tree,
        pending: &sled::Tree,
        frame: &AcceptFrame,
    ) -> Result<(), StoreError> {
        let run_key = frame.run_id.0.to_be_bytes();
        runs.insert(run_key, frame.run.as_slice())?;
        pending.insert(run_key, &[])?;
        Ok(())
    }

    /// Runs `write` (a write of run `id`) after taking the run off the accept journal's list
    /// if it waited there; `write` hears whether it did.
    pub(super) fn settled<T>(
        &self,
        id: RunId,
        write: impl FnOnce(bool) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.journal {
            Some(journal) => journal.settle(id, write),
            None => write(false),
        }
    }

    /// Takes a run off the queue without touching its record.
    /// A run that waited in the accept journal keeps its record in sled.
    pub(super) fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        let record = match &self.journal {
            Some(journal) => journal.waiting_run(id)?,
            None => None,
        };
        self.settled(id, |waited| {
            let key = id.0.to_be_bytes();
            if let (true, Some(record)) = (waited, &record) {
                self.runs.insert(key, record.as_slice())?;
            }
            let removed = self.pending.remove(key)?;
            self.index_retry(key, None, removed.as_deref())?;
            self.pending_removed(removed.is_some());
            self.pending_removed(waited);
            Ok(())
        })
    }

    /// Saves a finished run and takes it off the queue.
    pub(super) fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        self.settled(run.id, |waited| {
            self.write_record(run)?;
            let key = run.id.0.to_be_bytes();
            let removed = self.pending.remove(key)?;
            self.index_retry(key, None, removed.as_deref())?;
            self.pending_removed(removed.is_some());
            self.pending_removed(waited);
            Ok(())
        })
    }

    /// Queued runs, oldest first, at most `limit`.
    pub(super) fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        self.pending_runs_from(RunId(0), limit)
    }

    /// Queued runs from `from` on, oldest first, at most `limit`: those in the queue tree and
    /// those waiting in the accept journal.
    pub(super) fn pending_runs_from(
        &self,
        from: RunId,
        limit: usize,
    ) -> Result<Vec<RunId>, StoreError> {
        let mut queued = self
            .pending
            .range(from.0.to_be_bytes()..)
            .keys()
            .take(limit)
            .map(|k| Ok(RunId(decode_run_key(&k?))))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if let Some(journal) = &self.journal {
            queued.extend(journal.waiting_from(from, limit));
            queued.sort_unstable();
            queued.dedup();
            queued.truncate(limit);
        }
        Ok(queued)
    }

    /// Runs accepted and not finished.
    pub(super) fn pending_count(&self) -> u64 {
        self.pending_count.load(Ordering::Relaxed)
    }

    /// One run fewer on the queue.
    pub(super) fn pending_count_down(&self) {
        self.pending_removed(true);
    }

    /// One run more on the queue.
    pub(super) fn pending_count_up(&self) {
        self.pending_count.fetch_add(1, Ordering::Relaxed);
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
