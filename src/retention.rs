//! Keeps the database from growing without end: finished runs past `storage.keep_runs_for` or
//! beyond the newest `storage.keep_runs`, and idempotency keys past their window, are deleted
//! at start and every [`PRUNE_INTERVAL`]. Queued runs are never touched.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Store;
use crate::run::unix_now_ms;

/// How often finished runs past `storage.keep_runs_for` / `storage.keep_runs` are deleted.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Prunes the store at start and every [`PRUNE_INTERVAL`] until `shutdown`.
pub async fn prune_until_shutdown(
    store: Store,
    keep_for: Duration,
    keep_count: u64,
    shutdown: CancellationToken,
) {
    loop {
        let now_ms = unix_now_ms();
        match store.prune(keep_for, keep_count, now_ms).await {
            Ok(pruned) if pruned.runs > 0 || pruned.idempotency_keys > 0 => {
                tracing::info!(
                    runs = pruned.runs,
                    idempotency_keys = pruned.idempotency_keys,
                    "pruned old runs and idempotency keys"
                );
            }
            Ok(_) => tracing::debug!("nothing to prune"),
            Err(error) => tracing::error!(%error, "could not prune old runs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
