//! Tells whoever listens (a webhook caller with `?wait=true`) that a run has finished.

use crate::run::RunId;

/// Finished runs not yet seen by a slow listener; past this it is told it lagged and should
/// look in the store.
const RUN_WATCH_CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct RunWatch {
    finished: tokio::sync::broadcast::Sender<RunId>,
}

impl Default for RunWatch {
    fn default() -> Self {
        RunWatch {
            finished: tokio::sync::broadcast::channel(RUN_WATCH_CAPACITY).0,
        }
    }
}

impl RunWatch {
    /// Subscribe before the run is queued, so its finish cannot be missed.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RunId> {
        self.finished.subscribe()
    }

    pub fn finished(&self, id: RunId) {
        // No listener is fine: nobody is waiting.
        let _ = self.finished.send(id);
    }
}
