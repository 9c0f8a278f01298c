//! The embedded engine: one sled database, a tree per kind of record, and the only module of
//! hookbot that names sled.
//!
//! Each kind of record has its file (`definitions`, `settings`, `variables`, `runs`, `pending`,
//! `retrying`, `idempotency`, `triggers`, `prune`, `commit` for the shared flush, and `journal`, where an
//! accepted run is made durable without a flush of sled and waits until it is taken up); each
//! holds synchronous methods on [`SledEngine`], and the [`Engine`] implementation here hands
//! every call to the method of the same name. sled answers from memory or its page cache in
//! microseconds, so those calls run on the caller's task; only a flush or a journal sync waits,
//! and a prune (which walks whole trees) moves to a blocking thread. Dropping the last handle
//! waits until sled has let go of the database (`Release`), so it can be opened again at once.

mod close;
mod commit;
mod definitions;
mod idempotency;
mod journal;
mod key_cache;
mod pending;
mod prune;
mod retrying;
mod runs;
mod settings;
mod triggers;
/// 16 random bytes in `meta`, made when the database is first opened.
const INSTALL_ID: &str = "install_id";
/// In `meta` once an import adopted another install's id: added to sled's own counter, so new
/// run ids come after the imported ones (8 bytes, big-endian).
const RUN_COUNTER_FLOOR: &str = "run_counter_floor";

/// What [`RUN_COUNTER_FLOOR`] holds; 0 in a database that never adopted an install.
fn load_run_counter_floor(meta: &sled::Tree) -> Result<u64, sled::Error> {
    Ok(meta
        .get(RUN_COUNTER_FLOOR)?
        .as_deref()
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map_or(0, u64::from_be_bytes))
}

/// The database's install id, made (random) and kept the first time it is opened.
fn load_install_id(meta: &sled::Tree) -> Result<u128, sled::Error> {
    let read = |bytes: &[u8]| <[u8; 16]>::try_from(bytes).ok().map(u128::from_be_bytes);
    if let Some(id) = meta.get(INSTALL_ID)?.as_deref().and_then(read) {
        return Ok(id);
    }
    let fresh: u128 = rand::random();
    // Only the first writer's id counts, should two handles race on a new database.
    let _ = meta.compare_and_swap(INSTALL_ID, None::<&[u8]>, Some(&fresh.to_be_bytes()[..]))?;
    Ok(meta
        .get(INSTALL_ID)?
        .as_deref()
        .and_then(read)
        .unwrap_or(fresh))
}

/// Creates the database folder readable by its owner only (0700) whatever the umask: it holds
/// the API key's hash, the variables and every run's data.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new().mode(0o700).create(path)?;
    // `mode` is filtered by the umask, which could only remove bits; set it whole anyway.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Takes group and other permissions off what sled made in the database folder (its files are
/// created 0666 less the umask): files 0600, folders 0700.
fn tighten(path: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            if mode & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o700))?;
            }
            tighten(&entry.path())?;
        } else if meta.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod testing;
mod variables;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::engine::coordination::{Change, Changes, Lease};
use crate::engine::error::StoreError;
use crate::engine::interface::Engine;
use crate::engine::records::{
    Accepted, EventRevision, Idempotency, IdempotencyKey, IdempotencyRecord, Pruned,
    ReplacedEvents, RunFilter, ScheduleDue, StoredAnswer, VariableScope,
};
use crate::events::Event;
use crate::run::{Run, RunId, Step};
use commit::GroupCommit;
use journal::Journal;

