//! A run's whole life between the webhook and the executor: enqueue (backpressure, the durable
//! write with its idempotency key, and the executor's wake-up, in one call), claiming due runs,
//! the retry schedule, finishing (dead-lettered runs included), requeueing and listing.
//!
//! The producer is the webhook listener ([`Queue::enqueue`]); the consumer is the executor,
//! which [claims](Queue::claim) due runs and reports how each went ([`Queue::finish`],
//! [`Queue::retry_later`], [`Queue::park`], [`Queue::pause`], [`Queue::release`]). Storage is the engine's; the
//! queue keeps what is only true while this process runs: which runs are in progress, when each
//! waiting run is due, and who waits for a run to finish.

mod admission;
mod manage;
pub mod retry;
mod schedule;
mod watch;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

pub use manage::{list, requeue, status_word, RequeueError};

use crate::engine::{
    Accepted, Idempotency, IdempotencyKey, IdempotencyRecord, Store, StoreError, StoredAnswer,
};
use crate::run::{Run, RunId};
use admission::Admission;
use schedule::Schedule;
use watch::RunWatch;

/// A cheap-to-clone handle on the queue, shared by the webhook listener, the executor and the
/// admin socket.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// `delivery.max_pending_runs`: past it, enqueue refuses.
    max_pending_runs: u64,
    admission: Admission,
    /// Wakes the consumer when a run was queued.
    wake: Notify,
    watch: RunWatch,
    claims: Mutex<Claims>,
}

/// The consumer's side, in memory: runs in progress, when waiting runs are due, which wait for
/// their line without a time, and how far the queue has been read.
#[derive(Default)]
struct Claims {
    in_flight: HashSet<RunId>,
    schedule: Schedule,
    /// Runs parked until their route's line reaches them ([`Queue::park`] without a time): not
    /// claimed until [`Queue::bring_forward`] gives them a time. Only an id each, so a backlog of
    /// 100,000 behind a few busy channels costs about a megabyte here.
    waiting_for_line: HashSet<RunId>,
    /// Every queued run below this id is in progress, waiting in `schedule` or waiting for its
    /// line, so a claim reads the queue from here on and takes waiting runs from the schedule:
    /// with thousands of runs parked for Discord's pace, a claim costs the runs queued since the
    /// last one, not every parked run (each accept wakes the executor). Moved back by whatever
    /// puts a run below it in the queue again ([`Claims::rewind`]).
    cursor: u64,
    /// The lowest id rewound to while a claim was reading the queue, which that claim's new
    /// cursor must not pass.
    rewound_during_read: u64,
}

impl Claims {
    fn rewind(&mut self, to: RunId) {
        self.cursor = self.cursor.min(to.0);
        self.rewound_during_read = self.rewound_during_read.min(to.0);
    }
}

/// How many queue entries a claim reads at least per look at the store.
const CLAIM_READ: usize = 64;

/// How many runs may wait for their route's line (parked without a time, behind the runs in
/// play) before a claim stops reading new runs from the queue. Each run read costs its record's
/// pages in sled's cache (about 1 KiB a run, whatever `CACHE_BYTES` says), so this bounds the
/// memory a backlog costs; the price is that a run for an idle channel queued behind more than
/// this many runs of busy channels waits until their lines have moved below it.
pub const LOOKAHEAD: usize = 8192;

/// What [`Queue::enqueue`] did.
#[derive(Debug)]
pub enum Enqueued {
    /// The run is recorded and queued, durably, and the executor is woken.
    New(Box<Run>),
    /// The idempotency key was seen within its window: no run was started; this is the first
    /// request's record.
    Replay(IdempotencyRecord),
}

