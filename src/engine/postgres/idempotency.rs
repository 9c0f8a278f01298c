//! Idempotency keys (`hookbot.idempotency`): the run each key started and the answer its
//! request got. Written with their run, in `pending::accept_run`.

use tokio_postgres::types::Json;

use super::{json, run_id_of, run_key, PostgresEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{IdempotencyKey, IdempotencyRecord, StoredAnswer};
use crate::run::RunId;

impl PostgresEngine {
    /// The record of an idempotency key seen within the idempotency window before `now_ms`.
    pub(super) async fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(
                "SELECT run_id, accepted_at_ms, answer FROM hookbot.idempotency
                 WHERE event_id = $1 AND key = $2",
            )
            .await?;
        let Some(row) = client
            .query_opt(&statement, &[&key.event_id, &key.key])
            .await?
        else {
            return Ok(None);
        };
        let record = IdempotencyRecord {
            run: run_id_of(row.get(0)),
            accepted_at_ms: row.get::<_, i64>(1) as u64,
            answer: json(&row, 2)?,
        };
        Ok((!record.expired(now_ms)).then_some(record))
    }

    /// Replaces the answer a key's request got (a `?wait=true` request's final answer), if the
    /// key still stands for `run`.
    pub(super) async fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE hookbot.idempotency SET answer = $4
                 WHERE event_id = $1 AND key = $2 AND run_id = $3",
                &[&key.event_id, &key.key, &run_key(run), &Json(answer)],
            )
            .await?;
        Ok(())
    }

    /// Every idempotency key kept, with the event it belongs to.
    pub(super) async fn idempotency_records(
        &self,
    ) -> Result<Vec<(String, Vec<u8>, IdempotencyRecord)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT event_id, key, run_id, accepted_at_ms, answer FROM hookbot.idempotency
                 ORDER BY event_id, key",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let record = IdempotencyRecord {
                    run: run_id_of(row.get(2)),
                    accepted_at_ms: row.get::<_, i64>(3) as u64,
                    answer: json(row, 4)?,
                };
                Ok((row.get(0), row.get(1), record))
            })
            .collect()
    }

    /// Keeps a key's record unless the key is taken; true when written.
    pub(super) async fn restore_idempotency(
        &self,
        key: IdempotencyKey<'_>,
        record: &IdempotencyRecord,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO hookbot.idempotency (event_id, key, run_id, accepted_at_ms, answer)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id, key) DO NOTHING",
                &[
                    &key.event_id,
                    &key.key,
                    &run_key(record.run),
                    &(record.accepted_at_ms as i64),
                    &Json(&record.answer),
                ],
            )
            .await?;
        Ok(written == 1)
    }
}
