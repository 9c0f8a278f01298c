//! Run records (`hookbot.runs`) and each run's journal of steps (`hookbot.steps`).

use tokio_postgres::types::Json;

use super::{json, run_key, PostgresEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{run_id, RunFilter};
use crate::run::{Run, RunId, RunStatus, Step};

/// The `status` column: what listings and retention filter on.
pub(super) fn status_text(run: &Run) -> &'static str {
    match run.status {
        RunStatus::Pending => "pending",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
    }
}

/// The `done_at_ms` column: when a finished run finished (its arrival if it never said); none
/// while it is pending.
pub(super) fn done_at(run: &Run) -> Option<i64> {
    (run.status != RunStatus::Pending)
        .then(|| run.finished_at_ms.unwrap_or(run.received_at_ms) as i64)
}

/// Writes the run's record, whatever was there (`$1` id, `$2` event, `$3` status, `$4` done at,
/// `$5` the record).
pub(super) const UPSERT_RUN: &str =
    "INSERT INTO hookbot.runs (id, event_id, status, done_at_ms, record) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, status = excluded.status,
         done_at_ms = excluded.done_at_ms, record = excluded.record";

impl PostgresEngine {
    /// The next run id ([`run_id`]), counted by a sequence every instance shares.
    pub(super) async fn next_run_id(&self) -> Result<RunId, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT nextval('hookbot.run_counter')")
            .await?;
        let counter: i64 = client.query_one(&statement, &[]).await?.get(0);
        Ok(run_id(self.install_id, counter as u64))
    }

    pub(super) async fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT record FROM hookbot.runs WHERE id = $1")
            .await?;
        let row = client.query_opt(&statement, &[&run_key(id)]).await?;
        row.map(|row| json(&row, 0)).transpose()
    }

    /// Checkpoints a run in progress. A queued run's next attempt time is kept on its queue
    /// entry too, so a restart rebuilds the retry schedule from the small queue alone. One
    /// statement: both or neither.
    pub(super) async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&format!(
                "WITH saved AS ({UPSERT_RUN} RETURNING id)
                 UPDATE hookbot.pending SET retry_at_ms = $6
                 WHERE run_id = $1 AND $3 = 'pending'"
            ))
            .await?;
        let retry_at = run.next_attempt_at_ms.map(|at| at as i64);
        client
            .execute(
                &statement,
                &[
                    &run_key(run.id),
                    &run.event_id,
                    &status_text(run),
                    &done_at(run),
                    &Json(run),
                    &retry_at,
                ],
            )
            .await?;
        Ok(())
    }

    /// Runs newest first, as `filter` asks.
    pub(super) async fn runs_newest_first(
        &self,
        filter: &RunFilter,
    ) -> Result<Vec<Run>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT record FROM hookbot.runs
                 WHERE ($1::text IS NULL OR event_id = $1) AND (NOT $2 OR status = 'failed')
                 ORDER BY id DESC LIMIT $3",
                &[&filter.event, &filter.failed, &limit],
            )
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let run: Run = json(&row, 0)?;
            if filter.matches(&run) {
                found.push(run);
            }
        }
        Ok(found)
    }

    /// Journals a run's step `index` (0-based), committed.
    pub(super) async fn append_step(
        &self,
        id: RunId,
        index: u32,
        step: &Step,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO hookbot.steps (run_id, step_index, step) VALUES ($1, $2, $3)
                 ON CONFLICT (run_id, step_index) DO UPDATE SET step = excluded.step",
            )
            .await?;
        client
            .execute(&statement, &[&run_key(id), &i64::from(index), &Json(step)])
            .await?;
        Ok(())
    }

    /// A run's journal, in order.
    pub(super) async fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT step FROM hookbot.steps WHERE run_id = $1 ORDER BY step_index",
                &[&run_key(id)],
            )
            .await?;
        rows.iter().map(|row| json(row, 0)).collect()
    }

    /// Drops a run's journal from step `index` (0-based) on.
    pub(super) async fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM hookbot.steps WHERE run_id = $1 AND step_index >= $2",
                &[&run_key(id), &i64::from(index)],
            )
            .await?;
        Ok(())
    }
}
