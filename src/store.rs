//! The sled database behind one type: events, the API key hash, runs, the pending queue and
//! the variables events keep between runs.
//!
//! Nothing else in hookbot names sled; callers ask in domain words.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::events::Event;
use crate::run::{unix_now_ms, Run, RunId, RunStatus, Step};

const EVENTS_TREE: &str = "events";
/// Every accepted version of each event: key = event id, 0x00, revision (4 bytes, big-endian).
const REVISIONS_TREE: &str = "event_revisions";
const RUNS_TREE: &str = "runs";
const PENDING_TREE: &str = "pending";
/// A run's journal: key = run id (8 bytes, big-endian) + step index (4 bytes, big-endian).
const STEPS_TREE: &str = "steps";
const META_TREE: &str = "meta";
const VARIABLES_TREE: &str = "variables";
/// Idempotency keys: key = event id + 0 + the caller's key; value = an [`IdempotencyRecord`].
const IDEMPOTENCY_TREE: &str = "idempotency";
const API_KEY_HASH: &str = "api_key_sha256";
const BOT_ID: &str = "bot_id";
/// Written and removed again by [`Store::check_writable`].
const WRITE_PROBE: &str = "write_probe";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {0} is in use by another hookbot process; stop it first")]
    Locked(PathBuf),
    #[error("cannot open the database at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    #[error("the database at {path} cannot be read ({detail}): it is damaged or was written by an incompatible version of hookbot. Restore the folder from a backup, or move it aside (e.g. rename it to {}.broken) to start with an empty database", .path.display())]
    Unreadable { path: PathBuf, detail: String },
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

/// How long an idempotency key is remembered: a request repeating it within this time gets the
/// first answer again and starts no run.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// An answer the webhook gave, kept so a repeated request gets it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// What an idempotency key stands for: the run it started and the answer it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub run: RunId,
    pub accepted_at_ms: u64,
    pub answer: StoredAnswer,
}

impl IdempotencyRecord {
    fn expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.accepted_at_ms) >= IDEMPOTENCY_WINDOW.as_millis() as u64
    }
}

/// A caller's idempotency key for one event.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    pub event_id: &'a str,
    pub key: &'a [u8],
}

impl IdempotencyKey<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.event_id.len() + 1 + self.key.len());
        out.extend_from_slice(self.event_id.as_bytes());
        out.push(0);
        out.extend_from_slice(self.key);
        out
    }
}

/// What [`Store::accept_run_once`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// The run is recorded and queued.
    New,
    /// The key was seen within [`IDEMPOTENCY_WINDOW`]: no run was started; this is the first one.
    Replay(IdempotencyRecord),
}

/// What [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: u64,
    pub idempotency_keys: u64,
}

/// sled's page cache. Its default (1 GiB) lets every record ever read stay in memory, and a
/// restart with a long queue reads every queued run once; 16 MiB keeps hookbot small while the
/// hot records (events, the newest runs) stay cached.
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// How many versions of one event are kept.
pub const MAX_REVISIONS_PER_EVENT: usize = 50;

/// What [`Store::replace_events`] changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplacedEvents {
    pub added_or_changed: Vec<String>,
    pub removed: Vec<String>,
}

/// One accepted version of an event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRevision {
    /// 1 for the first version, counting up.
    pub revision: u32,
    pub accepted_at_ms: u64,
    pub event: Event,
}

fn decode_revision(key: &[u8]) -> u32 {
    key.len()
        .checked_sub(4)
        .and_then(|start| key[start..].try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

/// A cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    events: sled::Tree,
    revisions: sled::Tree,
    runs: sled::Tree,
    pending: sled::Tree,
    steps: sled::Tree,
    meta: sled::Tree,
    variables: sled::Tree,
    idempotency: sled::Tree,
    /// Decoded event definitions, shared by every clone of the handle.
    loaded_events: Arc<RwLock<HashMap<String, Arc<Event>>>>,
    /// Runs in the `pending` tree, counted once at open and kept up to date by every writer.
    pending_count: Arc<AtomicU64>,
    commit: Arc<GroupCommit>,
}

/// Group commit: writers take a ticket after writing and wait for a flush that started after
/// their ticket; one of them (the leader) flushes for everyone waiting.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<CommitState>,
    done: tokio::sync::Notify,
    flushes: AtomicU64,
}

