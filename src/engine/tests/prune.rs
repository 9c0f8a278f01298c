//! Retention: old and surplus finished runs go with their journals, queued runs never do,
//! expired idempotency keys go.

use std::time::Duration;

use super::{answer, both_engines, new_run, once};
use crate::engine::records::{IdempotencyKey, Pruned};
use crate::engine::Store;
use crate::run::{RunId, RunStatus, Step, StepOutcome};

const HOUR: u64 = 3_600_000;

/// A run received and finished at the times given, with one journaled step.
async fn finished(store: &Store, received: u64, finished: u64) -> RunId {
    let mut run = new_run(store, received).await;
    store.accept_run(&run, None).await.unwrap();
    run.status = RunStatus::Succeeded;
    run.finished_at_ms = Some(finished);
    store.finish_run(&run).await.unwrap();
    let step = Step {
        path: "1".into(),
        action: "stop".into(),
        line: 0,
        started_at_ms: 0,
        duration_ms: 0,
        outcome: StepOutcome::Waiting { until_ms: 1 },
        warnings: vec![],
        channel: None,
    };
    store.append_step(run.id, 0, &step).await.unwrap();
    run.id
}

both_engines! {
    async fn prune_keeps_pending_runs_and_the_newest(subject: Subject) {
        let store = subject.open().await;
        let now = 1_000 * HOUR;
        // Oldest first: two finished 3 days ago, three finished within the hour.
        let old_a = finished(&store, now - 72 * HOUR, now - 72 * HOUR).await;
        let old_b = finished(&store, now - 72 * HOUR, now - 71 * HOUR).await;
        let mut recent = Vec::new();
        for _ in 0..3 {
            recent.push(finished(&store, now - HOUR, now - HOUR / 2).await);
        }
        // An old run still queued is never pruned.
        let queued = new_run(&store, now - 100 * HOUR).await;
        store.accept_run(&queued, None).await.unwrap();
        // An old idempotency key and a fresh one.
        let old_key = IdempotencyKey {
            event_id: "e",
            key: b"old",
        };
        let new_key = IdempotencyKey {
            event_id: "e",
            key: b"new",
        };
        let keyed_old = new_run(&store, now - 25 * HOUR).await;
        store.accept_run(&keyed_old, once(old_key, &answer(1))).await.unwrap();
        let keyed_new = new_run(&store, now - HOUR).await;
        store.accept_run(&keyed_new, once(new_key, &answer(2))).await.unwrap();

        // Keep two days, at most two runs: both old ones go by age, the oldest recent by count.
        let pruned = store.prune(Duration::from_secs(48 * 3600), 2, now).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                runs: 3,
                idempotency_keys: 1
            }
        );
        for gone in [old_a, old_b, recent[0]] {
            assert!(store.run(gone).await.unwrap().is_none());
            assert!(
                store.steps(gone).await.unwrap().is_empty(),
                "steps of {gone} deleted"
            );
        }
        for kept in [recent[1], recent[2], queued.id, keyed_old.id, keyed_new.id] {
            assert!(store.run(kept).await.unwrap().is_some());
        }
        assert_eq!(store.steps(recent[2]).await.unwrap().len(), 1);
        // The old key is gone even looked at from its own time; the new one stays.
        assert_eq!(store.idempotency_record(old_key, now - 25 * HOUR).await.unwrap(), None);
        assert!(store.idempotency_record(new_key, now).await.unwrap().is_some());
        // Nothing more to do.
        assert_eq!(
            store.prune(Duration::from_secs(48 * 3600), 2, now).await.unwrap(),
            Pruned::default()
        );
    }
}
