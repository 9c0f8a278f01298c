//! The queue's promises: one call to enqueue, backpressure, replays, and claims that skip runs
//! in progress or waiting for their time.

use super::*;
use crate::lang::templates::Variables;

fn queue(max_pending_runs: u64) -> Queue {
    Queue::new(Store::temporary().unwrap(), max_pending_runs)
}

fn build(id: RunId) -> (Run, StoredAnswer) {
    let run = Run::new(id, "e".into(), Variables::new(), 1);
    let answer = StoredAnswer {
        status: 200,
        body: serde_json::json!({ "run": id.0 }),
    };
    (run, answer)
}

fn new_run(enqueued: Enqueued) -> Run {
    match enqueued {
        Enqueued::New(run) => *run,
        Enqueued::Replay(record) => panic!("expected a new run, got a replay of {}", record.run),
    }
}

#[tokio::test]
async fn enqueue_refuses_past_max_pending_runs_and_a_replay_needs_no_room() {
    let queue = queue(1);
    let key = IdempotencyKey {
        event_id: "e",
        key: b"k",
    };
    let first = new_run(queue.enqueue(Some(key), 1, build).await.unwrap());
    match queue.enqueue(None, 1, build).await {
        Err(EnqueueError::Full { waiting: 1, max: 1 }) => {}
        other => panic!("expected a full queue, got {other:?}"),
    }
    match queue.enqueue(Some(key), 2, build).await.unwrap() {
        Enqueued::Replay(record) => assert_eq!(record.run, first.id),
        Enqueued::New(run) => panic!("a repeated key started run {}", run.id),
    }
    queue.finish(&first).await.unwrap();
    new_run(queue.enqueue(None, 3, build).await.unwrap());
}

#[tokio::test]
async fn claims_skip_runs_in_progress_and_runs_waiting_for_their_time() {
    let queue = queue(10);
    let a = new_run(queue.enqueue(None, 1, build).await.unwrap());
    let b = new_run(queue.enqueue(None, 1, build).await.unwrap());
    let c = new_run(queue.enqueue(None, 1, build).await.unwrap());
    assert_eq!(queue.claim(1, 0).await.unwrap(), vec![a.id]);
    queue.not_before(b.id, 500);
    assert_eq!(queue.claim(10, 0).await.unwrap(), vec![c.id]);
    assert_eq!(queue.next_due(), Some(500));
    assert!(queue.claim(10, 0).await.unwrap().is_empty());
    queue.release(a.id);
    assert_eq!(queue.claim(10, 500).await.unwrap(), vec![a.id, b.id]);
    assert_eq!(queue.next_due(), None);
}

