//! Waking when the event definitions change, for the tasks that follow them (the schedule
//! clock, the slash-command and intents sync): the store's change feed (sled announces this
//! process's own replacements; PostgreSQL every instance's, through NOTIFY), with a slow
//! safety poll under it in case a notification is lost.

use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use crate::engine::Change;

/// How long a task that follows the definitions sleeps at most without being told of a
/// change: the safety net under the change feed.
pub const SAFETY_POLL: Duration = Duration::from_secs(30);

/// The definitions part of a store's change feed.
pub struct DefinitionChanges {
    feed: Option<broadcast::Receiver<Change>>,
}

impl DefinitionChanges {
    pub fn new(feed: broadcast::Receiver<Change>) -> DefinitionChanges {
        DefinitionChanges { feed: Some(feed) }
    }

    /// No feed: only the deadlines wake.
    pub fn none() -> DefinitionChanges {
        DefinitionChanges { feed: None }
    }

    /// Waits until the definitions may have changed (true), or until `deadline` (false). A
    /// feed that fell behind or lost its connection (`Resync`) counts as a change: whatever it
    /// missed is read again.
    pub async fn changed_before(&mut self, deadline: Instant) -> bool {
        loop {
            let heard = tokio::select! {
                heard = next(&mut self.feed) => heard,
                () = tokio::time::sleep_until(deadline) => return false,
            };
            match heard {
                Ok(Change::Definitions | Change::Resync) | Err(RecvError::Lagged(_)) => {
                    return true
                }
                Ok(_) => {}
                Err(RecvError::Closed) => self.feed = None,
            }
        }
    }
}

async fn next(feed: &mut Option<broadcast::Receiver<Change>>) -> Result<Change, RecvError> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Changes;

    #[tokio::test(start_paused = true)]
    async fn a_definitions_change_wakes_at_once_and_other_changes_do_not() {
        let changes = Changes::default();
        let mut definitions = DefinitionChanges::new(changes.subscribe());
        let start = Instant::now();
        changes.announce(Change::RunsQueued);
        changes.announce(Change::Definitions);
        assert!(definitions.changed_before(start + SAFETY_POLL).await);
        assert_eq!(start.elapsed(), Duration::ZERO, "at once");

        changes.announce(Change::Settings);
        assert!(!definitions.changed_before(start + SAFETY_POLL).await);
        assert_eq!(start.elapsed(), SAFETY_POLL, "the safety poll");

        drop(changes);
        let closed = Instant::now();
        assert!(!definitions.changed_before(closed + SAFETY_POLL).await);
        assert_eq!(closed.elapsed(), SAFETY_POLL);
        assert!(
            !DefinitionChanges::none()
                .changed_before(Instant::now())
                .await
        );
    }
}
