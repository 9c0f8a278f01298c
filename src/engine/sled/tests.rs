//! Opening a database (the lock, damage, another version), the group commit, and the accept
//! journal's replay and checkpoints.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::commit::GroupCommit;
use super::journal::{segment_path, segments, AcceptFrame, JOURNAL_DIR};
use super::testing::{new_run, temp_engine};
use super::SledEngine;
use crate::engine::error::StoreError;
use crate::engine::records::{IdempotencyKey, IdempotencyRecord, RunFilter, StoredAnswer};
use crate::run::{Run, RunId, RunStatus};

#[test]
fn a_second_open_names_the_lock() {
    let (dir, _store) = temp_engine();
    match SledEngine::open(&dir.path().join("db")) {
        Err(StoreError::Locked(path)) => assert!(path.ends_with("db")),
        Err(other) => panic!("expected Locked, got {other}"),
        Ok(_) => panic!("a second open of the same database succeeded"),
    }
}

#[test]
fn a_damaged_database_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(SledEngine::open(&path).unwrap());
    std::fs::write(
        path.join("conf"),
        b"\xff\xfe garbage that is no sled config at all\n",
    )
    .unwrap();
    match SledEngine::open(&path) {
        Err(error @ StoreError::Unreadable { .. }) => {
            let text = error.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(
                text.contains("backup") && text.contains("move it aside"),
                "{text}"
            );
        }
        Err(other) => panic!("expected Unreadable, got {other}"),
        Ok(_) => panic!("a garbled database opened"),
    }
}