#[tokio::test]
async fn finishing_tells_the_waiter_and_empties_the_queue() {
    let queue = queue(10);
    let mut finished = queue.subscribe();
    let mut run = new_run(queue.enqueue(None, 1, build).await.unwrap());
    run.status = crate::run::RunStatus::Succeeded;
    queue.finish(&run).await.unwrap();
    assert_eq!(finished.recv().await.unwrap(), run.id);
    assert!(queue.claim(10, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_claim_reads_on_from_where_the_last_stopped_and_finds_runs_put_back_behind_it() {
    let queue = queue(100);
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(new_run(queue.enqueue(None, 1, build).await.unwrap()).id);
    }
    assert_eq!(queue.claim(2, 0).await.unwrap(), ids[..2]);
    // Parked for later: taken from the schedule when due, not by reading the queue again.
    queue.not_before(ids[0], 900);
    queue.release(ids[0]);
    assert_eq!(queue.claim(10, 0).await.unwrap(), ids[2..]);
    // Released without a time (not taken up): found again although the cursor is past it.
    queue.release(ids[1]);
    assert_eq!(queue.claim(10, 0).await.unwrap(), [ids[1]]);
    assert!(queue.claim(10, 0).await.unwrap().is_empty());
    assert_eq!(queue.claim(10, 900).await.unwrap(), [ids[0]]);
    // A run queued by other means (an operator's retry) with an old id: `wake` reads it all.
    let mut done = queue.inner.store.run(ids[3]).await.unwrap().unwrap();
    done.status = crate::run::RunStatus::Succeeded;
    queue.finish(&done).await.unwrap();
    queue.release(ids[3]);
    assert!(queue.claim(10, 1000).await.unwrap().is_empty());
    done.status = crate::run::RunStatus::Pending;
    queue.inner.store.accept_run(&done, None).await.unwrap();
    queue.wake();
    assert_eq!(queue.claim(10, 1000).await.unwrap(), [ids[3]]);
}

#[tokio::test]
async fn a_park_saves_the_record_only_when_the_run_progressed() {
    let queue = queue(10);
    let run = new_run(queue.enqueue(None, 1, build).await.unwrap());
    assert_eq!(queue.claim(1, 0).await.unwrap(), vec![run.id]);
    // Parked at the action it was taken up at: only its time is new.
    let mut unchanged = run.clone();
    unchanged.steps = 7;
    queue.park(&unchanged, Some(500), false).await.unwrap();
    queue.release(run.id);
    assert_eq!(queue.next_due(), Some(500));
    let stored = queue.inner.store.run(run.id).await.unwrap().unwrap();
    assert_eq!(stored.steps, 0, "nothing was written");
    // Parked after a step: the record is saved.
    assert_eq!(queue.claim(1, 500).await.unwrap(), vec![run.id]);
    let mut progressed = run.clone();
    progressed.steps = 1;
    queue.park(&progressed, Some(900), true).await.unwrap();
    queue.release(run.id);
    let stored = queue.inner.store.run(run.id).await.unwrap().unwrap();
    assert_eq!(stored.steps, 1);
}

#[tokio::test]
async fn a_run_waiting_for_its_line_is_not_claimed_until_brought_forward() {
    let queue = queue(10);
    let first = new_run(queue.enqueue(None, 1, build).await.unwrap()).id;
    let second = new_run(queue.enqueue(None, 1, build).await.unwrap()).id;
    assert_eq!(queue.claim(10, 0).await.unwrap(), [first, second]);
    let run = queue.inner.store.run(first).await.unwrap().unwrap();
    queue.park(&run, None, false).await.unwrap();
    queue.release(first);
    queue.release(second);
    // Without a time it is neither due nor found again by reading the queue, even from its
    // start; the other run, released without one, is.
    assert_eq!(queue.next_due(), None);
    queue.wake();
    assert_eq!(queue.claim(10, u64::MAX).await.unwrap(), [second]);
    // Its line reached it: due at the time it was given.
    queue.bring_forward(first, 700);
    assert_eq!(queue.next_due(), Some(700));
    assert!(queue.claim(10, 600).await.unwrap().is_empty());
    assert_eq!(queue.claim(10, 700).await.unwrap(), [first]);
}

#[tokio::test]
async fn a_claim_reads_no_new_runs_while_lookahead_runs_wait_for_their_line() {
    let queue = queue(u64::MAX);
    let mut ids = Vec::new();
    for _ in 0..=LOOKAHEAD {
        ids.push(new_run(queue.enqueue(None, 1, build).await.unwrap()).id);
    }
    let (waiting, last) = ids.split_at(LOOKAHEAD);
    assert_eq!(queue.claim(LOOKAHEAD, 0).await.unwrap(), waiting);
    let run = queue.inner.store.run(waiting[0]).await.unwrap().unwrap();
    for &id in waiting {
        let mut parked = run.clone();
        parked.id = id;
        queue.park(&parked, None, false).await.unwrap();
        queue.release(id);
    }
    assert!(
        queue.claim(10, 0).await.unwrap().is_empty(),
        "the lookahead is full"
    );
    // One is brought into play: it is due, and there is room to read the next run again.
    queue.bring_forward(waiting[0], 0);
    assert_eq!(queue.claim(10, 0).await.unwrap(), [waiting[0], last[0]]);
}
