//! The pending queue: accepted runs wait until finished, in arrival order, counted, with their
//! retry times; all of it survives a restart.

use super::{both_engines, new_run};
use crate::run::{RunId, RunStatus};

both_engines! {
    async fn accepted_runs_are_pending_until_finished(subject: Subject) {
        let store = subject.open().await;
        let a = new_run(&store, 1).await;
        let b = new_run(&store, 2).await;
        assert!(a.id < b.id, "ids order runs by arrival");
        store.accept_run(&a, None).await.unwrap();
        store.accept_run(&b, None).await.unwrap();
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![a.id, b.id]);
        assert_eq!(store.pending_runs(1).await.unwrap(), vec![a.id]);
        // Read on from an id: that id and later ones.
        assert_eq!(store.pending_runs_from(b.id, 10).await.unwrap(), vec![b.id]);
        assert_eq!(store.pending_runs_from(a.id, 1).await.unwrap(), vec![a.id]);
        assert!(store.pending_runs_from(RunId(b.id.0 + 1), 10).await.unwrap().is_empty());
        let mut done = a.clone();
        done.status = RunStatus::Succeeded;
        done.finished_at_ms = Some(5);
        store.finish_run(&done).await.unwrap();
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![b.id]);
        assert_eq!(store.run(a.id).await.unwrap().unwrap(), done);
        assert_eq!(store.run(b.id).await.unwrap().unwrap(), b);
    }

    async fn the_pending_count_follows_the_queue(subject: Subject) {
        let store = subject.open().await;
        let (a, b, c) = (
            new_run(&store, 1).await,
            new_run(&store, 1).await,
            new_run(&store, 1).await,
        );
        for run in [&a, &b, &c] {
            store.accept_run(run, None).await.unwrap();
        }
        // Accepting the same run again does not count it twice.
        store.accept_run(&a, None).await.unwrap();
        assert_eq!(store.pending_count().await.unwrap(), 3);
        store.finish_run(&a).await.unwrap();
        store.finish_run(&a).await.unwrap();
        store.forget_pending(b.id).await.unwrap();
        assert_eq!(store.pending_count().await.unwrap(), 1);
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![c.id]);
        assert!(store.run(b.id).await.unwrap().is_some(), "forgetting keeps the record");
        store.flush().await.unwrap();
        drop(store);
        let store = subject.open().await;
        assert_eq!(store.pending_count().await.unwrap(), 1);
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![c.id]);
    }

    async fn retry_times_live_on_the_queue_entry(subject: Subject) {
        let store = subject.open().await;
        let mut waiting = new_run(&store, 1).await;
        let due = new_run(&store, 2).await;
        store.accept_run(&waiting, None).await.unwrap();
        store.accept_run(&due, None).await.unwrap();
        assert_eq!(store.pending_retry_times().await.unwrap(), vec![]);

        waiting.attempts = 1;
        waiting.next_attempt_at_ms = Some(60_000);
        store.save_run(&waiting).await.unwrap();
        assert_eq!(
            store.pending_retry_times().await.unwrap(),
            vec![(waiting.id, 60_000)]
        );
        assert_eq!(store.run(waiting.id).await.unwrap().unwrap(), waiting);

        // A run off the queue gets no queue entry back from a checkpoint.
        let mut finished = due.clone();
        finished.status = RunStatus::Failed;
        store.finish_run(&finished).await.unwrap();
        finished.next_attempt_at_ms = Some(1);
        store.save_run(&finished).await.unwrap();
        assert_eq!(store.pending_runs(10).await.unwrap(), vec![waiting.id]);

        store.flush().await.unwrap();
        drop(store);
        let store = subject.open().await;
        assert_eq!(
            store.pending_retry_times().await.unwrap(),
            vec![(waiting.id, 60_000)]
        );
        // Accepted again (a retry by hand), the run is due at once.
        store.accept_run(&waiting, None).await.unwrap();
        assert_eq!(store.pending_retry_times().await.unwrap(), vec![]);
        assert_eq!(store.pending_count().await.unwrap(), 1);
    }
}
