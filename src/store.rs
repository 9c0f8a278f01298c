//! The sled database behind one type: events, the API key hash, runs, the pending queue and
//! the variables events keep between runs.
//!
//! Nothing else in hookbot names sled; callers ask in domain words.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::events::Event;
use crate::run::{Run, RunId, Step};

const EVENTS_TREE: &str = "events";
const RUNS_TREE: &str = "runs";
const PENDING_TREE: &str = "pending";
/// A run's journal: key = run id (8 bytes, big-endian) + step index (4 bytes, big-endian).
const STEPS_TREE: &str = "steps";
const META_TREE: &str = "meta";
const VARIABLES_TREE: &str = "variables";
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
    #[error("a variable name cannot be empty")]
    EmptyVariableName,
    #[error("the variable name \"{start}…\" has {chars} characters; at most {MAX_VARIABLE_NAME_CHARS} are allowed")]
    VariableNameTooLong { start: String, chars: usize },
    #[error("the value for variable \"{name}\" is {bytes} bytes; at most {MAX_VARIABLE_VALUE_BYTES} are allowed")]
    VariableValueTooLarge { name: String, bytes: usize },
    #[error("a stored variable could not be read; the database may be from another version")]
    CorruptVariable,
}

/// The longest variable name, in characters.
pub use crate::events::MAX_VARIABLE_NAME_CHARS;
/// The largest variable value, in bytes of UTF-8: a value is rendered into messages, and a run
/// may read many, so each stays small.
pub const MAX_VARIABLE_VALUE_BYTES: usize = 16 * 1024;

/// Whose a variable is: the same name holds a separate value in each scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableScope {
    /// One value for the whole bot.
    Global,
    /// One value per server.
    Server(u64),
    /// One value per member: the same user has a separate value in each server.
    User { server: u64, user: u64 },
    /// One value per channel.
    Channel(u64),
}

impl std::fmt::Display for VariableScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableScope::Global => f.write_str("global"),
            VariableScope::Server(server) => write!(f, "server {server}"),
            VariableScope::User { server, user } => write!(f, "user {user} in server {server}"),
            VariableScope::Channel(channel) => write!(f, "channel {channel}"),
        }
    }
}

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    events: sled::Tree,
    runs: sled::Tree,
    pending: sled::Tree,
    steps: sled::Tree,
    meta: sled::Tree,
    variables: sled::Tree,
    /// Decoded event definitions, shared by every clone of the handle.
    loaded_events: Arc<RwLock<HashMap<String, Arc<Event>>>>,
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
        Store::from_db(db)
    }

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        Ok(Store {
            events: db.open_tree(EVENTS_TREE)?,
            runs: db.open_tree(RUNS_TREE)?,
            pending: db.open_tree(PENDING_TREE)?,
            steps: db.open_tree(STEPS_TREE)?,
            meta: db.open_tree(META_TREE)?,
            variables: db.open_tree(VARIABLES_TREE)?,
            loaded_events: Arc::default(),
            db,
        })
    }

    /// A database that lives in memory and is gone when dropped: for dry runs while another
    /// process holds the real one.
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Store::from_db(db)
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
        let mut loaded = self.loaded_events.write().expect("event cache lock");
        loaded.clear();
        loaded.extend(events.iter().map(|e| (e.id.clone(), Arc::new(e.clone()))));
        Ok(())
    }

    /// An event definition. Served from memory once read, so a run does not decode the
    /// definition or recompile its regexes; [`replace_events`](Self::replace_events) is the only
    /// writer and refreshes it.
    pub fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError> {
        if let Some(event) = self.loaded_events.read().expect("event cache lock").get(id) {
            return Ok(Some(event.clone()));
        }
        let stored: Option<Event> = get_json(&self.events, id.as_bytes())?;
        Ok(stored.map(|event| {
            let event = Arc::new(event);
            self.loaded_events
                .write()
                .expect("event cache lock")
                .insert(id.to_owned(), event.clone());
            event
        }))
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

    /// Journals a run's step `index` (0-based). Not flushed here: sled writes it out within
    /// half a second, and the run's own record is flushed when it finishes.
    pub fn append_step(&self, id: RunId, index: u32, step: &Step) -> Result<(), StoreError> {
        self.steps
            .insert(step_key(id, index), serde_json::to_vec(step)?)?;
        Ok(())
    }

    /// A run's journal, in order.
    pub fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError> {
        self.steps
            .scan_prefix(id.0.to_be_bytes())
            .values()
            .map(|value| Ok(serde_json::from_slice(&value?)?))
            .collect()
    }

    /// Takes a run off the queue without touching its record.
    pub fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        self.pending.remove(id.0.to_be_bytes())?;
        Ok(())
    }

    // --- variables: set_variable, delete_variable and {var.NAME} ---
    //
    // Writes are not flushed one by one: the run that made them checkpoints, and that flush
    // takes them along.

    pub fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        match self.variables.get(variable_key(scope, name))? {
            Some(bytes) => Ok(Some(
                String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::CorruptVariable)?,
            )),
            None => Ok(None),
        }
    }

    /// Sets a variable, checking the name and value against the limits.
    pub fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        check_variable_name(name)?;
        if value.len() > MAX_VARIABLE_VALUE_BYTES {
            return Err(StoreError::VariableValueTooLarge {
                name: name.to_owned(),
                bytes: value.len(),
            });
        }
        self.variables
            .insert(variable_key(scope, name), value.as_bytes())?;
        Ok(())
    }

    /// Removes a variable; false when there was none.
    pub fn delete_variable(&self, scope: &VariableScope, name: &str) -> Result<bool, StoreError> {
        Ok(self.variables.remove(variable_key(scope, name))?.is_some())
    }

    /// Every variable, ordered by scope (global, servers, users, channels) and then name.
    pub fn variables(&self) -> Result<Vec<(VariableScope, String, String)>, StoreError> {
        self.variables
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let (scope, name) = decode_variable_key(&key).ok_or(StoreError::CorruptVariable)?;
                let value =
                    String::from_utf8(value.to_vec()).map_err(|_| StoreError::CorruptVariable)?;
                Ok((scope, name, value))
            })
            .collect()
    }
}