const EVENTS_TREE: &str = "events";
/// Every accepted version of each event: key = event id, 0x00, revision (4 bytes, big-endian).
const REVISIONS_TREE: &str = "event_revisions";
const RUNS_TREE: &str = "runs";
/// The queue: key = run id (8 bytes, big-endian); value = empty, or the unix ms of the run's
/// next attempt (8 bytes, big-endian) when it waits for a retry.
const PENDING_TREE: &str = "pending";
/// The queued runs that wait for a retry: key = run id; value = the same time as their queue
/// entry's. A start reads the retry schedule here instead of walking the queue (`retrying`).
const RETRYING_TREE: &str = "retrying";
/// A run's journal: key = run id (8 bytes, big-endian) + step index (4 bytes, big-endian).
const STEPS_TREE: &str = "steps";
const META_TREE: &str = "meta";
const VARIABLES_TREE: &str = "variables";
/// Idempotency keys: key = event id + 0 + the caller's key; value = an [`IdempotencyRecord`].
const IDEMPOTENCY_TREE: &str = "idempotency";
/// Each schedule event's next due time: key = event id; value = a [`ScheduleDue`].
const SCHEDULE_DUES_TREE: &str = "schedule_dues";
/// Finished runs, for retention: key = run id (8 bytes, big-endian); value = when it finished
/// (unix ms, 8 bytes, big-endian). Retention walks it instead of every run's record.
const FINISHED_TREE: &str = "finished";
/// Values of buttons too long for their `custom_id`: key = the value's key; value = JSON text.
const BUTTON_VALUES_TREE: &str = "button_values";

/// sled's page cache. Its default (1 GiB) lets every record ever read stay in memory, and a
/// restart with a long queue reads every queued run once; 16 MiB keeps hookbot small while the
/// hot records (events, the newest runs) stay cached.
pub const CACHE_BYTES: u64 = 16 * 1024 * 1024;

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        StoreError::Engine(Box::new(error))
    }
}

/// A cheap-to-clone handle on one sled database.
#[derive(Clone)]
pub struct SledEngine {
    db: sled::Db,
    events: sled::Tree,
    revisions: sled::Tree,
    runs: sled::Tree,
    pending: sled::Tree,
    retrying: sled::Tree,
    finished: sled::Tree,
    steps: sled::Tree,
    meta: sled::Tree,
    variables: sled::Tree,
    idempotency: sled::Tree,
    schedule_dues: sled::Tree,
    button_values: sled::Tree,
    /// Made once per database and kept in `meta` (see [`Engine::install_id`]).
    install_id: u128,
    /// The API key's hash, kept in memory too: every webhook asks for it.
    api_key: key_cache::ApiKeyCache,
    /// Added to sled's id counter for run ids (see [`RUN_COUNTER_FLOOR`]).
    run_counter_floor: u64,
    /// Decoded event definitions, shared by every clone of the handle.
    loaded_events: Arc<RwLock<HashMap<String, Arc<Event>>>>,
    /// The change feed: this process is the only writer, so it hears its own changes (the
    /// definitions replaced), for the tasks that follow them instead of polling.
    changes: Changes,
    /// Runs in the `pending` tree, counted once at open and kept up to date by every writer.
    pending_count: Arc<AtomicU64>,
    commit: Arc<GroupCommit>,
    /// Where accepted runs are made durable; `None` for a temporary database, which flushes.
    journal: Option<Arc<Journal>>,
    /// One accept at a time where there is no journal (whose lock does it otherwise), so an
    /// idempotency key is checked and written with nothing in between.
    accepts: Arc<std::sync::Mutex<()>>,
    /// After the journal: keeps the queue's length when the last handle goes.
    _keep_queue_length: Option<Arc<close::KeepQueueLength>>,
    /// Last, so it drops after this handle's share of the database: when the last handle goes,
    /// it waits until the database can be opened again.
    _release: Arc<Release>,
}

