//! Opening a database (the lock, damage, another version) and the group commit.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::commit::GroupCommit;
use super::testing::{new_run, temp_engine};
use super::SledEngine;
use crate::engine::error::StoreError;

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
    let before = store.flush_count();
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
    // Each accept leads at most one flush; how many they share depends on scheduling, and
    // `writers_waiting_on_a_flush_share_the_next_one` forces the sharing instead.
    let flushes = store.flush_count() - before;
    assert!(
        (1..=N as u64).contains(&flushes),
        "{N} accepts took {flushes} flushes"
    );
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