fn check_variable_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::EmptyVariableName);
    }
    let chars = name.chars().count();
    if chars > MAX_VARIABLE_NAME_CHARS {
        return Err(StoreError::VariableNameTooLong {
            start: name.chars().take(20).collect(),
            chars,
        });
    }
    Ok(())
}

// A variable's key is a scope tag byte, the scope's ids as fixed-width big-endian integers, then
// the name. The tag tells how many id bytes follow, so the name starts at a known offset and no
// two scopes can produce the same key, whatever the name holds.
const GLOBAL_TAG: u8 = 0;
const SERVER_TAG: u8 = 1;
const USER_TAG: u8 = 2;
const CHANNEL_TAG: u8 = 3;

fn variable_key(scope: &VariableScope, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + 16 + name.len());
    match scope {
        VariableScope::Global => key.push(GLOBAL_TAG),
        VariableScope::Server(server) => {
            key.push(SERVER_TAG);
            key.extend_from_slice(&server.to_be_bytes());
        }
        VariableScope::User { server, user } => {
            key.push(USER_TAG);
            key.extend_from_slice(&server.to_be_bytes());
            key.extend_from_slice(&user.to_be_bytes());
        }
        VariableScope::Channel(channel) => {
            key.push(CHANNEL_TAG);
            key.extend_from_slice(&channel.to_be_bytes());
        }
    }
    key.extend_from_slice(name.as_bytes());
    key
}

fn decode_variable_key(key: &[u8]) -> Option<(VariableScope, String)> {
    fn id(bytes: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
    }
    let (&tag, rest) = key.split_first()?;
    let (scope, name) = match tag {
        GLOBAL_TAG => (VariableScope::Global, rest),
        SERVER_TAG => (VariableScope::Server(id(rest)?), rest.get(8..)?),
        USER_TAG => (
            VariableScope::User {
                server: id(rest)?,
                user: id(rest.get(8..)?)?,
            },
            rest.get(16..)?,
        ),
        CHANNEL_TAG => (VariableScope::Channel(id(rest)?), rest.get(8..)?),
        _ => return None,
    };
    Some((scope, String::from_utf8(name.to_vec()).ok()?))
}