#[derive(Default)]
struct CommitState {
    /// The last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is on disk.
    durable: u64,
    /// The tickets the flush in progress covers, if one is in progress.
    flushing: Option<u64>,
    /// Failed flushes so far, the highest ticket one of them covered, and the last error.
    failures: u64,
    failed_through: u64,
    last_error: Option<sled::Error>,
}

/// Puts things right when a leader's flush is dropped half-way (its request went away):
/// another waiter takes over.
struct LeaderGuard<'a> {
    commit: &'a GroupCommit,
    armed: bool,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.commit.state.lock().expect("commit lock").flushing = None;
            self.commit.done.notify_waiters();
        }
    }
}

impl GroupCommit {
    /// Waits until everything written before this call is on disk.
    async fn flush(&self, db: &sled::Db) -> Result<(), StoreError> {
        let ticket = {
            let mut state = self.state.lock().expect("commit lock");
            state.issued += 1;
            state.issued
        };
        let mut waited_on: Option<u64> = None;
        loop {
            let notified = self.done.notified();
            let mut notified = std::pin::pin!(notified);
            let target = {
                let mut state = self.state.lock().expect("commit lock");
                if state.durable >= ticket {
                    return Ok(());
                }
                if let Some(failures) = waited_on {
                    if state.failures > failures && state.failed_through >= ticket {
                        let error = state.last_error.clone().unwrap_or_else(|| {
                            sled::Error::ReportableBug("flush failed".to_owned())
                        });
                        return Err(StoreError::Sled(error));
                    }
                }
                match state.flushing {
                    Some(covers) => {
                        // Wait for the flush in progress; if it covers this ticket, its outcome
                        // is ours, else lead (or join) the next one.
                        waited_on = (covers >= ticket).then_some(state.failures);
                        notified.as_mut().enable();
                        None
                    }
                    None => {
                        state.flushing = Some(state.issued);
                        Some(state.issued)
                    }
                }
            };
            let Some(target) = target else {
                notified.await;
                continue;
            };
            let mut guard = LeaderGuard {
                commit: self,
                armed: true,
            };
            self.flushes.fetch_add(1, Ordering::Relaxed);
            let result = db.flush_async().await;
            guard.armed = false;
            {
                let mut state = self.state.lock().expect("commit lock");
                state.flushing = None;
                match &result {
                    Ok(_) => state.durable = state.durable.max(target),
                    Err(error) => {
                        state.failures += 1;
                        state.failed_through = state.failed_through.max(target);
                        state.last_error = Some(error.clone());
                    }
                }
            }
            self.done.notify_waiters();
            return result.map(|_| ()).map_err(StoreError::Sled);
        }
    }
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
        let open_error = |source: sled::Error| match &source {
            // sled reports the failed file lock only in its message.
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::Locked(path.to_owned())
            }
            sled::Error::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
                ) =>
            {
                StoreError::Unreadable {
                    path: path.to_owned(),
                    detail: io.to_string(),
                }
            }
            // Corrupted segments, a garbled `conf` file, or one from another sled version.
            sled::Error::Corruption { .. }
            | sled::Error::Unsupported(_)
            | sled::Error::ReportableBug(_) => StoreError::Unreadable {
                path: path.to_owned(),
                detail: source.to_string(),
            },
            _ => StoreError::Open {
                path: path.to_owned(),
                source,
            },
        };
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(open_error)?;
        Store::from_db(db).map_err(|error| match error {
            StoreError::Sled(source) => open_error(source),
            StoreError::Decode(source) => StoreError::Unreadable {
                path: path.to_owned(),
                detail: source.to_string(),
            },
            other => other,
        })
    }

    fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        let pending = db.open_tree(PENDING_TREE)?;
        // Walks the tree once; every writer keeps the count from here on.
        let mut pending_count = 0u64;
        for key in pending.iter().keys() {
            key?;
            pending_count += 1;
        }
        Ok(Store {
            events: db.open_tree(EVENTS_TREE)?,
            revisions: db.open_tree(REVISIONS_TREE)?,
            runs: db.open_tree(RUNS_TREE)?,
            pending,
            steps: db.open_tree(STEPS_TREE)?,
            meta: db.open_tree(META_TREE)?,
            variables: db.open_tree(VARIABLES_TREE)?,
            idempotency: db.open_tree(IDEMPOTENCY_TREE)?,
            loaded_events: Arc::default(),
            pending_count: Arc::new(AtomicU64::new(pending_count)),
            commit: Arc::default(),
            db,
        })
    }

    /// A database that lives in memory and is gone when dropped: for dry runs while another
    /// process holds the real one.
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Store::from_db(db)
    }

    /// Waits until everything written so far is on disk. Concurrent callers share flushes: each
    /// waits for the next flush that starts after its call, and one of them does it for all.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.commit.flush(&self.db).await
    }

    /// Whether the database takes writes now: a key written, removed and flushed (`/readyz`).
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        self.meta.insert(WRITE_PROBE, &[1u8][..])?;
        self.meta.remove(WRITE_PROBE)?;
        self.flush().await
    }

    /// How many flushes this database has done since it was opened (for tests and metrics).
    pub fn flush_count(&self) -> u64 {
        self.commit.flushes.load(Ordering::Relaxed)
    }

    /// Runs accepted and not finished.
    pub fn pending_count(&self) -> u64 {
        self.pending_count.load(Ordering::Relaxed)
    }

    fn pending_removed(&self, removed: bool) {
        if removed {
            let _ = self
                .pending_count
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(1))
                });
        }
    }

    // --- events ---

    /// Makes `events` the whole set of served event definitions, at once for every reader, and
    /// keeps each new or changed definition as a new revision.
    pub fn replace_events(&self, events: &[Event]) -> Result<ReplacedEvents, StoreError> {
        let mut replaced = ReplacedEvents::default();
        let mut batch = sled::Batch::default();
        let keep: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        for key in self.events.iter().keys() {
            let key = key?;
            let id = String::from_utf8_lossy(&key).into_owned();
            if !keep.contains(id.as_str()) {
                batch.remove(key);
                replaced.removed.push(id);
            }
        }
        let now_ms = unix_now_ms();
        for event in events {
            let definition = serde_json::to_vec(event)?;
            let unchanged = self
                .events
                .get(event.id.as_bytes())?
                .is_some_and(|stored| stored.as_ref() == definition.as_slice());
            if !unchanged {
                self.add_revision(event, now_ms)?;
                replaced.added_or_changed.push(event.id.clone());
            }
            batch.insert(event.id.as_bytes(), definition);
        }
        self.events.apply_batch(batch)?;
        let mut loaded = self.loaded_events.write().expect("event cache lock");
        loaded.clear();
        loaded.extend(events.iter().map(|e| (e.id.clone(), Arc::new(e.clone()))));
        Ok(replaced)
    }

    fn add_revision(&self, event: &Event, at_ms: u64) -> Result<(), StoreError> {
        let mut prefix = event.id.as_bytes().to_vec();
        prefix.push(0);
        let last = self
            .revisions
            .scan_prefix(&prefix)
            .keys()
            .next_back()
            .transpose()?;
        let revision = last.map_or(1, |key| decode_revision(&key) + 1);
        let mut key = prefix.clone();
        key.extend_from_slice(&revision.to_be_bytes());
        let record = EventRevision {
            revision,
            accepted_at_ms: at_ms,
            event: event.clone(),
        };
        self.revisions.insert(key, serde_json::to_vec(&record)?)?;
        // Only the newest are kept: a file saved every minute for a year must not fill the disk.
        let count = self.revisions.scan_prefix(&prefix).count();
        if count > MAX_REVISIONS_PER_EVENT {
            for old in self
                .revisions
                .scan_prefix(&prefix)
                .keys()
                .take(count - MAX_REVISIONS_PER_EVENT)
            {
                self.revisions.remove(old?)?;
            }
        }
        Ok(())
    }

    /// An event's accepted versions, oldest first (at most [`MAX_REVISIONS_PER_EVENT`]).
    pub fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError> {
        let mut prefix = id.as_bytes().to_vec();
        prefix.push(0);
        self.revisions
            .scan_prefix(prefix)
            .values()
            .map(|value| Ok(serde_json::from_slice(&value?)?))
            .collect()
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
        let placeholder = StoredAnswer {
            status: 200,
            body: serde_json::Value::Null,
        };
        self.accept_run_once(run, None, &placeholder).await?;
        Ok(())
    }

    /// Records a new run and queues it, durably, unless `key` was seen for the run's event
    /// within [`IDEMPOTENCY_WINDOW`]: then nothing is written and the first record comes back.
    /// The key's record (with `answer`) is written in the same transaction as the run, so two
    /// requests with one key never both start a run. Either way, when this returns Ok what it
    /// answers is on disk.
    pub async fn accept_run_once(
        &self,
        run: &Run,
        key: Option<IdempotencyKey<'_>>,
        answer: &StoredAnswer,
    ) -> Result<Accepted, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let run_key = run.id.0.to_be_bytes();
        let value = serde_json::to_vec(run)?;
        let idempotency = match key {
            Some(key) => Some((
                key.encode(),
                serde_json::to_vec(&IdempotencyRecord {
                    run: run.id,
                    accepted_at_ms: run.received_at_ms,
                    answer: answer.clone(),
                })?,
            )),
            None => None,
        };
        let now_ms = run.received_at_ms;
        let outcome =
            (&self.runs, &self.pending, &self.idempotency).transaction(|(runs, pending, keys)| {
                if let Some((key, record)) = &idempotency {
                    if let Some(existing) = keys.get(key)? {
                        // An unreadable record is treated as absent: it is overwritten.
                        if let Ok(existing) = serde_json::from_slice::<IdempotencyRecord>(&existing)
                        {
                            if !existing.expired(now_ms) {
                                return Err(ConflictableTransactionError::Abort(existing));
                            }
                        }
                    }
                    keys.insert(key.as_slice(), record.as_slice())?;
                }
                runs.insert(&run_key, value.as_slice())?;
                Ok(pending.insert(&run_key, &[])?.is_none())
            });
        let accepted = match outcome {
            Ok(new_in_queue) => {
                if new_in_queue {
                    self.pending_count.fetch_add(1, Ordering::Relaxed);
                }
                Accepted::New
            }
            Err(TransactionError::Abort(first)) => Accepted::Replay(first),
            Err(TransactionError::Storage(error)) => return Err(StoreError::Sled(error)),
        };
        // A replay waits too: the first request may not have reached the disk yet.
        self.flush().await?;
        Ok(accepted)
    }

    /// The record of an idempotency key seen within [`IDEMPOTENCY_WINDOW`] before `now_ms`.
    pub fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(
            get_json::<IdempotencyRecord>(&self.idempotency, &key.encode())?
                .filter(|record| !record.expired(now_ms)),
        )
    }

    /// Replaces the answer a key's request got (a `?wait=true` request's final answer), if the
    /// key still stands for `run`. Not flushed: losing it costs only a less precise replay.
    pub fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let key = key.encode();
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

    pub fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        get_json(&self.runs, &id.0.to_be_bytes())
    }

    /// Checkpoints a run in progress. A queued run's next attempt time is kept on its queue
    /// entry too, so a restart rebuilds the retry schedule from the small queue alone instead of
    /// reading every queued run.
    pub fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let key = run.id.0.to_be_bytes();
        self.runs.insert(key, serde_json::to_vec(run)?)?;
        if run.status == crate::run::RunStatus::Pending && self.pending.contains_key(key)? {
            let retry_at = run
                .next_attempt_at_ms
                .map(|at| at.to_be_bytes().to_vec())
                .unwrap_or_default();
            self.pending.insert(key, retry_at)?;
        }
        Ok(())
    }

    /// The queued runs waiting for a retry, with the time (unix ms) of their next attempt.
    pub fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        let mut waiting = Vec::new();
        for entry in self.pending.iter() {
            let (key, value) = entry?;
            if let Ok(at) = <[u8; 8]>::try_from(value.as_ref()) {
                waiting.push((RunId(decode_run_key(&key)), u64::from_be_bytes(at)));
            }
        }
        Ok(waiting)
    }

    /// Saves a finished run and takes it off the queue.
    pub fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        self.save_run(run)?;
        let removed = self.pending.remove(run.id.0.to_be_bytes())?.is_some();
        self.pending_removed(removed);
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
        let removed = self.pending.remove(id.0.to_be_bytes())?.is_some();
        self.pending_removed(removed);
        Ok(())
    }

    /// Deletes finished runs (with their journals) that finished more than `keep_for` before
    /// `now_ms` or are beyond the newest `keep_count` finished runs, and idempotency keys older
    /// than [`IDEMPOTENCY_WINDOW`]. A queued run is never deleted. Walks both trees: call it
    /// from a blocking context.
    pub fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let keep_for_ms = keep_for.as_millis() as u64;
        let mut pruned = Pruned::default();
        let mut finished_seen = 0u64;
        // Newest first: run ids grow with time.
        for entry in self.runs.iter().rev() {
            let (key, value) = entry?;
            if self.pending.contains_key(&key)? {
                continue;
            }
            let Ok(run) = serde_json::from_slice::<Run>(&value) else {
                continue;
            };
            if run.status == RunStatus::Pending {
                continue;
            }
            finished_seen += 1;
            let finished_at = run.finished_at_ms.unwrap_or(run.received_at_ms);
            let too_old = now_ms.saturating_sub(finished_at) > keep_for_ms;
            if !too_old && finished_seen <= keep_count {
                continue;
            }
            // Deleted only if still finished, unchanged and off the queue (a retry may have
            // queued it again since it was read).
            let deleted = (&self.runs, &self.pending).transaction(|(runs, pending)| {
                if pending.get(&key)?.is_some() || runs.get(&key)?.as_ref() != Some(&value) {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                runs.remove(&key)?;
                Ok(())
            });
            match deleted {
                Ok(()) => {
                    let mut batch = sled::Batch::default();
                    for step in self.steps.scan_prefix(&key).keys() {
                        batch.remove(step?);
                    }
                    self.steps.apply_batch(batch)?;
                    pruned.runs += 1;
                }
                Err(TransactionError::Abort(())) => {}
                Err(TransactionError::Storage(error)) => return Err(StoreError::Sled(error)),
            }
        }
        for entry in self.idempotency.iter() {
            let (key, value) = entry?;
            let expired = serde_json::from_slice::<IdempotencyRecord>(&value)
                .map_or(true, |record| record.expired(now_ms));
            if expired
                && self
                    .idempotency
                    .compare_and_swap(&key, Some(value), None::<&[u8]>)?
                    .is_ok()
            {
                pruned.idempotency_keys += 1;
            }
        }
        Ok(pruned)
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
    use crate::lang::templates::Variables;

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

    fn new_run(store: &Store, received_at_ms: u64) -> Run {
        Run::new(
            store.next_run_id().unwrap(),
            "e".into(),
            Variables::new(),
            received_at_ms,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_accepts_share_flushes_and_are_durable() {
        const N: usize = 64;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path).unwrap();
        let before = store.flush_count();
        let barrier = Arc::new(tokio::sync::Barrier::new(N));
        let mut tasks = Vec::new();
        for _ in 0..N {
            let (store, barrier) = (store.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let run = new_run(&store, 1);
                barrier.wait().await;
                store.accept_run(&run).await.unwrap();
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

        let store = Store::open(&path).unwrap();
        assert_eq!(store.pending_count(), N as u64);
        for id in ids {
            assert!(store.run(id).unwrap().is_some(), "{id} survived");
        }
    }

    #[tokio::test]
    async fn a_lone_flush_still_flushes() {
        let (_dir, store) = temp_store();
        let before = store.flush_count();
        store.flush().await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(store.flush_count() - before, 2);
    }

    #[tokio::test]
    async fn the_pending_count_follows_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path).unwrap();
        let (a, b, c) = (new_run(&store, 1), new_run(&store, 1), new_run(&store, 1));
        for run in [&a, &b, &c] {
            store.accept_run(run).await.unwrap();
        }
        // Accepting the same run again does not count it twice.
        store.accept_run(&a).await.unwrap();
        assert_eq!(store.pending_count(), 3);
        store.finish_run(&a).unwrap();
        store.finish_run(&a).unwrap();
        store.forget_pending(b.id).unwrap();
        assert_eq!(store.pending_count(), 1);
        store.flush().await.unwrap();
        drop(store);
        assert_eq!(Store::open(&path).unwrap().pending_count(), 1);
    }

    fn answer(n: u64) -> StoredAnswer {
        StoredAnswer {
            status: 200,
            body: serde_json::json!({ "n": n }),
        }
    }

    #[tokio::test]
    async fn an_idempotency_key_starts_one_run_per_event() {
        let (_dir, store) = temp_store();
        let key = IdempotencyKey {
            event_id: "e",
            key: b"k1",
        };
        let first = new_run(&store, 1_000);
        assert_eq!(
            store
                .accept_run_once(&first, Some(key), &answer(1))
                .await
                .unwrap(),
            Accepted::New
        );
        let second = new_run(&store, 2_000);
        match store
            .accept_run_once(&second, Some(key), &answer(2))
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
                .accept_run_once(&other_key, Some(k2), &answer(3))
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
                .accept_run_once(&other_event, Some(elsewhere), &answer(4))
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
                .accept_run_once(&third, Some(key), &answer(5))
                .await
                .unwrap(),
            Accepted::New
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_with_one_key_start_one_run() {
        const N: usize = 16;
        let (_dir, store) = temp_store();
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
                    .accept_run_once(&run, Some(key), &answer(i as u64))
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

    #[tokio::test]
    async fn prune_keeps_pending_runs_and_the_newest() {
        use crate::run::StepOutcome;
        let (_dir, store) = temp_store();
        const HOUR: u64 = 3_600_000;
        let now = 1_000 * HOUR;
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
        let finish = |received: u64, finished: u64| {
            let mut run = new_run(&store, received);
            store
                .runs
                .insert(run.id.0.to_be_bytes(), serde_json::to_vec(&run).unwrap())
                .unwrap();
            store.pending.insert(run.id.0.to_be_bytes(), &[]).unwrap();
            run.status = RunStatus::Succeeded;
            run.finished_at_ms = Some(finished);
            store.finish_run(&run).unwrap();
            store.append_step(run.id, 0, &step).unwrap();
            run.id
        };
        // Oldest first: two finished 3 days ago, three finished within the hour.
        let old_a = finish(now - 72 * HOUR, now - 72 * HOUR);
        let old_b = finish(now - 72 * HOUR, now - 71 * HOUR);
        let recent: Vec<RunId> = (0..3).map(|_| finish(now - HOUR, now - HOUR / 2)).collect();
        // An old run still queued is never pruned.
        let queued = new_run(&store, now - 100 * HOUR);
        store.accept_run(&queued).await.unwrap();
        // An old idempotency key and a fresh one.
        let old_key = IdempotencyKey {
            event_id: "e",
            key: b"old",
        };
        let new_key = IdempotencyKey {
            event_id: "e",
            key: b"new",
        };
        store
            .accept_run_once(&new_run(&store, now - 25 * HOUR), Some(old_key), &answer(1))
            .await
            .unwrap();
        store
            .accept_run_once(&new_run(&store, now - HOUR), Some(new_key), &answer(2))
            .await
            .unwrap();

        // Keep two days, at most two runs: both old ones go by age, the oldest recent by count.
        let pruned = store.prune(Duration::from_secs(48 * 3600), 2, now).unwrap();
        assert_eq!(
            pruned,
            Pruned {
                runs: 3,
                idempotency_keys: 1
            }
        );
        for gone in [old_a, old_b, recent[0]] {
            assert!(store.run(gone).unwrap().is_none());
            assert!(
                store.steps(gone).unwrap().is_empty(),
                "steps of {gone} deleted"
            );
        }
        for kept in [recent[1], recent[2], queued.id] {
            assert!(store.run(kept).unwrap().is_some());
        }
        assert_eq!(store.steps(recent[2]).unwrap().len(), 1);
        assert!(store.idempotency.get(old_key.encode()).unwrap().is_none());
        assert!(store.idempotency.get(new_key.encode()).unwrap().is_some());
        // Nothing more to do.
        assert_eq!(
            store.prune(Duration::from_secs(48 * 3600), 2, now).unwrap(),
            Pruned::default()
        );
    }

    #[test]
    fn a_damaged_database_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        drop(Store::open(&path).unwrap());
        std::fs::write(
            path.join("conf"),
            b"\xff\xfe garbage that is no sled config at all\n",
        )
        .unwrap();
        match Store::open(&path) {
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
        drop(Store::open(&path).unwrap());
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
        match Store::open(&path) {
            Err(StoreError::Unreadable { detail, .. }) => {
                assert!(detail.contains("version"), "{detail}")
            }
            Err(other) => panic!("expected Unreadable, got {other}"),
            Ok(_) => panic!("a database from another version opened"),
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