impl SledEngine {
    /// Opens (or creates) the database, failing clearly when another process holds it.
    pub fn open(path: &Path) -> Result<SledEngine, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                source: Box::new(e),
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
                source: Box::new(source),
            },
        };
        let private = |source: std::io::Error| StoreError::Open {
            path: path.to_owned(),
            source: Box::new(source),
        };
        create_private_dir(path).map_err(private)?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(open_error)?;
        tighten(path).map_err(private)?;
        let engine = SledEngine::from_db(db, Some(path.to_owned())).map_err(open_error)?;
        engine.secure_run_ids().map_err(open_error)?;
        engine.with_journal(&path.join(journal::JOURNAL_DIR))
    }

    /// Reads what the accept journal in `dir` holds: runs sled lacks wait in the journal again,
    /// idempotency keys sled lacks are written back; then the journal starts.
    fn with_journal(mut self, dir: &Path) -> Result<SledEngine, StoreError> {
        let journal_error = |source: sled::Error| StoreError::Open {
            path: dir.to_owned(),
            source: Box::new(source),
        };
        create_private_dir(dir).map_err(|e| journal_error(sled::Error::Io(e)))?;
        let replayed = journal::replay(dir, |frame| self.replay_accept(frame))?;
        let waiting = replayed.waiting() as u64;
        if waiting > 0 {
            tracing::info!(
                runs = waiting,
                "accepted runs not yet taken up wait in the database's accept journal"
            );
            self.pending_count
                .fetch_add(waiting, std::sync::atomic::Ordering::Relaxed);
        }
        let (runs, pending) = (self.runs.clone(), self.pending.clone());
        let move_into_sled: journal::MoveIntoSled =
            Box::new(move |frame| SledEngine::move_into_sled(&runs, &pending, frame));
        self.journal = Some(Journal::start(
            dir,
            self.db.clone(),
            replayed,
            move_into_sled,
        )?);
        self._keep_queue_length = Some(Arc::new(close::KeepQueueLength {
            meta: self.meta.clone(),
            db: self.db.clone(),
            length: self.pending_count.clone(),
            journal_dir: dir.to_owned(),
        }));
        Ok(self)
    }

    /// A database that lives in memory and is gone when dropped.
    pub fn temporary() -> Result<SledEngine, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(SledEngine::from_db(db, None)?)
    }

    fn from_db(db: sled::Db, path: Option<PathBuf>) -> Result<SledEngine, sled::Error> {
        let pending = db.open_tree(PENDING_TREE)?;
        let meta = db.open_tree(META_TREE)?;
        // Every writer keeps the count from here on.
        let pending_count = close::queue_length(&meta, &pending)?;
        if pending.is_empty() {
            // No retry time anywhere in the queue: the index is complete as it is.
            mark_retry_indexed(&meta)?;
        }
        let install_id = load_install_id(&meta)?;
        let run_counter_floor = load_run_counter_floor(&meta)?;
        let runs = db.open_tree(RUNS_TREE)?;
        if runs.is_empty() {
            // A new database: its finished runs will all be indexed as they finish.
            mark_finished_indexed(&meta)?;
        }
        Ok(SledEngine {
            api_key: key_cache::ApiKeyCache::load(&meta)?,
            install_id,
            run_counter_floor,
            events: db.open_tree(EVENTS_TREE)?,
            revisions: db.open_tree(REVISIONS_TREE)?,
            runs,
            pending,
            retrying: db.open_tree(RETRYING_TREE)?,
            finished: db.open_tree(FINISHED_TREE)?,
            steps: db.open_tree(STEPS_TREE)?,
            meta,
            variables: db.open_tree(VARIABLES_TREE)?,
            idempotency: db.open_tree(IDEMPOTENCY_TREE)?,
            schedule_dues: db.open_tree(SCHEDULE_DUES_TREE)?,
            button_values: db.open_tree(BUTTON_VALUES_TREE)?,
            loaded_events: Arc::default(),
            changes: Changes::default(),
            pending_count: Arc::new(AtomicU64::new(pending_count)),
            commit: Arc::default(),
            journal: None,
            _keep_queue_length: None,
            accepts: Arc::default(),
            _release: Arc::new(Release { path }),
            db,
        })
    }
}

impl SledEngine {
    /// Waits until everything written so far is on disk. Concurrent callers share flushes: each
    /// waits for the next flush that starts after its call, and one of them does it for all.
    pub async fn flush(&self) -> Result<(), StoreError> {
        // What waits in the accept journal is made durable there.
        if let Some(journal) = &self.journal {
            journal.sync().await?;
        }
        self.commit.flush(&self.db).await
    }

