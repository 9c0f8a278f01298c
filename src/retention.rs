//! Keeps the database from growing without end: finished runs past `storage.keep_runs_for` or
//! beyond the newest `storage.keep_runs`, and idempotency keys past their window, are deleted
//! at start and every [`PRUNE_INTERVAL`]. Queued runs are never touched.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::run::unix_now_ms;
use crate::store::Store;

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
        let pruning = store.clone();
        let pruned =
            tokio::task::spawn_blocking(move || pruning.prune(keep_for, keep_count, now_ms));
        match pruned.await {
            Ok(Ok(pruned)) if pruned.runs > 0 || pruned.idempotency_keys > 0 => {
                tracing::info!(
                    runs = pruned.runs,
                    idempotency_keys = pruned.idempotency_keys,
                    "pruned old runs and idempotency keys"
                );
            }
            Ok(Ok(_)) => tracing::debug!("nothing to prune"),
            Ok(Err(error)) => tracing::error!(%error, "could not prune old runs"),
            Err(error) => tracing::error!(%error, "the pruning task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
