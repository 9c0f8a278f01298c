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
}
