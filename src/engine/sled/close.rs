//! What a clean close leaves for the next open: the queue's length, so that an open does not walk
//! the `pending` tree to count it (with 100,000 queued runs that walk decoded 17 MiB of sled's
//! leaves, which stayed in memory). After a crash the next open walks the tree, as before.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// In `meta` between a clean close and the next open: the queue's length (8 bytes, big-endian).
const QUEUE_LENGTH_AT_CLOSE: &str = "queue_length_at_close";

/// The queue's length as the last clean close left it, taken out of `meta` (the open's flush
/// makes that durable before anything changes the queue, so a crash later is never trusted);
/// without one, a walk of `pending`.
pub(super) fn queue_length(meta: &sled::Tree, pending: &sled::Tree) -> Result<u64, sled::Error> {
    let kept = meta
        .remove(QUEUE_LENGTH_AT_CLOSE)?
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
        .map(u64::from_be_bytes);
    match kept {
        Some(length) => Ok(length),
        None => {
            let mut count = 0u64;
            for key in pending.iter().keys() {
                key?;
                count += 1;
            }
            Ok(count)
        }
    }
}

/// Dropped with the last handle on a database in a folder, after its accept journal (which
/// moves the runs waiting in it into `pending` as it closes): keeps the queue's length for the
/// next open, unless the journal left segments behind (their runs would be counted twice).
pub(super) struct KeepQueueLength {
    pub meta: sled::Tree,
    pub db: sled::Db,
    pub length: Arc<AtomicU64>,
    pub journal_dir: PathBuf,
}

impl Drop for KeepQueueLength {
    fn drop(&mut self) {
        let journal_left = super::journal::segments(&self.journal_dir)
            .map_or(true, |segments| !segments.is_empty());
        if journal_left {
            return;
        }
        let length = self.length.load(Ordering::Relaxed);
        let kept = self
            .meta
            .insert(QUEUE_LENGTH_AT_CLOSE, &length.to_be_bytes()[..])
            .and_then(|_| self.db.flush());
        if let Err(error) = kept {
            tracing::warn!(%error, "the queue's length was not kept; the next start counts it");
        }
    }
}
