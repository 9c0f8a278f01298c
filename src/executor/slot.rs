//! A run's worker slot (one of `delivery.workers`): held while the run is carried out, lent back
//! to the pool while it only waits (a long `wait` action), so a waiting run does not keep others
//! from being taken up.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slot one run holds. Lending it gives its permit back to the pool; taking it back waits
/// for a free one (first come, first served).
#[derive(Debug)]
pub struct WorkerSlot {
    pool: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
}

impl WorkerSlot {
    /// The slot `held`, taken from `pool`.
    pub fn new(pool: Arc<Semaphore>, held: OwnedSemaphorePermit) -> WorkerSlot {
        WorkerSlot {
            pool,
            held: Some(held),
        }
    }

    /// Gives the slot back to the pool while the run waits; `false` if it was not held.
    pub fn lend(&mut self) -> bool {
        self.held.take().is_some()
    }

    /// Holds a slot again after [`lend`](Self::lend), waiting for one to be free (at once when
    /// it is held). `false` only if the pool was closed.
    pub async fn take_back(&mut self) -> bool {
        if self.held.is_none() {
            self.held = self.pool.clone().acquire_owned().await.ok();
        }
        self.held.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lent_slot_is_free_for_another_run_until_it_is_taken_back() {
        let pool = Arc::new(Semaphore::new(1));
        let mut slot = WorkerSlot::new(pool.clone(), pool.clone().try_acquire_owned().unwrap());
        assert_eq!(pool.available_permits(), 0);
        assert!(slot.lend());
        assert!(!slot.lend(), "a slot is lent once");
        assert!(slot.take_back().await, "taken back at once while free");
        assert!(slot.lend());
        let other = pool
            .clone()
            .try_acquire_owned()
            .expect("lent to another run");
        let taking_back = tokio::spawn(async move {
            let taken = slot.take_back().await;
            (taken, slot)
        });
        tokio::task::yield_now().await;
        assert!(!taking_back.is_finished(), "waits for a free slot");
        drop(other);
        let (taken, _slot) = taking_back.await.unwrap();
        assert!(taken);
        assert_eq!(pool.available_permits(), 0, "held again");
    }
}
