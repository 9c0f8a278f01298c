//! Idempotency keys: the run each key started and the answer its request got.

use super::{get_json, SledEngine};
use crate::engine::error::StoreError;
use crate::engine::records::{IdempotencyKey, IdempotencyRecord, StoredAnswer};
use crate::run::RunId;

impl SledEngine {
    /// The record of an idempotency key seen within [`IDEMPOTENCY_WINDOW`] before `now_ms`.
    pub(super) fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(
            get_json::<IdempotencyRecord>(&self.idempotency, &encode_key(key))?
                .filter(|record| !record.expired(now_ms)),
        )
    }

    /// Replaces the answer a key's request got (a `?wait=true` request's final answer), if the
    /// key still stands for `run`. Not flushed: losing it costs only a less precise replay.
    pub(super) fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let key = encode_key(key);
        let Some(current) = self.idempotency.get(&key)? else {
            return Ok(());
        };
        let Ok(mut record) = serde_json::from_slice::<IdempotencyRecord>(&current) else {
            return Ok(());
        };
        if record.run != run {
            return Ok(());
        }
        record.answer = answer.clone();
        // Only if nobody changed it meanwhile.
        let _ = self.idempotency.compare_and_swap(
            &key,
            Some(current),
            Some(serde_json::to_vec(&record)?),
        )?;
        Ok(())
    }
}

impl SledEngine {
    /// Every idempotency key kept, with the event it belongs to.
    pub(super) fn idempotency_records(
        &self,
    ) -> Result<Vec<(String, Vec<u8>, IdempotencyRecord)>, StoreError> {
        let mut records = Vec::new();
        for entry in self.idempotency.iter() {
            let (key, value) = entry?;
            let Some(split) = key.iter().position(|b| *b == 0) else {
                continue;
            };
            let event_id = String::from_utf8_lossy(&key[..split]).into_owned();
            records.push((
                event_id,
                key[split + 1..].to_vec(),
                serde_json::from_slice(&value)?,
            ));
        }
        Ok(records)
    }

    /// Keeps a key's record unless the key is taken; true when written.
    pub(super) fn restore_idempotency(
        &self,
        key: IdempotencyKey<'_>,
        record: &IdempotencyRecord,
    ) -> Result<bool, StoreError> {
        let written = self.idempotency.compare_and_swap(
            encode_key(key),
            None::<&[u8]>,
            Some(serde_json::to_vec(record)?),
        )?;
        Ok(written.is_ok())
    }
}

/// Event id, 0, then the caller's key: an event id holds no 0 byte, so keys of two events
/// never meet.
pub(super) fn encode_key(key: IdempotencyKey<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.event_id.len() + 1 + key.key.len());
    out.extend_from_slice(key.event_id.as_bytes());
    out.push(0);
    out.extend_from_slice(key.key);
    out
}