fn step_key(id: RunId, index: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&id.0.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
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

// --- for the delivery engine (`hookbot runs`), apart from the main `impl Store` above ---

impl Store {
    /// Runs, newest first, at most `limit` of those `keep` accepts.
    pub fn runs_newest_first(
        &self,
        limit: usize,
        keep: impl Fn(&Run) -> bool,
    ) -> Result<Vec<Run>, StoreError> {
        let mut found = Vec::new();
        for item in self.runs.iter().rev() {
            if found.len() >= limit {
                break;
            }
            let (_, value) = item?;
            let run: Run = serde_json::from_slice(&value)?;
            if keep(&run) {
                found.push(run);
            }
        }
        Ok(found)
    }

    /// Drops a run's journal from step `index` (0-based) on.
    pub fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError> {
        let range = step_key(id, index)..=step_key(id, u32::MAX);
        for key in self.steps.range(range).keys() {
            self.steps.remove(key?)?;
        }
        Ok(())
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
    fn steps_come_back_in_order_per_run() {
        use crate::run::StepOutcome;
        let (_dir, store) = temp_store();
        let step = |path: &str| Step {
            path: path.into(),
            action: "stop".into(),
            line: 0,
            started_at_ms: 0,
            duration_ms: 0,
            outcome: StepOutcome::Waiting { until_ms: 1 },
            warnings: vec![],
            channel: None,
        };
        // Index 256 would sort before 2 if keys were not fixed-width big-endian.
        store.append_step(RunId(1), 256, &step("c")).unwrap();
        store.append_step(RunId(1), 0, &step("a")).unwrap();
        store.append_step(RunId(1), 2, &step("b")).unwrap();
        store.append_step(RunId(2), 0, &step("other")).unwrap();
        let paths: Vec<String> = store
            .steps(RunId(1))
            .unwrap()
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(paths, ["a", "b", "c"]);
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

    const EVERY_SCOPE: [VariableScope; 6] = [
        VariableScope::Global,
        VariableScope::Server(1),
        VariableScope::Server(2),
        VariableScope::User { server: 1, user: 2 },
        VariableScope::User { server: 2, user: 1 },
        VariableScope::Channel(1),
    ];

    #[test]
    fn variables_set_get_delete_in_every_scope() {
        let (_dir, store) = temp_store();
        for scope in &EVERY_SCOPE {
            assert_eq!(store.variable(scope, "count").unwrap(), None);
            store.set_variable(scope, "count", "1").unwrap();
            assert_eq!(
                store.variable(scope, "count").unwrap().as_deref(),
                Some("1")
            );
            store.set_variable(scope, "count", "2").unwrap();
            assert_eq!(
                store.variable(scope, "count").unwrap().as_deref(),
                Some("2")
            );
            assert!(store.delete_variable(scope, "count").unwrap());
            assert!(!store.delete_variable(scope, "count").unwrap());
            assert_eq!(store.variable(scope, "count").unwrap(), None);
        }
    }

    #[test]
    fn scopes_do_not_collide() {
        let (_dir, store) = temp_store();
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            store.set_variable(scope, "x", &i.to_string()).unwrap();
        }
        // A name that spells another scope's ids must not reach that scope's value.
        let mut spelled = String::from_utf8(vec![0; 7]).unwrap();
        spelled.push('\u{1}');
        spelled.push('x');
        store
            .set_variable(&VariableScope::Global, &spelled, "global")
            .unwrap();
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert_eq!(store.variable(scope, "x").unwrap(), Some(i.to_string()));
        }
        let all = store.variables().unwrap();
        assert_eq!(all.len(), EVERY_SCOPE.len() + 1);
        assert!(all.contains(&(VariableScope::Global, spelled, "global".into())));
        for (i, scope) in EVERY_SCOPE.iter().enumerate() {
            assert!(all.contains(&(*scope, "x".into(), i.to_string())));
        }
    }

    #[test]
    fn variable_limits() {
        let (_dir, store) = temp_store();
        let scope = VariableScope::Global;
        let longest = "n".repeat(MAX_VARIABLE_NAME_CHARS);
        store.set_variable(&scope, &longest, "ok").unwrap();
        let error = store
            .set_variable(&scope, &format!("{longest}n"), "v")
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::VariableNameTooLong { chars: 65, .. }
        ));
        assert!(error.to_string().contains("at most 64"), "{error}");
        assert!(matches!(
            store.set_variable(&scope, "", "v"),
            Err(StoreError::EmptyVariableName)
        ));
        let biggest = "v".repeat(MAX_VARIABLE_VALUE_BYTES);
        store.set_variable(&scope, "big", &biggest).unwrap();
        let error = store
            .set_variable(&scope, "big", &format!("{biggest}v"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the value for variable \"big\" is 16385 bytes; at most 16384 are allowed"
        );
        assert_eq!(store.variable(&scope, "big").unwrap(), Some(biggest));
    }

    #[tokio::test]
    async fn variables_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path).unwrap();
        for scope in &EVERY_SCOPE {
            store
                .set_variable(scope, "greeting", &format!("hello {scope}"))
                .unwrap();
        }
        store
            .delete_variable(&VariableScope::Global, "greeting")
            .unwrap();
        store.flush().await.unwrap();
        let before = store.variables().unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.variables().unwrap(), before);
        assert_eq!(
            store.variable(&VariableScope::Global, "greeting").unwrap(),
            None
        );
        assert_eq!(
            store
                .variable(&VariableScope::User { server: 1, user: 2 }, "greeting")
                .unwrap()
                .as_deref(),
            Some("hello user 2 in server 1")
        );
    }

    #[test]
    fn scopes_serialise_readably() {
        let user = VariableScope::User { server: 1, user: 2 };
        let json = serde_json::to_string(&user).unwrap();
        assert_eq!(json, r#"{"user":{"server":1,"user":2}}"#);
        assert_eq!(serde_json::from_str::<VariableScope>(&json).unwrap(), user);
        assert_eq!(
            serde_json::to_string(&VariableScope::Global).unwrap(),
            r#""global""#
        );
    }

    #[tokio::test]
    async fn api_key_hash_roundtrip() {
        let (_dir, store) = temp_store();
        assert_eq!(store.api_key_hash().unwrap(), None);
        store.set_api_key_hash([7; 32]).await.unwrap();
        assert_eq!(store.api_key_hash().unwrap(), Some([7; 32]));
    }
}
