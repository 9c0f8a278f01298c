//! The pending queue (`hookbot.pending`): which runs wait to be carried out, when each is due,
//! and how many there are; and accepting a run, with its idempotency key, as one commit.

use std::time::Instant;

use tokio_postgres::types::Json;

use super::coordination::{CHANNEL, TELL_QUEUED};
use super::runs::{done_at, status_text, UPSERT_RUN};
use super::{run_id_of, run_key, PostgresEngine, PENDING_COUNT_TTL};
use crate::engine::coordination::Change;
use crate::engine::error::StoreError;
use crate::engine::limits::IDEMPOTENCY_WINDOW;
use crate::engine::records::{Accepted, Idempotency};
use crate::run::{Run, RunId};

/// The run's record and its queue entry, one statement (`$1`…`$5` as in [`UPSERT_RUN`]).
/// Accepting a run already queued clears its retry time, as a new entry would have none;
/// `queued` says whether the entry is new.
const QUEUE_RUN: &str = "queued AS (
         INSERT INTO hookbot.pending (run_id, retry_at_ms) SELECT id, NULL FROM saved
         ON CONFLICT (run_id) DO UPDATE SET retry_at_ms = NULL
         RETURNING (xmax = 0) AS new)";

impl PostgresEngine {
    /// Records a new run and queues it, committed, unless `once`'s key was seen for the run's
    /// event within [`IDEMPOTENCY_WINDOW`]: then nothing is written and the first record comes
    /// back. The key's row, the run and its queue entry are one statement, so one commit; two
    /// requests with one key meet at the key's primary key, and the second waits for the first
    /// to commit, then finds its key taken.
    pub(super) async fn accept_run(
        &self,
        run: &Run,
        once: Option<Idempotency<'_>>,
    ) -> Result<Accepted, StoreError> {
        let client = self.client().await?;
        let id = run_key(run.id);
        let status = status_text(run);
        let done = done_at(run);
        let record = Json(run);
        let new_in_queue = match once {
            None => {
                let statement = client
                    .prepare_cached(&format!(
                        "WITH saved AS ({UPSERT_RUN} RETURNING id), {QUEUE_RUN}
                         SELECT coalesce((SELECT bool_or(new) FROM queued), false), {TELL_QUEUED}"
                    ))
                    .await?;
                let row = client
                    .query_one(&statement, &[&id, &run.event_id, &status, &done, &record])
                    .await?;
                row.get::<_, bool>(0)
            }
            Some(Idempotency { key, answer }) => {
                let accepted_at = run.received_at_ms as i64;
                let forgotten_before =
                    accepted_at.saturating_sub(IDEMPOTENCY_WINDOW.as_millis() as i64);
                // The key is taken unless its row is within the window; the run is written only
                // if the key was.
                let statement = client
                    .prepare_cached(&format!(
                        "WITH taken AS (
                             INSERT INTO hookbot.idempotency
                                 (event_id, key, run_id, accepted_at_ms, answer)
                             VALUES ($6, $7, $1, $8, $9)
                             ON CONFLICT (event_id, key) DO UPDATE SET run_id = excluded.run_id,
                                 accepted_at_ms = excluded.accepted_at_ms, answer = excluded.answer
                             WHERE hookbot.idempotency.accepted_at_ms <= $10
                             RETURNING run_id),
                         saved AS (
                             INSERT INTO hookbot.runs (id, event_id, status, done_at_ms, record)
                             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM taken)
                             ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id,
                                 status = excluded.status, done_at_ms = excluded.done_at_ms,
                                 record = excluded.record
                             RETURNING id),
                         {QUEUE_RUN}
                         SELECT EXISTS (SELECT 1 FROM taken),
                                coalesce((SELECT bool_or(new) FROM queued), false), {TELL_QUEUED}"
                    ))
                    .await?;
                let row = client
                    .query_one(
                        &statement,
                        &[
                            &id,
                            &run.event_id,
                            &status,
                            &done,
                            &record,
                            &key.event_id,
                            &key.key,
                            &accepted_at,
                            &Json(answer),
                            &forgotten_before,
                        ],
                    )
                    .await?;
                if !row.get::<_, bool>(0) {
                    drop(client);
                    // Taken within the window: the first request's record. It cannot have
                    // expired meanwhile, so it is there unless a prune raced a clock jump.
                    let first = self
                        .idempotency_record(key, run.received_at_ms)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Engine(
                                "an idempotency key was taken and then gone; try again".into(),
                            )
                        })?;
                    return Ok(Accepted::Replay(first));
                }
                row.get::<_, bool>(1)
            }
        };
        if new_in_queue {
            self.pending_count.lock().expect("pending count lock").count += 1;
        }
        Ok(Accepted::New)
    }

    /// Takes a run off the queue without touching its record.
    pub(super) async fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        let client = self.client().await?;
        let removed = client
            .execute(
                "DELETE FROM hookbot.pending WHERE run_id = $1",
                &[&run_key(id)],
            )
            .await?;
        self.pending_removed(removed);
        Ok(())
    }

    /// Saves a finished run and takes it off the queue, in one statement.
    pub(super) async fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        let client = self.client().await?;
        // One statement, and the other instances hear of the end at its commit (a caller
        // waiting with `?wait=true` may be on any of them).
        let statement = client
            .prepare_cached(&format!(
                "WITH saved AS ({UPSERT_RUN} RETURNING id),
                      removed AS (DELETE FROM hookbot.pending WHERE run_id = $1 RETURNING run_id)
                 SELECT (SELECT count(*) FROM removed), pg_notify('{CHANNEL}', $6)::text"
            ))
            .await?;
        let removed: i64 = client
            .query_one(
                &statement,
                &[
                    &run_key(run.id),
                    &run.event_id,
                    &status_text(run),
                    &done_at(run),
                    &Json(run),
                    &Change::RunFinished(run.id).payload(),
                ],
            )
            .await?
            .get(0);
        self.pending_removed(removed as u64);
        Ok(())
    }

    /// The queued runs waiting for a retry, with the time (unix ms) of their next attempt.
    pub(super) async fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT run_id, retry_at_ms FROM hookbot.pending
                 WHERE retry_at_ms IS NOT NULL ORDER BY run_id",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (run_id_of(row.get(0)), row.get::<_, i64>(1) as u64))
            .collect())
    }

    /// Queued runs, oldest first, at most `limit`.
    pub(super) async fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT run_id FROM hookbot.pending ORDER BY run_id LIMIT $1")
            .await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client.query(&statement, &[&limit]).await?;
        Ok(rows.into_iter().map(|row| run_id_of(row.get(0))).collect())
    }

    /// Queued runs from `from` on, oldest first, at most `limit`.
    pub(super) async fn pending_runs_from(
        &self,
        from: RunId,
        limit: usize,
    ) -> Result<Vec<RunId>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT run_id FROM hookbot.pending WHERE run_id >= $1 ORDER BY run_id LIMIT $2",
            )
            .await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client.query(&statement, &[&run_key(from), &limit]).await?;
        Ok(rows.into_iter().map(|row| run_id_of(row.get(0))).collect())
    }

    /// Runs accepted and not finished, by every instance: counted again once the last count is
    /// older than [`PENDING_COUNT_TTL`], and kept up to date with this instance's own changes
    /// meanwhile.
    pub(super) async fn pending_count(&self) -> Result<u64, StoreError> {
        {
            let cached = self.pending_count.lock().expect("pending count lock");
            if cached
                .counted_at
                .is_some_and(|at| at.elapsed() < PENDING_COUNT_TTL)
            {
                return Ok(cached.count);
            }
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT count(*) FROM hookbot.pending")
            .await?;
        let count = client.query_one(&statement, &[]).await?.get::<_, i64>(0) as u64;
        let mut cached = self.pending_count.lock().expect("pending count lock");
        cached.count = count;
        cached.counted_at = Some(Instant::now());
        Ok(count)
    }

    fn pending_removed(&self, removed: u64) {
        let mut cached = self.pending_count.lock().expect("pending count lock");
        cached.count = cached.count.saturating_sub(removed);
    }
}
