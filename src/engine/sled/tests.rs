//! Opening a database (the lock, damage, another version) and the group commit.

use std::sync::Arc;

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
async fn concurrent_accepts_share_flushes_and_are_durable() {
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
    let flushes = store.flush_count() - before;
    // Without sharing it would be N; how far below depends on scheduling, so the bound is
    // loose enough for a loaded CI machine.
    assert!(
        flushes <= (N / 2) as u64,
        "{N} accepts took {flushes} flushes"
    );
    assert_eq!(store.pending_count(), N as u64);
    drop(store);

    let store = SledEngine::open(&path).unwrap();
    assert_eq!(store.pending_count(), N as u64);
    for id in ids {
        assert!(store.run(id).unwrap().is_some(), "{id} survived");
    }
}

#[tokio::test]
async fn a_lone_flush_still_flushes() {
    let (_dir, store) = temp_engine();
    let before = store.flush_count();
    store.flush().await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.flush_count() - before, 2);
}
