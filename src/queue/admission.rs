//! Backpressure: at most `delivery.max_pending_runs` runs wait, counting the ones being written.

use std::sync::atomic::{AtomicU64, Ordering};

/// Places taken by enqueues whose write is still under way. Each enqueue takes its place
/// before it counts the queue, so two concurrent enqueues cannot both see the last free place.
#[derive(Debug, Default)]
pub struct Admission {
    writing: AtomicU64,
}

/// A place held until the run's write ends (written or failed): dropped, it frees the place.
#[must_use]
pub struct Reservation<'a> {
    writing: &'a AtomicU64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.writing.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    /// Takes a place, then asks `pending` for the runs already queued. `Err` carries how many
    /// runs wait (queued and being written) when there is no room: nothing is held then.
    pub async fn reserve<F, E>(
        &self,
        max: u64,
        pending: F,
    ) -> Result<Result<Reservation<'_>, u64>, E>
    where
        F: std::future::Future<Output = Result<u64, E>>,
    {
        let others = self.writing.fetch_add(1, Ordering::SeqCst);
        let reservation = Reservation {
            writing: &self.writing,
        };
        // A run whose write has ended is counted by `pending`; one still being written holds a
        // place here. Between the two it may be counted twice, which only refuses early.
        let waiting = pending.await? + others;
        if waiting >= max {
            return Ok(Err(waiting));
        }
        Ok(Ok(reservation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(n: u64) -> std::future::Ready<Result<u64, ()>> {
        std::future::ready(Ok(n))
    }

    #[tokio::test]
    async fn a_place_is_held_until_the_write_ends() {
        let admission = Admission::default();
        let first = admission.reserve(2, queued(1)).await.unwrap().unwrap();
        // The first write is under way: the queue holds 1 and one more is coming.
        assert_eq!(
            admission.reserve(2, queued(1)).await.unwrap().err(),
            Some(2)
        );
        drop(first);
        assert!(admission.reserve(2, queued(1)).await.unwrap().is_ok());
        assert_eq!(
            admission.reserve(2, queued(2)).await.unwrap().err(),
            Some(2)
        );
    }
}
