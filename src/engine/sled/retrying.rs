//! The index of queued runs waiting for a retry, so a start rebuilds the retry schedule without
//! walking the whole queue: with 100,000 queued runs that walk decoded every leaf of `pending`
//! (17.6 MB at the heap's peak, heaptrack), which then stayed in sled's cache.
//!
//! The queue entry's value (see `PENDING_TREE`) stays the truth. The index is written after it
//! and read against it, so an index entry that a crash left behind, or one whose run has left
//! the queue by a path that does not clear it, costs a lookup at the next start and is dropped.
//! A retry time missing from the index (a crash between the two writes, or one written by an
//! earlier version after this one had indexed the database) only means the run is looked at
//! early: it is checked against its own record when it is taken up.

use super::{decode_run_key, mark_retry_indexed, SledEngine, RETRY_INDEXED};
use crate::engine::error::StoreError;
use crate::run::RunId;

impl SledEngine {
    /// Keeps the index in step with the queue entry of `key` just written: `at` is the retry
    /// time it now holds (if any), `previous` what it held before (from that write, so a run
    /// that had no retry time and gets none costs no write here).
    pub(super) fn index_retry(
        &self,
        key: [u8; 8],
        at: Option<u64>,
        previous: Option<&[u8]>,
    ) -> Result<(), sled::Error> {
        match at {
            Some(at) => {
                self.retrying.insert(key, &at.to_be_bytes()[..])?;
            }
            None if previous.is_some_and(|value| !value.is_empty()) => {
                self.retrying.remove(key)?;
            }
            None => {}
        }
        Ok(())
    }

    /// The queued runs waiting for a retry, with the time (unix ms) of their next attempt.
    pub(super) fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        if !self.meta.contains_key(RETRY_INDEXED)? {
            self.build_retry_index()?;
        }
        let mut waiting = Vec::new();
        for entry in self.retrying.iter() {
            let (key, at) = entry?;
            let on_queue = self.pending.get(&key)?;
            match <[u8; 8]>::try_from(at.as_ref()) {
                Ok(time) if on_queue.as_ref() == Some(&at) => {
                    waiting.push((RunId(decode_run_key(&key)), u64::from_be_bytes(time)));
                }
                // Unless a writer changed it meanwhile, the entry is stale: dropped.
                _ => {
                    let _ = self
                        .retrying
                        .compare_and_swap(&key, Some(&at), None::<&[u8]>)?;
                }
            }
        }
        Ok(waiting)
    }

    /// One walk of the queue for a database written before the index: what it finds goes into
    /// the index, then `meta` notes that it is complete.
    fn build_retry_index(&self) -> Result<(), StoreError> {
        for entry in self.pending.iter() {
            let (key, value) = entry?;
            if value.len() == 8 {
                self.retrying.insert(key, value)?;
            }
        }
        mark_retry_indexed(&self.meta)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{new_run, temp_engine};
    use super::super::RETRY_INDEXED;
    use crate::run::RunStatus;

    #[tokio::test]
    async fn the_schedule_comes_from_the_index_and_an_older_database_is_indexed_once() {
        let (_dir, store) = temp_engine();
        let (mut waiting, mut done) = (new_run(&store, 1), new_run(&store, 2));
        for run in [&waiting, &done] {
            store.accept_run(run, None).await.unwrap();
        }
        waiting.next_attempt_at_ms = Some(60_000);
        store.save_run(&waiting).unwrap();
        done.next_attempt_at_ms = Some(70_000);
        store.save_run(&done).unwrap();
        assert_eq!(store.retrying.len(), 2);
        // Finished: off the queue and off the index.
        done.status = RunStatus::Succeeded;
        store.finish_run(&done).unwrap();
        assert_eq!(store.retrying.len(), 1);
        assert_eq!(store.pending_retry_times().unwrap(), [(waiting.id, 60_000)]);

        // An entry whose queue entry says otherwise (a crash between the two writes) is dropped.
        store
            .retrying
            .insert(done.id.0.to_be_bytes(), &1u64.to_be_bytes()[..])
            .unwrap();
        assert_eq!(store.pending_retry_times().unwrap(), [(waiting.id, 60_000)]);
        assert!(!store
            .retrying
            .contains_key(done.id.0.to_be_bytes())
            .unwrap());

        // A database of an earlier version: the times only on the queue, no mark.
        store.retrying.clear().unwrap();
        store.meta.remove(RETRY_INDEXED).unwrap();
        assert_eq!(store.pending_retry_times().unwrap(), [(waiting.id, 60_000)]);
        assert!(store.meta.contains_key(RETRY_INDEXED).unwrap());
        assert_eq!(store.retrying.len(), 1);

        // Taken up and due again without a time: off the index.
        waiting.next_attempt_at_ms = None;
        store.save_run(&waiting).unwrap();
        assert!(store.retrying.is_empty());
        assert_eq!(store.pending_retry_times().unwrap(), []);
    }
}