/// Why [`Queue::enqueue`] accepted nothing.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("{waiting} runs are waiting to be carried out (delivery.max_pending_runs is {max})")]
    Full { waiting: u64, max: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Queue {
    pub fn new(store: Store, max_pending_runs: u64) -> Queue {
        Queue {
            inner: Arc::new(Inner {
                store,
                max_pending_runs,
                admission: Admission::default(),
                wake: Notify::new(),
                watch: RunWatch::default(),
                claims: Mutex::default(),
            }),
        }
    }

    /// Hears of each run's end; subscribe before enqueueing, so the end cannot be missed.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RunId> {
        self.inner.watch.subscribe()
    }

    // --- the producer ---

    /// Queues the run `build` makes from its new id, durably, and wakes the executor; `build`
    /// also gives the answer an idempotency key keeps. A `key` seen within its window answers
    /// with the first request's record instead, before any room in the queue is asked for, and
    /// starts nothing. When this returns Ok, what it returns is durable.
    pub async fn enqueue(
        &self,
        key: Option<IdempotencyKey<'_>>,
        now_ms: u64,
        build: impl FnOnce(RunId) -> (Run, StoredAnswer) + Send,
    ) -> Result<Enqueued, EnqueueError> {
        let inner = &*self.inner;
        let store = &inner.store;
        if let Some(key) = key {
            if let Some(record) = store.idempotency_record(key, now_ms).await? {
                // The first request may still be on its way to the disk.
                store.flush().await?;
                return Ok(Enqueued::Replay(record));
            }
        }
        let max = inner.max_pending_runs;
        let _place = inner
            .admission
            .reserve(max, store.pending_count())
            .await?
            .map_err(|waiting| EnqueueError::Full { waiting, max })?;
        let (run, answer) = build(store.next_run_id().await?);
        let once = key.map(|key| Idempotency {
            key,
            answer: &answer,
        });
        match store.accept_run(&run, once).await? {
            Accepted::Replay(record) => Ok(Enqueued::Replay(record)),
            Accepted::New => {
                // Its id was taken before the write: a claim may have read past it meanwhile.
                self.claims().rewind(run.id);
                inner.wake.notify_one();
                Ok(Enqueued::New(Box::new(run)))
            }
        }
    }

    /// Wakes the consumer: a run was queued by other means (`hookbot runs retry`, another
    /// instance on a shared database), with any id, so the next claim reads the whole queue.
    pub fn wake(&self) {
        self.claims().rewind(RunId(0));
        self.inner.wake.notify_one();
    }

    // --- the consumer ---

    /// Completes when a run was queued after this call. Enable it before [`claim`](Self::claim)
    /// so a run queued meanwhile is not missed.
    pub fn woken(&self) -> Notified<'_> {
        self.inner.wake.notified()
    }

    /// Rebuilds the retry schedule from the queue: each run whose next attempt is still ahead.
    /// (A run is checked against its own record again when it is taken up, so an entry from an
    /// older version that lacks the time only means the run is looked at early.) Returns how
    /// many runs wait.
    pub async fn restore_schedule(&self, now_ms: u64) -> Result<usize, StoreError> {
        let waiting = self.inner.store.pending_retry_times().await?;
        let mut claims = self.claims();
        for (id, at) in waiting {
            if at > now_ms {
                claims.schedule.insert(id, at);
            }
        }
        Ok(claims.schedule.len())
    }

    /// Queued runs due now and not in progress, oldest first, at most `room`; each is in
    /// progress until [`release`](Self::release)d. Waiting runs come from the schedule, the
    /// others from the queue read on from the cursor.
    pub async fn claim(&self, room: usize, now_ms: u64) -> Result<Vec<RunId>, StoreError> {
        if room == 0 {
            return Ok(Vec::new());
        }
        let mut due = {
            let mut claims = self.claims();
            let Claims {
                in_flight,
                schedule,
                ..
            } = &mut *claims;
            let due = schedule.take_due(now_ms, room, |id| !in_flight.contains(&id));
            in_flight.extend(&due);
            due
        };
        while due.len() < room {
            let from = {
                let mut claims = self.claims();
                if claims.waiting_for_line.len() >= LOOKAHEAD {
                    break;
                }
                claims.rewound_during_read = u64::MAX;
                claims.cursor
            };
            let read = (room - due.len()).max(CLAIM_READ);
            let queued = match self.inner.store.pending_runs_from(RunId(from), read).await {
                Ok(queued) => queued,
                // The runs taken from the schedule are in progress already: hand them out.
                Err(error) if due.is_empty() => return Err(error),
                Err(_) => break,
            };
            let mut claims = self.claims();
            let Claims {
                in_flight,
                schedule,
                waiting_for_line,
                cursor,
                rewound_during_read,
            } = &mut *claims;
            let mut next = from;
            for &id in &queued {
                if due.len() >= room {
                    break;
                }
                next = id.0.saturating_add(1);
                if !in_flight.contains(&id)
                    && !waiting_for_line.contains(&id)
                    && !schedule.waiting(id, now_ms)
                {
                    in_flight.insert(id);
                    due.push(id);
                }
            }
            *cursor = next.min(*rewound_during_read);
            if queued.len() < read {
                break;
            }
        }
        due.sort_unstable();
        Ok(due)
    }

    /// When the earliest run waiting for a retry is due (unix ms).
    pub fn next_due(&self) -> Option<u64> {
        self.claims().schedule.earliest()
    }

    /// The run is no longer in progress here (finished, waiting, paused, or not taken up).
    pub fn release(&self, id: RunId) {
        let mut claims = self.claims();
        // Still queued and not waiting for a time (not taken up, paused, or its progress could
        // not be saved): the next claim must find it again.
        if claims.in_flight.remove(&id)
            && !claims.schedule.contains(id)
            && !claims.waiting_for_line.contains(&id)
        {
            claims.rewind(id);
        }
    }

    /// Saves a run that ended (succeeded, failed, or dead-lettered after its last attempt),
    /// takes it off the queue, durably, and tells whoever waits for it.
    pub async fn finish(&self, run: &Run) -> Result<(), StoreError> {
        let store = &self.inner.store;
        store.finish_run(run).await?;
        store.flush().await?;
        // Off the queue: its release has nothing to put back.
        self.claims().in_flight.remove(&run.id);
        self.inner.watch.finished(run.id);
        Ok(())
    }

    /// Keeps a run queued until `at_ms` (unix ms), durably: after a restart the schedule is
    /// rebuilt from its queue entry.
    pub async fn retry_later(&self, run: &Run, at_ms: u64) -> Result<(), StoreError> {
        let store = &self.inner.store;
        store.save_run(run).await?;
        store.flush().await?;
        self.not_before(run.id, at_ms);
        Ok(())
    }

    /// Parks a run whose next call waits for Discord's pace until `until_ms` (unix ms; `None`:
    /// until [`bring_forward`](Self::bring_forward) gives it a time, when its route's line
    /// reaches it): it stays queued, holds no worker, and is taken up again then, at that call.
    /// Its progress, when it `progressed` (took steps first), is saved (not flushed: the
    /// journal already holds what it did, and after a crash it is simply taken up at once); a
    /// run parked at the action it was taken up at has nothing new to save, so a backlog costs
    /// no write per park.
    pub async fn park(
        &self,
        run: &Run,
        until_ms: Option<u64>,
        progressed: bool,
    ) -> Result<(), StoreError> {
        if progressed {
            self.inner.store.save_run(run).await?;
        }
        match until_ms {
            Some(at_ms) => self.not_before(run.id, at_ms),
            None => {
                self.claims().waiting_for_line.insert(run.id);
            }
        }
        Ok(())
    }

    /// A run taken up before its time (queued again by a restart) waits until `at_ms`.
    pub fn not_before(&self, id: RunId, at_ms: u64) {
        self.claims().schedule.insert(id, at_ms);
    }

    /// A waiting run is due at `at_ms` if that is sooner than its time (Discord's pace lets it
    /// go earlier), or if it waited for its line without a time. A run not waiting (in
    /// progress, or not queued) is left alone.
    pub fn bring_forward(&self, id: RunId, at_ms: u64) {
        let mut claims = self.claims();
        if claims.waiting_for_line.remove(&id)
            || claims.schedule.due(id).is_some_and(|due| due > at_ms)
        {
            claims.schedule.insert(id, at_ms);
        }
    }

    /// Checkpoints a run stopped by shutdown: it stays queued and resumes on the next start.
    pub async fn pause(&self, run: &Run) -> Result<(), StoreError> {
        self.inner.store.save_run(run).await
    }

    /// Drops a queued run that has no record.
    pub async fn forget(&self, id: RunId) -> Result<(), StoreError> {
        self.inner.store.forget_pending(id).await?;
        self.claims().in_flight.remove(&id);
        Ok(())
    }

    /// Forgets every claim and due time: a new leader's executor starts from the queue alone
    /// (the tasks that held the old claims were dropped with the lead they ran under).
    pub fn forget_claims(&self) {
        *self.claims() = Claims::default();
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, Claims> {
        self.inner.claims.lock().expect("queue claims lock")
    }
}

#[cfg(test)]
mod tests;
