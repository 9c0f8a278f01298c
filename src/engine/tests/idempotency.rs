//! Idempotency keys: one run per key and event within the window, also under concurrency.

use std::sync::Arc;

use super::{answer, both_engines, new_run, once};
use crate::engine::limits::IDEMPOTENCY_WINDOW;
use crate::engine::records::{Accepted, IdempotencyKey};

both_engines! {
    async fn an_idempotency_key_starts_one_run_per_event(subject: Subject) {
        let store = subject.open().await;
        let key = IdempotencyKey {
            event_id: "e",
            key: b"k1",
        };
        let first = new_run(&store, 1_000).await;
        assert_eq!(
            store.accept_run(&first, once(key, &answer(1))).await.unwrap(),
            Accepted::New
        );
        let second = new_run(&store, 2_000).await;
        match store.accept_run(&second, once(key, &answer(2))).await.unwrap() {
            Accepted::Replay(record) => {
                assert_eq!(record.run, first.id);
                assert_eq!(record.accepted_at_ms, 1_000);
                assert_eq!(record.answer, answer(1));
            }
            other => panic!("expected a replay, got {other:?}"),
        }
        assert!(store.run(second.id).await.unwrap().is_none(), "no second run");
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![first.id]);

        // Another key, and the same key on another event, are separate.
        let other_key = new_run(&store, 3_000).await;
        let k2 = IdempotencyKey {
            event_id: "e",
            key: b"k2",
        };
        assert_eq!(
            store.accept_run(&other_key, once(k2, &answer(3))).await.unwrap(),
            Accepted::New
        );
        let other_event = new_run(&store, 3_000).await;
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
        store.set_idempotent_answer(key, first.id, &answer(9)).await.unwrap();
        store.set_idempotent_answer(key, second.id, &answer(10)).await.unwrap();
        let record = store.idempotency_record(key, 5_000).await.unwrap().unwrap();
        assert_eq!(record.answer, answer(9));

        // After the window the key is forgotten.
        let later = 1_000 + IDEMPOTENCY_WINDOW.as_millis() as u64;
        assert_eq!(store.idempotency_record(key, later).await.unwrap(), None);
        let third = new_run(&store, later).await;
        assert_eq!(
            store.accept_run(&third, once(key, &answer(5))).await.unwrap(),
            Accepted::New
        );
        assert_eq!(
            store.idempotency_record(key, later).await.unwrap().map(|r| r.run),
            Some(third.id)
        );
    }

    async fn concurrent_requests_with_one_key_start_one_run(subject: Subject) {
        const N: usize = 16;
        let store = subject.open().await;
        let barrier = Arc::new(tokio::sync::Barrier::new(N));
        let mut tasks = Vec::new();
        for i in 0..N {
            let (store, barrier) = (store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let run = new_run(&store, 1).await;
                let key = IdempotencyKey {
                    event_id: "e",
                    key: b"same",
                };
                barrier.wait().await;
                match store.accept_run(&run, once(key, &answer(i as u64))).await.unwrap() {
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
        assert_eq!(store.pending_runs(100).await.unwrap().len(), 1);
        assert_eq!(store.pending_count().await.unwrap(), 1);
    }
}

both_engines! {
    async fn keys_and_revisions_are_listed_and_restored_without_overwriting(subject: Subject) {
        use crate::engine::records::{EventRevision, IdempotencyRecord};
        let store = subject.open().await;
        let key = IdempotencyKey {
            event_id: "e",
            key: b"\x00binary\xff",
        };
        let run = new_run(&store, 7).await;
        store.accept_run(&run, once(key, &answer(1))).await.unwrap();
        let listed = store.idempotency_records().await.unwrap();
        assert_eq!(listed.len(), 1);
        let (event, bytes, record) = &listed[0];
        assert_eq!((event.as_str(), bytes.as_slice()), ("e", key.key));
        assert_eq!(record.run, run.id);

        // A key the store has is kept as it is; a new one is written.
        let other = IdempotencyRecord {
            run: crate::run::RunId(42),
            accepted_at_ms: 9,
            answer: answer(2),
        };
        assert!(!store.restore_idempotency(key, &other).await.unwrap());
        let fresh = IdempotencyKey {
            event_id: "f",
            key: b"new",
        };
        assert!(store.restore_idempotency(fresh, &other).await.unwrap());
        assert_eq!(store.idempotency_record(fresh, 10).await.unwrap(), Some(other));
        assert_eq!(store.idempotency_record(key, 10).await.unwrap().unwrap().run, run.id);

        let revision = |n: u32, name: &str| EventRevision {
            revision: n,
            accepted_at_ms: u64::from(n),
            event: crate::events::Event {
                id: "e".into(),
                name: name.into(),
                ..crate::events::Event::default()
            },
        };
        assert!(store.restore_revision("e", &revision(3, "three")).await.unwrap());
        assert!(store.restore_revision("e", &revision(1, "one")).await.unwrap());
        assert!(!store.restore_revision("e", &revision(3, "other")).await.unwrap());
        assert_eq!(
            store.event_revisions("e").await.unwrap(),
            [revision(1, "one"), revision(3, "three")]
        );
    }
}
