//! Retention: finished runs beyond their time or count, with their journals, and expired
//! idempotency keys.

use std::time::Duration;

use super::PostgresEngine;
use crate::engine::error::StoreError;
use crate::engine::limits::IDEMPOTENCY_WINDOW;
use crate::engine::records::Pruned;

impl PostgresEngine {
    /// Deletes finished runs (with their journals) that finished more than `keep_for` before
    /// `now_ms` or are beyond the newest `keep_count` finished runs, and idempotency keys older
    /// than the idempotency window. A queued run is never deleted: a run is deleted only while
    /// its row still says it finished (a retry that queues it again changes that row first, and
    /// PostgreSQL checks the row again before it deletes it) and it has no queue entry.
    pub(super) async fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError> {
        let finished_before = (now_ms as i64).saturating_sub(keep_for.as_millis() as i64);
        let keep_count = i64::try_from(keep_count).unwrap_or(i64::MAX);
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let runs: i64 = transaction
            .query_one(
                "WITH finished AS (
                     SELECT r.id, r.done_at_ms, row_number() OVER (ORDER BY r.id DESC) AS newest
                     FROM hookbot.runs r
                     WHERE r.status <> 'pending'
                       AND NOT EXISTS (SELECT 1 FROM hookbot.pending p WHERE p.run_id = r.id)),
                 deleted AS (
                     DELETE FROM hookbot.runs r USING finished f
                     WHERE r.id = f.id AND r.status <> 'pending'
                       AND (f.done_at_ms < $1 OR f.newest > $2)
                       AND NOT EXISTS (SELECT 1 FROM hookbot.pending p WHERE p.run_id = r.id)
                     RETURNING r.id),
                 journals AS (
                     DELETE FROM hookbot.steps s USING deleted d WHERE s.run_id = d.id)
                 SELECT count(*) FROM deleted",
                &[&finished_before, &keep_count],
            )
            .await?
            .get(0);
        let forgotten_before =
            (now_ms as i64).saturating_sub(IDEMPOTENCY_WINDOW.as_millis() as i64);
        let keys = transaction
            .execute(
                "DELETE FROM hookbot.idempotency WHERE accepted_at_ms <= $1",
                &[&forgotten_before],
            )
            .await?;
        transaction.commit().await?;
        Ok(Pruned {
            runs: runs as u64,
            idempotency_keys: keys,
        })
    }
}
