//! The sled database behind one type: events, the API key hash, runs and the pending queue.
//!
//! Nothing else in hookbot names sled; callers ask in domain words.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use sled::Transactional;

use crate::events::Event;
use crate::run::{Run, RunId};

const EVENTS_TREE: &str = "events";
const RUNS_TREE: &str = "runs";
const PENDING_TREE: &str = "pending";
const META_TREE: &str = "meta";
const API_KEY_HASH: &str = "api_key_sha256";
const BOT_ID: &str = "bot_id";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {0} is in use by another hookbot process; stop it first")]
    Locked(PathBuf),
    #[error("cannot open the database at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    #[error("a stored record could not be read ({0}); the database may be from another version")]
    Decode(#[from] serde_json::Error),
}

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    events: sled::Tree,
    runs: sled::Tree,
    pending: sled::Tree,
    meta: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database, failing clearly when another process holds it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                source: sled::Error::Io(e),
            })?;
        }
        let db = sled::Config::new()
            .path(path)
            .open()
            .map_err(|source| match &source {
                // sled reports the failed file lock only in its message.
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(path.to_owned())
                }
                _ => StoreError::Open {
                    path: path.to_owned(),
                    source,
                },
            })?;
        Ok(Store {
            events: db.open_tree(EVENTS_TREE)?,
            runs: db.open_tree(RUNS_TREE)?,
            pending: db.open_tree(PENDING_TREE)?,
            meta: db.open_tree(META_TREE)?,
            db,
        })
    }

    /// Waits until everything written so far is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    // --- events ---

    /// Makes `events` the whole set of stored event definitions.
    pub fn replace_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let keep: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        for key in self.events.iter().keys() {
            let key = key?;
            if !keep.contains(String::from_utf8_lossy(&key).as_ref()) {
                batch.remove(key);
            }
        }
        for event in events {
            batch.insert(event.id.as_bytes(), serde_json::to_vec(event)?);
        }
        self.events.apply_batch(batch)?;
        Ok(())
    }

    pub fn event(&self, id: &str) -> Result<Option<Event>, StoreError> {
        get_json(&self.events, id.as_bytes())
    }

    pub fn events(&self) -> Result<Vec<Event>, StoreError> {
        self.events
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice::<Event>(&v?)?))
            .collect()
    }

    // --- API key ---

    pub fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .meta
            .get(API_KEY_HASH)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()))
    }

    /// Replaces the key hash and waits until it is on disk, so a printed key is never lost.
    pub async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        self.meta.insert(API_KEY_HASH, &hash[..])?;
        self.flush().await
    }

    // --- the bot's identity, remembered for commands that run without Discord ---

    pub fn bot_id(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta
            .get(BOT_ID)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    pub fn set_bot_id(&self, id: u64) -> Result<(), StoreError> {
        self.meta.insert(BOT_ID, &id.to_be_bytes())?;
        Ok(())
    }

    // --- runs ---

    pub fn next_run_id(&self) -> Result<RunId, StoreError> {
        Ok(RunId(self.db.generate_id()?))
    }

    /// Records a new run and queues it, durably: when this returns Ok the run survives a crash.
    pub async fn accept_run(&self, run: &Run) -> Result<(), StoreError> {
        let key = run.id.0.to_be_bytes();
        let value = serde_json::to_vec(run)?;
        (&self.runs, &self.pending)
            .transaction(|(runs, pending)| {
                runs.insert(&key, value.as_slice())?;
                pending.insert(&key, &[])?;
                Ok(())
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::Sled(sled::Error::Unsupported("transaction aborted".into()))
                }
            })?;
        self.flush().await
    }

    pub fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        get_json(&self.runs, &id.0.to_be_bytes())
    }

    /// Checkpoints a run in progress.
    pub fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        self.runs
            .insert(run.id.0.to_be_bytes(), serde_json::to_vec(run)?)?;
        Ok(())
    }

    /// Saves a finished run and takes it off the queue.
    pub fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        self.save_run(run)?;
        self.pending.remove(run.id.0.to_be_bytes())?;
        Ok(())
    }

    /// Queued runs, oldest first, at most `limit`.
    pub fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        self.pending
            .iter()
            .keys()
            .take(limit)
            .map(|k| Ok(RunId(decode_run_key(&k?))))
            .collect()
    }

    /// Takes a run off the queue without touching its record.
    pub fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        self.pending.remove(id.0.to_be_bytes())?;
        Ok(())
    }
}

fn decode_run_key(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[8 - n..].copy_from_slice(&key[key.len() - n..]);
    u64::from_be_bytes(bytes)
}

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Variables;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn accepted_runs_are_pending_until_finished() {
        let (_dir, store) = temp_store();
        let a = Run::new(
            store.next_run_id().unwrap(),
            "e".into(),
            Variables::new(),
            1,
        );
        let b = Run::new(
            store.next_run_id().unwrap(),
            "e".into(),
            Variables::new(),
            2,
        );
        store.accept_run(&a).await.unwrap();
        store.accept_run(&b).await.unwrap();
        assert_eq!(store.pending_runs(10).unwrap(), vec![a.id, b.id]);
        store.finish_run(&a).unwrap();
        assert_eq!(store.pending_runs(10).unwrap(), vec![b.id]);
        assert_eq!(store.run(a.id).unwrap().unwrap(), a);
    }

    #[test]
    fn a_second_open_names_the_lock() {
        let (dir, _store) = temp_store();
        match Store::open(&dir.path().join("db")) {
            Err(StoreError::Locked(path)) => assert!(path.ends_with("db")),
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("a second open of the same database succeeded"),
        }
    }

    #[tokio::test]
    async fn api_key_hash_roundtrip() {
        let (_dir, store) = temp_store();
        assert_eq!(store.api_key_hash().unwrap(), None);
        store.set_api_key_hash([7; 32]).await.unwrap();
        assert_eq!(store.api_key_hash().unwrap(), Some([7; 32]));
    }
}