#[test]
fn a_database_from_another_version_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(SledEngine::open(&path).unwrap());
    let conf = std::fs::read(path.join("conf")).unwrap();
    let text = String::from_utf8_lossy(&conf[..conf.len() - 4]).into_owned();
    let older = text
        .lines()
        .map(|line| {
            if line.starts_with("version: ") {
                "version: 0.1".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let mut bytes = older.into_bytes();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    std::fs::write(path.join("conf"), bytes).unwrap();
    match SledEngine::open(&path) {
        Err(StoreError::Unreadable { detail, .. }) => {
            assert!(detail.contains("version"), "{detail}")
        }
        Err(other) => panic!("expected Unreadable, got {other}"),
        Ok(_) => panic!("a database from another version opened"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_are_durable() {
    const N: usize = 64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SledEngine::open(&path).unwrap();
    let journal = store
        .journal
        .clone()
        .expect("a database in a folder journals");
    let before = journal.syncs();
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let run = new_run(&store, 1);
            barrier.wait().await;
            store.accept_run(&run, None).await.unwrap();
            run.id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    // Each accept leads at most one journal sync; how many they share depends on scheduling,
    // and `writers_waiting_on_a_flush_share_the_next_one` forces the sharing instead.
    let syncs = journal.syncs() - before;
    assert!(
        (1..=N as u64).contains(&syncs),
        "{N} accepts took {syncs} journal syncs"
    );
    drop(journal);
    assert_eq!(store.pending_count(), N as u64);
    // Dropping the last handle waits until sled has let go of the database.
    drop(store);

    let store = SledEngine::open(&path).unwrap();
    assert_eq!(store.pending_count(), N as u64);
    for id in ids {
        assert!(store.run(id).unwrap().is_some(), "{id} survived");
    }
}

/// The batching forced: the first writer's flush is held until every other writer waits, so
/// exactly one more flush covers all of them, whatever the scheduling.
#[tokio::test]
async fn writers_waiting_on_a_flush_share_the_next_one() {
    const N: u64 = 16;
    let commit = GroupCommit::default();
    let gate = tokio::sync::Semaphore::new(0);
    // The last ticket each flush covered, in order.
    let covered = Mutex::new(Vec::new());
    let flush_disk = || async {
        let first = {
            let mut covered = covered.lock().unwrap();
            covered.push(commit.in_flight().expect("a flush in progress"));
            covered.len() == 1
        };
        if first {
            gate.acquire().await.unwrap().forget();
        }
        Ok(0)
    };
    let mut writers: Vec<_> = (0..N)
        .map(|_| Box::pin(commit.flush_with(&flush_disk)))
        .collect();
    // The first leads and is held at the disk; each other takes its ticket and waits.
    for writer in &mut writers {
        assert!(futures::poll!(writer.as_mut()).is_pending());
    }
    assert_eq!(*covered.lock().unwrap(), [1]);
    gate.add_permits(1);
    for result in futures::future::join_all(writers).await {
        result.unwrap();
    }
    assert_eq!(
        *covered.lock().unwrap(),
        [1, N],
        "the flushes and what each covered"
    );
    assert_eq!(commit.flushes.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_lone_flush_still_flushes() {
    let (_dir, store) = temp_engine();
    let before = store.flush_count();
    store.flush().await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.flush_count() - before, 2);
}

/// Closes nothing: writes `frames` as a journal segment of the (closed) database at `path`, as
/// a `kill -9` after their sync and before sled wrote them would leave them.
fn leave_in_journal(path: &std::path::Path, frames: &[AcceptFrame]) {
    let dir = path.join(JOURNAL_DIR);
    let mut bytes = Vec::new();
    for frame in frames {
        frame.encode(&mut bytes);
    }
    // A torn write after the last synced frame: never answered, so never replayed.
    bytes.extend_from_slice(&[0x55; 11]);
    std::fs::write(segment_path(&dir, 7), bytes).unwrap();
}

fn answer(n: u64) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: serde_json::json!({ "n": n }),
    }
}

fn frame_of(run: &Run, key: Option<(&[u8], &IdempotencyRecord)>) -> AcceptFrame {
    AcceptFrame {
        run_id: run.id,
        run: serde_json::to_vec(run).unwrap(),
        idempotency: key.map(|(key, record)| (key.to_vec(), serde_json::to_vec(record).unwrap())),
    }
}

#[tokio::test]
async fn runs_left_in_the_accept_journal_come_back_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SledEngine::open(&path).unwrap();
    // In sled already and finished since: its frame must not queue it again.
    let mut finished = new_run(&store, 1);
    store.accept_run(&finished, None).await.unwrap();
    finished.status = RunStatus::Succeeded;
    store.finish_run(&finished).unwrap();
    // Failed in sled; its requeue (`hookbot runs retry`) reached only the journal.
    let mut failed = new_run(&store, 2);
    failed.status = RunStatus::Failed;
    store.save_run(&failed).unwrap();
    let mut requeued = failed.clone();
    requeued.status = RunStatus::Pending;
    requeued.requeued_at_ms = Some(3);
    // Accepted with a key, only in the journal.
    let lost = new_run(&store, 4);
    let key = IdempotencyKey {
        event_id: "e",
        key: b"k",
    };
    let record = IdempotencyRecord {
        run: lost.id,
        accepted_at_ms: 4,
        answer: answer(4),
    };
    // Cut short by the crash: its record reached sled, its queue entry and key did not.
    let half = new_run(&store, 5);
    store
        .runs
        .insert(half.id.0.to_be_bytes(), serde_json::to_vec(&half).unwrap())
        .unwrap();
    let half_key = IdempotencyKey {
        event_id: "e",
        key: b"half",
    };
    let half_record = IdempotencyRecord {
        run: half.id,
        accepted_at_ms: 5,
        answer: answer(5),
    };
    store.flush().await.unwrap();
    drop(store);
    let encoded = super::idempotency::encode_key(key);
    let half_encoded = super::idempotency::encode_key(half_key);
    leave_in_journal(
        &path,
        &[
            frame_of(&finished, None),
            frame_of(&lost, Some((&encoded, &record))),
            frame_of(&requeued, None),
            frame_of(&half, Some((&half_encoded, &half_record))),
        ],
    );

    let store = SledEngine::open(&path).unwrap();
    assert_eq!(
        store.pending_runs(10).unwrap(),
        [failed.id, lost.id, half.id]
    );
    assert_eq!(store.pending_count(), 3);
    assert_eq!(
        store.idempotency_record(half_key, 6).unwrap(),
        Some(half_record)
    );
    assert_eq!(store.run(lost.id).unwrap().unwrap(), lost);
    assert_eq!(store.run(failed.id).unwrap().unwrap(), requeued);
    assert_eq!(
        store.run(finished.id).unwrap().unwrap().status,
        RunStatus::Succeeded
    );
    assert_eq!(store.idempotency_record(key, 5).unwrap(), Some(record));
    // The two runs sled lacks wait in the journal: their segment stays, beside the fresh one.
    let journal_dir = path.join(JOURNAL_DIR);
    assert_eq!(segments(&journal_dir).unwrap().len(), 2);
    assert!(store.runs.get(lost.id.0.to_be_bytes()).unwrap().is_none());
    drop(store);
    let store = SledEngine::open(&path).unwrap();
    assert_eq!(store.pending_count(), 3);
    assert_eq!(store.run(lost.id).unwrap().unwrap(), lost);
    // Once they are taken up, the segment goes at the next checkpoint.
    let mut done = lost.clone();
    done.status = RunStatus::Succeeded;
    store.finish_run(&done).unwrap();
    store.save_run(&requeued).unwrap();
    assert_eq!(store.pending_count(), 2);
    store.journal.as_ref().unwrap().checkpoint_now().unwrap();
    let left = segments(&journal_dir).unwrap();
    assert_eq!(left.len(), 1, "only the fresh segment: {left:?}");
    drop(store);
    let store = SledEngine::open(&path).unwrap();
    assert_eq!(store.pending_runs(10).unwrap(), [failed.id, half.id]);
    assert_eq!(store.pending_count(), 2);
    assert_eq!(store.run(lost.id).unwrap().unwrap(), done);
}

/// An accepted run waits in the journal, not in sled's trees, until it is taken up: it is read,
/// listed and counted from there, its first write moves it into sled, and a run still waiting
/// when its segment is due to settle is moved into sled's queue by the checkpoint.
#[tokio::test]
async fn an_accepted_run_waits_in_the_journal_until_it_is_taken_up() {
    let (dir, store) = temp_engine();
    let journal = store.journal.clone().unwrap();
    let (first, second, third) = (new_run(&store, 1), new_run(&store, 2), new_run(&store, 3));
    for run in [&first, &second, &third] {
        store.accept_run(run, None).await.unwrap();
    }
    assert!(store.runs.is_empty() && store.pending.is_empty());
    assert_eq!(store.pending_count(), 3);
    assert_eq!(store.run(second.id).unwrap().unwrap(), second);
    assert_eq!(
        store.pending_runs_from(second.id, 10).unwrap(),
        [second.id, third.id]
    );
    let filter = |limit| RunFilter {
        event: None,
        failed: false,
        limit,
    };
    let listed: Vec<RunId> = store
        .runs_newest_first(&filter(2))
        .unwrap()
        .iter()
        .map(|run| run.id)
        .collect();
    assert_eq!(listed, [third.id, second.id]);

    // Taken up and parked for Discord's pace: in sled's queue with its time, still counted.
    let mut parked = first.clone();
    parked.next_attempt_at_ms = Some(99);
    store.save_run(&parked).unwrap();
    assert!(!journal.holds(first.id));
    assert_eq!(store.pending_retry_times().unwrap(), [(first.id, 99)]);
    assert_eq!(store.pending_count(), 3);
    assert_eq!(store.run(first.id).unwrap().unwrap(), parked);
    // Finished straight from the journal: off the queue.
    let mut done = second.clone();
    done.status = RunStatus::Succeeded;
    store.finish_run(&done).unwrap();
    assert_eq!(store.pending_count(), 2);
    assert_eq!(store.pending_runs(10).unwrap(), [first.id, third.id]);

    // Due to settle: the run still waiting moves into sled's queue, and its segment goes.
    journal.settle_all().unwrap();
    assert!(!journal.holds(third.id));
    assert_eq!(store.run(third.id).unwrap().unwrap(), third);
    assert_eq!(store.pending_runs(10).unwrap(), [first.id, third.id]);
    assert_eq!(store.pending_count(), 2);
    assert_eq!(journal.unsettled_floor(), u64::MAX);
    let left = segments(&dir.path().join("db").join(JOURNAL_DIR)).unwrap();
    assert_eq!(left.len(), 1, "only the fresh segment: {left:?}");
}

/// Retention leaves a finished run alone while a segment of the journal that holds its frame is
/// on disk (a replay could bring it back); a prune first moves what waits in the journal into
/// sled, so those segments go and a long wait in the journal never holds retention back.
#[tokio::test]
async fn a_prune_moves_waiting_runs_into_sled_before_it_deletes() {
    let (dir, store) = temp_engine();
    let journal = store.journal.clone().unwrap();
    let mut done = new_run(&store, 1);
    store.accept_run(&done, None).await.unwrap();
    let waiting = new_run(&store, 2);
    store.accept_run(&waiting, None).await.unwrap();
    done.status = RunStatus::Succeeded;
    done.finished_at_ms = Some(1);
    store.finish_run(&done).unwrap();
    assert_eq!(journal.unsettled_floor(), done.id.0);
    assert_eq!(store.prune(Duration::ZERO, 0, 10).unwrap().runs, 1);
    assert_eq!(journal.unsettled_floor(), u64::MAX);
    assert!(store.run(done.id).unwrap().is_none());
    assert!(!journal.holds(waiting.id));
    assert_eq!(store.pending_runs(10).unwrap(), [waiting.id]);
    assert_eq!(store.run(waiting.id).unwrap().unwrap(), waiting);
    assert_eq!(store.pending_count(), 1);
    let left = segments(&dir.path().join("db").join(JOURNAL_DIR)).unwrap();
    assert_eq!(left.len(), 1, "only the fresh segment: {left:?}");
}

/// A clean close keeps the queue's length, and the next open takes it instead of walking the
/// queue (and takes it out, so a crash after that open is never trusted).
#[tokio::test]
async fn a_clean_close_keeps_the_queue_length_for_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = SledEngine::open(&path).unwrap();
    let runs = [new_run(&store, 1), new_run(&store, 2), new_run(&store, 3)];
    for run in &runs {
        store.accept_run(run, None).await.unwrap();
    }
    let mut done = runs[0].clone();
    done.status = RunStatus::Succeeded;
    store.finish_run(&done).unwrap();
    drop(store);
    let kept = |path: &std::path::Path| {
        let db = sled::open(path).unwrap();
        let meta = db.open_tree(super::META_TREE).unwrap();
        let kept = meta.get("queue_length_at_close").unwrap();
        // Told apart from a walk: the open must believe what the close kept.
        if kept.is_some() {
            meta.insert("queue_length_at_close", &7u64.to_be_bytes()[..])
                .unwrap();
            db.flush().unwrap();
        }
        kept.map(|bytes| u64::from_be_bytes(bytes.as_ref().try_into().unwrap()))
    };
    assert_eq!(kept(&path), Some(2));
    super::wait_released(&path).unwrap();
    let store = SledEngine::open(&path).unwrap();
    assert_eq!(store.pending_count(), 7);
    assert_eq!(store.pending_runs(10).unwrap(), [runs[1].id, runs[2].id]);
    assert!(store.meta.get("queue_length_at_close").unwrap().is_none());
}
