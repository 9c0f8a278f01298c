//! Group commit for sled's flushes: concurrent writers share them, so a burst of writes costs a
//! few disk syncs instead of one each. (The accept journal syncs through its own writer thread.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::engine::error::StoreError;

/// Group commit: writers take a ticket after writing and wait for a flush that started after
/// their ticket; one of them (the leader) flushes for everyone waiting.
#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<CommitState>,
    done: tokio::sync::Notify,
    pub(super) flushes: AtomicU64,
}

#[derive(Default)]
struct CommitState {
    /// The last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is on disk.
    durable: u64,
    /// The tickets the flush in progress covers, if one is in progress.
    flushing: Option<u64>,
    /// Failed flushes so far, the highest ticket one of them covered, and the last error.
    failures: u64,
    failed_through: u64,
    last_error: Option<sled::Error>,
}

/// Puts things right when a leader's flush is dropped half-way (its request went away):
/// another waiter takes over.
struct LeaderGuard<'a> {
    commit: &'a GroupCommit,
    armed: bool,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.commit.state.lock().expect("commit lock").flushing = None;
            self.commit.done.notify_waiters();
        }
    }
}

impl GroupCommit {
    /// Waits until everything written before this call is on disk.
    pub(super) async fn flush(&self, db: &sled::Db) -> Result<(), StoreError> {
        self.flush_with(|| db.flush_async()).await
    }

    /// [`flush`](Self::flush), with the disk flush as `flush_disk`, so a test can hold a
    /// leader's flush and force a batch.
    pub(super) async fn flush_with<F, Fut>(&self, flush_disk: F) -> Result<(), StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<usize, sled::Error>>,
    {
        let ticket = {
            let mut state = self.state.lock().expect("commit lock");
            state.issued += 1;
            state.issued
        };
        let mut waited_on: Option<u64> = None;
        loop {
            let notified = self.done.notified();
            let mut notified = std::pin::pin!(notified);
            let target = {
                let mut state = self.state.lock().expect("commit lock");
                if state.durable >= ticket {
                    return Ok(());
                }
                if let Some(failures) = waited_on {
                    if state.failures > failures && state.failed_through >= ticket {
                        let error = state.last_error.clone().unwrap_or_else(|| {
                            sled::Error::ReportableBug("flush failed".to_owned())
                        });
                        return Err(error.into());
                    }
                }
                match state.flushing {
                    Some(covers) => {
                        // Wait for the flush in progress; if it covers this ticket, its outcome
                        // is ours, else lead (or join) the next one.
                        waited_on = (covers >= ticket).then_some(state.failures);
                        notified.as_mut().enable();
                        None
                    }
                    None => {
                        state.flushing = Some(state.issued);
                        Some(state.issued)
                    }
                }
            };
            let Some(target) = target else {
                notified.await;
                continue;
            };
            let mut guard = LeaderGuard {
                commit: self,
                armed: true,
            };
            self.flushes.fetch_add(1, Ordering::Relaxed);
            let result = flush_disk().await;
            guard.armed = false;
            {
                let mut state = self.state.lock().expect("commit lock");
                state.flushing = None;
                match &result {
                    Ok(_) => state.durable = state.durable.max(target),
                    Err(error) => {
                        state.failures += 1;
                        state.failed_through = state.failed_through.max(target);
                        state.last_error = Some(error.clone());
                    }
                }
            }
            self.done.notify_waiters();
            return result.map(|_| ()).map_err(StoreError::from);
        }
    }

    /// The last ticket the flush in progress covers, if one is in progress.
    #[cfg(test)]
    pub(super) fn in_flight(&self) -> Option<u64> {
        self.state.lock().expect("commit lock").flushing
    }
}