    /// How many flushes this database has done since it was opened.
    #[cfg(test)]
    fn flush_count(&self) -> u64 {
        self.commit
            .flushes
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// How long dropping the last handle waits for sled to let go of the database.
const RELEASE_DEADLINE: Duration = Duration::from_secs(10);
/// How often it looks at sled's file lock again meanwhile.
const RELEASE_POLL: Duration = Duration::from_millis(1);

/// Dropped with the last handle on a database, after that handle's sled trees: waits until the
/// database can be opened again, so that dropping a store and opening it again (a restart in
/// the same process, an admin command run in-process, a test) never finds it locked.
///
/// sled's own drop is not enough: it flushes, but its I/O threads keep their share of the
/// database, and with it the `flock` on its `db` file, until they have finished the write
/// that flush waited for, which is a moment after the flush saw the write land. Under load that
/// moment is long enough for an open to fail with [`StoreError::Locked`].
struct Release {
    /// The database's folder; `None` for a temporary one, which nobody opens again.
    path: Option<PathBuf>,
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(path) = &self.path else {
            return;
        };
        if let Err(error) = wait_released(path) {
            tracing::warn!(database = %path.display(), %error, "the database is still locked after it was closed");
        }
    }
}

/// Waits until sled's lock on the database at `path` is free, by taking it for a moment:
/// sled holds an exclusive `flock` on the `db` file for as long as anything holds the database.
/// Blocks, like sled's own drop (which flushes and syncs); normally for microseconds.
fn wait_released(path: &Path) -> std::io::Result<()> {
    use fs2::FileExt;
    let until = std::time::Instant::now() + RELEASE_DEADLINE;
    loop {
        let probe = match std::fs::File::open(path.join("db")) {
            Ok(probe) => probe,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        match probe.try_lock_exclusive() {
            // Closing the probe lets go of the lock again.
            Ok(()) => return Ok(()),
            Err(error) if error.kind() != fs2::lock_contended_error().kind() => return Err(error),
            Err(contended) if std::time::Instant::now() >= until => return Err(contended),
            Err(_) => std::thread::sleep(RELEASE_POLL),
        }
    }
}

/// In `meta` once the index of finished runs covers every finished run.
const FINISHED_INDEXED: &str = "finished_indexed";

/// Notes in `meta` that the index of finished runs is complete.
fn mark_finished_indexed(meta: &sled::Tree) -> Result<(), sled::Error> {
    if !meta.contains_key(FINISHED_INDEXED)? {
        meta.insert(FINISHED_INDEXED, &[])?;
    }
    Ok(())
}

/// In `meta` once every retry time in the queue is in the `retrying` index too; a database
/// written by an earlier version has its index built by the first start that asks for the
/// retry schedule (`retrying`).
const RETRY_INDEXED: &str = "retry_times_indexed";

/// Notes in `meta` that the `retrying` index holds every retry time in the queue.
fn mark_retry_indexed(meta: &sled::Tree) -> Result<(), sled::Error> {
    if !meta.contains_key(RETRY_INDEXED)? {
        meta.insert(RETRY_INDEXED, &[])?;
    }
    Ok(())
}

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

fn decode_run_key(key: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = key.len().min(8);
    bytes[8 - n..].copy_from_slice(&key[key.len() - n..]);
    u64::from_be_bytes(bytes)
}

// Each method names the synchronous method of the same name on `SledEngine` (inherent methods
// win over trait methods), which lives in the file for its kind of record.
#[async_trait::async_trait]
impl Engine for SledEngine {
    async fn flush(&self) -> Result<(), StoreError> {
        SledEngine::flush(self).await
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        SledEngine::check_writable(self).await
    }

    fn is_shared(&self) -> bool {
        false
    }

    /// sled's file lock already keeps every other process out: this one always leads.
    async fn lead(&self) -> Result<Lease, StoreError> {
        Ok(Lease::forever())
    }

    /// This process's own changes: no other process can change this database.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    async fn replace_events(&self, events: &[Event]) -> Result<ReplacedEvents, StoreError> {
        SledEngine::replace_events(self, events)
    }

    async fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError> {
        SledEngine::event(self, id)
    }

    async fn events(&self) -> Result<Vec<Event>, StoreError> {
        SledEngine::events(self)
    }

    async fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError> {
        SledEngine::event_revisions(self, id)
    }

    async fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        SledEngine::api_key_hash(self)
    }

