//! What instances sharing one store tell each other, in domain words: who leads ([`Lease`]) and
//! what changed ([`Change`]).
//!
//! One instance at a time leads: it holds the Discord gateway and carries out runs. An embedded
//! engine (sled) is used by one process, which always leads and hears only its own changes; a
//! shared engine (PostgreSQL) chooses the leader through the database and carries each change
//! to every instance.

use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use crate::run::RunId;

/// How many changes a slow listener may fall behind before it hears [`Change::Resync`] instead
/// (a lagging `broadcast` receiver). Changes are tiny and rare next to this.
pub const CHANGE_BUFFER: usize = 256;

/// Something another instance (or this one) changed in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A run was queued (accepted, retried by hand): the leader's executor should look.
    RunsQueued,
    /// A run finished (succeeded or failed): a `?wait=true` caller on any instance answers.
    RunFinished(RunId),
    /// The served event definitions were replaced.
    Definitions,
    /// A setting changed (the API key, the bot's id).
    Settings,
    /// Changes may have been missed (the connection that hears them was lost, or a listener
    /// fell behind): read everything again.
    Resync,
}

/// A sender of [`Change`]s for an engine to keep; [`Changes::subscribe`] is what
/// [`Engine::changes`](super::Engine::changes) answers.
#[derive(Clone, Debug)]
pub struct Changes(broadcast::Sender<Change>);

impl Default for Changes {
    fn default() -> Self {
        Changes(broadcast::channel(CHANGE_BUFFER).0)
    }
}

impl Changes {
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.subscribe()
    }

    /// Tells every listener; nobody listening is fine.
    pub fn announce(&self, change: Change) {
        let _ = self.0.send(change);
    }
}

/// This instance leads while it holds a `Lease`. [`lost`](Lease::lost) completes when the engine
/// can no longer vouch for it (the connection holding the lock is gone): the holder must then stop
/// acting at once, since another instance may take over. Dropping the lease hands leadership over.
#[derive(Debug)]
pub struct Lease {
    lost: CancellationToken,
    /// Dropped with the lease: tells the engine to let go (unlock), so a follower takes over now
    /// instead of after the lock's timeout.
    _release: Option<oneshot::Sender<()>>,
}

impl Lease {
    /// A lease that is never lost: the only process of an embedded store.
    pub fn forever() -> Lease {
        Lease {
            lost: CancellationToken::new(),
            _release: None,
        }
    }

    /// A lease the engine cancels through `lost` and hears released through `release`'s
    /// receiver (closed when the lease is dropped).
    pub fn new(lost: CancellationToken, release: oneshot::Sender<()>) -> Lease {
        Lease {
            lost,
            _release: Some(release),
        }
    }

    /// Completes when this instance no longer leads.
    pub async fn lost(&self) {
        self.lost.cancelled().await
    }

    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_a_lease_tells_the_engine_and_cancelling_it_tells_the_holder() {
        let lost = CancellationToken::new();
        let (release, released) = oneshot::channel();
        let lease = Lease::new(lost.clone(), release);
        assert!(!lease.is_lost());
        lost.cancel();
        lease.lost().await;
        drop(lease);
        assert!(released.await.is_err(), "the engine hears the hand-over");
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_can_tell() {
        let changes = Changes::default();
        let mut listener = changes.subscribe();
        for _ in 0..CHANGE_BUFFER + 1 {
            changes.announce(Change::RunsQueued);
        }
        assert!(matches!(
            listener.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
