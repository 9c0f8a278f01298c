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

/// Event id, 0, then the caller's key: an event id holds no 0 byte, so keys of two events
/// never meet.
pub(super) fn encode_key(key: IdempotencyKey<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.event_id.len() + 1 + key.key.len());
    out.extend_from_slice(key.event_id.as_bytes());
    out.push(0);
    out.extend_from_slice(key.key);
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testing::{answer, new_run, once, temp_engine};
    use super::*;
    use crate::engine::limits::IDEMPOTENCY_WINDOW;
    use crate::engine::records::Accepted;

    #[tokio::test]
    async fn an_idempotency_key_starts_one_run_per_event() {
        let (_dir, store) = temp_engine();
        let key = IdempotencyKey {
            event_id: "e",
            key: b"k1",
        };
        let first = new_run(&store, 1_000);
        assert_eq!(
            store
                .accept_run(&first, once(key, &answer(1)))
                .await
                .unwrap(),
            Accepted::New
        );
        let second = new_run(&store, 2_000);
        match store
            .accept_run(&second, once(key, &answer(2)))
            .await
            .unwrap()
        {
            Accepted::Replay(record) => {
                assert_eq!(record.run, first.id);
                assert_eq!(record.accepted_at_ms, 1_000);
                assert_eq!(record.answer, answer(1));
            }
            other => panic!("expected a replay, got {other:?}"),
        }
        assert!(store.run(second.id).unwrap().is_none(), "no second run");
        assert_eq!(store.pending_runs(10).unwrap(), vec![first.id]);

        // Another key, and the same key on another event, are separate.
        let other_key = new_run(&store, 3_000);
        let k2 = IdempotencyKey {
            event_id: "e",
            key: b"k2",
        };
        assert_eq!(
            store
                .accept_run(&other_key, once(k2, &answer(3)))
                .await
                .unwrap(),
            Accepted::New
        );
        let other_event = new_run(&store, 3_000);
        let elsewhere = IdempotencyKey {
            event_id: "f",
            key: b"k1",
        };
        assert_eq!(
            store
                .accept_run(&other_event, once(elsewhere, &answer(4)))
                .await
                .unwrap(),
            Accepted::New
        );

        // The final answer replaces the first one, only for the run the key stands for.
        store
            .set_idempotent_answer(key, first.id, &answer(9))
            .unwrap();
        store
            .set_idempotent_answer(key, second.id, &answer(10))
            .unwrap();
        let record = store.idempotency_record(key, 5_000).unwrap().unwrap();
        assert_eq!(record.answer, answer(9));

        // After the window the key is forgotten.
        let later = 1_000 + IDEMPOTENCY_WINDOW.as_millis() as u64;
        assert_eq!(store.idempotency_record(key, later).unwrap(), None);
        let third = new_run(&store, later);
        assert_eq!(
            store
                .accept_run(&third, once(key, &answer(5)))
                .await
                .unwrap(),
            Accepted::New
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_with_one_key_start_one_run() {
        const N: usize = 16;
        let (_dir, store) = temp_engine();
        let barrier = Arc::new(tokio::sync::Barrier::new(N));
        let mut tasks = Vec::new();
        for i in 0..N {
            let (store, barrier) = (store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let run = new_run(&store, 1);
                let key = IdempotencyKey {
                    event_id: "e",
                    key: b"same",
                };
                barrier.wait().await;
                match store
                    .accept_run(&run, once(key, &answer(i as u64)))
                    .await
                    .unwrap()
                {
                    Accepted::New => run.id,
                    Accepted::Replay(record) => record.run,
                }
            }));
        }
        let mut ids = std::collections::HashSet::new();
        for task in tasks {
            ids.insert(task.await.unwrap());
        }
        assert_eq!(ids.len(), 1, "every request names the same run");
        assert_eq!(store.pending_runs(100).unwrap().len(), 1);
        assert_eq!(store.pending_count(), 1);
    }
}