    async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        SledEngine::set_api_key_hash(self, hash).await
    }

    async fn create_api_key_hash(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        SledEngine::create_api_key_hash(self, hash).await
    }

    async fn console_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        SledEngine::console_key_hash(self)
    }

    async fn set_console_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        SledEngine::set_console_key_hash(self, hash).await
    }

    async fn bot_id(&self) -> Result<Option<u64>, StoreError> {
        SledEngine::bot_id(self)
    }

    async fn set_bot_id(&self, id: u64) -> Result<(), StoreError> {
        SledEngine::set_bot_id(self, id)
    }

    async fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        SledEngine::variable(self, scope, name)
    }

    async fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        SledEngine::set_variable(self, scope, name, value)
    }

    async fn delete_variable(&self, scope: &VariableScope, name: &str) -> Result<bool, StoreError> {
        SledEngine::delete_variable(self, scope, name)
    }

    async fn variables(&self) -> Result<Vec<(VariableScope, String, String)>, StoreError> {
        SledEngine::variables(self)
    }

    fn install_id(&self) -> u128 {
        self.install_id
    }

    async fn adopt_install(&self, install_id: u128, next_counter: u64) -> Result<bool, StoreError> {
        SledEngine::adopt_install(self, install_id, next_counter).await
    }

    async fn next_run_id(&self) -> Result<RunId, StoreError> {
        SledEngine::next_run_id(self)
    }

    async fn accept_run(
        &self,
        run: &Run,
        once: Option<Idempotency<'_>>,
    ) -> Result<Accepted, StoreError> {
        SledEngine::accept_run(self, run, once).await
    }

    async fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        SledEngine::run(self, id)
    }

    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        SledEngine::save_run(self, run)
    }

    async fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        SledEngine::finish_run(self, run)
    }

    async fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        SledEngine::forget_pending(self, id)
    }

    async fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        SledEngine::pending_runs(self, limit)
    }

    async fn pending_runs_from(&self, from: RunId, limit: usize) -> Result<Vec<RunId>, StoreError> {
        SledEngine::pending_runs_from(self, from, limit)
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        Ok(SledEngine::pending_count(self))
    }

    async fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        SledEngine::pending_retry_times(self)
    }

    async fn runs_newest_first(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        SledEngine::runs_newest_first(self, filter)
    }

    async fn append_step(&self, id: RunId, index: u32, step: &Step) -> Result<(), StoreError> {
        SledEngine::append_step(self, id, index, step)
    }

    async fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError> {
        SledEngine::steps(self, id)
    }

    async fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError> {
        SledEngine::drop_steps_from(self, id, index)
    }

    async fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        SledEngine::idempotency_record(self, key, now_ms)
    }

    async fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        SledEngine::set_idempotent_answer(self, key, run, answer)
    }

    async fn idempotency_records(
        &self,
    ) -> Result<Vec<(String, Vec<u8>, IdempotencyRecord)>, StoreError> {
        SledEngine::idempotency_records(self)
    }

    async fn restore_idempotency(
        &self,
        key: IdempotencyKey<'_>,
        record: &IdempotencyRecord,
    ) -> Result<bool, StoreError> {
        SledEngine::restore_idempotency(self, key, record)
    }

    async fn restore_revision(
        &self,
        event_id: &str,
        revision: &EventRevision,
    ) -> Result<bool, StoreError> {
        SledEngine::restore_revision(self, event_id, revision)
    }

    async fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError> {
        // Walks whole trees: off the async threads.
        let engine = self.clone();
        tokio::task::spawn_blocking(move || engine.prune(keep_for, keep_count, now_ms))
            .await
            .map_err(|error| StoreError::Engine(Box::new(error)))?
    }

    async fn schedule_dues(&self) -> Result<Vec<(String, ScheduleDue)>, StoreError> {
        SledEngine::schedule_dues(self)
    }

    async fn set_schedule_due(
        &self,
        event_id: &str,
        due: Option<&ScheduleDue>,
    ) -> Result<(), StoreError> {
        SledEngine::set_schedule_due(self, event_id, due).await
    }

    async fn button_values(&self) -> Result<Vec<(String, String)>, StoreError> {
        SledEngine::button_values(self)
    }

    async fn button_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        SledEngine::button_value(self, key)
    }

    async fn keep_button_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        SledEngine::keep_button_value(self, key, value).await
    }
}

#[cfg(test)]
mod tests;
