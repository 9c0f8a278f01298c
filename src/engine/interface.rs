//! The one trait every storage engine implements, in domain words.

use std::sync::Arc;
use std::time::Duration;

use super::coordination::{Change, Lease};
use super::error::StoreError;
use super::records::{
    Accepted, EventRevision, Idempotency, IdempotencyKey, IdempotencyRecord, Pruned,
    ReplacedEvents, RunFilter, ScheduleDue, StoredAnswer, VariableScope,
};
use crate::events::Event;
use crate::run::{Run, RunId, Step};

/// A storage engine. Methods are async because a networked engine waits on its server;
/// `async_trait` keeps the trait object-safe, so the engine is chosen at start, not compiled in.
///
/// Every write a caller relies on as one thing is one call: a run, its queue entry and its
/// idempotency key are one commit ([`accept_run`](Engine::accept_run)).
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    // --- durability ---

    /// Waits until everything written so far is durable. Concurrent callers may share the work.
    async fn flush(&self) -> Result<(), StoreError>;

    /// Whether the database takes writes now: a write, removed and made durable (`/readyz`).
    async fn check_writable(&self) -> Result<(), StoreError>;

    // --- several instances (CONTRACT §8) ---

    /// Whether other processes may share this store (then they choose a leader through it).
    fn is_shared(&self) -> bool;

    /// Waits until this instance leads: holds the Discord gateway and carries out runs. An
    /// embedded store answers at once with a lease never lost. The wait can be dropped.
    async fn lead(&self) -> Result<Lease, StoreError>;

    /// What instances sharing the store change from now on: runs queued, definitions and
    /// settings replaced. An embedded store has no other instance and announces only this
    /// process's own replaced definitions.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;

    // --- event definitions and their revisions ---

    /// Makes `events` the whole set of served definitions, at once for every reader, and keeps
    /// each new or changed definition as a new revision (at most [`MAX_REVISIONS_PER_EVENT`](super::MAX_REVISIONS_PER_EVENT)).
    async fn replace_events(&self, events: &[Event]) -> Result<ReplacedEvents, StoreError>;

    /// An event definition, shared: a run does not decode it or recompile its regexes again.
    async fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError>;

    /// Every served definition.
    async fn events(&self) -> Result<Vec<Event>, StoreError>;

    /// An event's accepted versions, oldest first.
    async fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError>;

    // --- settings ---

    async fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError>;

    /// Replaces the key hash, durably, so a printed key is never lost.
    async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError>;

    /// Keeps the key hash only if there is none yet, durably, and says whether it did: of
    /// several instances starting together on an empty database, exactly one makes the key.
    async fn create_api_key_hash(&self, hash: [u8; 32]) -> Result<bool, StoreError>;

    /// The web console's key hash (`hookbot console key`); `None` until one was made.
    async fn console_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError>;

    /// Replaces the console key hash, durably, so a printed key is never lost.
    async fn set_console_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError>;

    /// The bot's id, remembered for commands that run without Discord.
    async fn bot_id(&self) -> Result<Option<u64>, StoreError>;

    async fn set_bot_id(&self, id: u64) -> Result<(), StoreError>;

    /// This install's id: random, made when the database was created and kept in its settings.
    /// Run ids and message nonces carry it, so a fresh database (or a second install with the
    /// same token) never repeats the nonces that Discord saw from another one.
    fn install_id(&self) -> u128;

    /// Takes another install's id as this store's own, so runs imported from it resume with the
    /// message nonces they had there, and hands out run counters from `next_counter` on, so no
    /// new run id repeats an imported one. Only a store that holds no run yet adopts (the
    /// answer says whether it did); a process that has the store open uses the adopted id from
    /// its next start.
    async fn adopt_install(&self, install_id: u128, next_counter: u64) -> Result<bool, StoreError>;

    // --- variables (set_variable, delete_variable and {var.NAME}) ---
    //
    // Writes are not made durable one by one: the run that made them checkpoints, and that
    // flush takes them along.

    async fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError>;

    /// Sets a variable, checked against the limits ([`check_variable`](super::check_variable)).
    async fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError>;

    /// Removes a variable; false when there was none.
    async fn delete_variable(&self, scope: &VariableScope, name: &str) -> Result<bool, StoreError>;

    /// Every variable, ordered by scope (global, servers, users, channels) and then name.
    async fn variables(&self) -> Result<Vec<(VariableScope, String, String)>, StoreError>;

    // --- runs and the pending queue ---

    /// A new run id, larger than every id handed out before: ids order runs by arrival.
    async fn next_run_id(&self) -> Result<RunId, StoreError>;

    /// Records a run and queues it, durably, unless `once`'s key was seen for the run's event
    /// within [`IDEMPOTENCY_WINDOW`](super::IDEMPOTENCY_WINDOW): then nothing is written and the first record comes back.
    /// The key's record is written in the same commit as the run, so two requests with one key
    /// never both start a run. Either way, when this returns Ok what it answers is durable.
    async fn accept_run(
        &self,
        run: &Run,
        once: Option<Idempotency<'_>>,
    ) -> Result<Accepted, StoreError>;

    async fn run(&self, id: RunId) -> Result<Option<Run>, StoreError>;

    /// Checkpoints a run in progress. A queued run's next attempt time is kept with its queue
    /// entry, so the retry schedule is rebuilt from the queue alone.
    async fn save_run(&self, run: &Run) -> Result<(), StoreError>;

    /// Saves a finished run and takes it off the queue.
    async fn finish_run(&self, run: &Run) -> Result<(), StoreError>;

    /// Takes a run off the queue without touching its record.
    async fn forget_pending(&self, id: RunId) -> Result<(), StoreError>;

    /// Queued runs, oldest first, at most `limit`.
    async fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError>;

    /// Queued runs whose id is `from` or later, oldest first, at most `limit`: the executor's
    /// claims read on from where the last one stopped instead of walking every parked run.
    async fn pending_runs_from(&self, from: RunId, limit: usize) -> Result<Vec<RunId>, StoreError>;

    /// Runs accepted and not finished.
    async fn pending_count(&self) -> Result<u64, StoreError>;

    /// The queued runs waiting for a retry, with the time (unix ms) of their next attempt.
    async fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError>;

    /// Runs newest first, as `filter` asks.
    async fn runs_newest_first(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError>;

    // --- a run's journal ---

    /// Journals a run's step `index` (0-based). Not durable by itself: the run's own
    /// checkpoint is.
    async fn append_step(&self, id: RunId, index: u32, step: &Step) -> Result<(), StoreError>;

    /// A run's journal, in order.
    async fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError>;

    /// Drops a run's journal from step `index` (0-based) on.
    async fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError>;

    // --- idempotency keys ---

    /// The record of an idempotency key seen within [`IDEMPOTENCY_WINDOW`](super::IDEMPOTENCY_WINDOW) before `now_ms`.
    async fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Replaces the answer a key's request got (a `?wait=true` request's final answer), if the
    /// key still stands for `run`. Not durable by itself: losing it costs only a less precise
    /// replay.
    async fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError>;

    // --- moving a store (`hookbot export` / `hookbot import`) ---

    /// Every idempotency key kept (expired or not), with the event it belongs to.
    async fn idempotency_records(
        &self,
    ) -> Result<Vec<(String, Vec<u8>, IdempotencyRecord)>, StoreError>;

    /// Keeps a key's record as another store had it, unless this store has the key already;
    /// true when written. Durable with the next [`flush`](Engine::flush).
    async fn restore_idempotency(
        &self,
        key: IdempotencyKey<'_>,
        record: &IdempotencyRecord,
    ) -> Result<bool, StoreError>;

    /// Keeps one of an event's revisions as another store had it, unless this store has that
    /// revision number of the event already; true when written. Durable with the next flush.
    async fn restore_revision(
        &self,
        event_id: &str,
        revision: &EventRevision,
    ) -> Result<bool, StoreError>;

    // --- retention ---

    /// Deletes finished runs (with their journals) that finished more than `keep_for` before
    /// `now_ms` or are beyond the newest `keep_count` finished runs, and idempotency keys older
    /// than [`IDEMPOTENCY_WINDOW`](super::IDEMPOTENCY_WINDOW). A queued run is never deleted.
    async fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError>;

    // --- triggers: schedules and buttons ---

    /// Every schedule event's next due time, as [`set_schedule_due`](Engine::set_schedule_due)
    /// left it.
    async fn schedule_dues(&self) -> Result<Vec<(String, ScheduleDue)>, StoreError>;

    /// Keeps (or, with `None`, forgets) an event's next due time, durably when it returns: a
    /// restart then neither skips nor repeats a fire.
    async fn set_schedule_due(
        &self,
        event_id: &str,
        due: Option<&ScheduleDue>,
    ) -> Result<(), StoreError>;

    /// Every button value kept (key, value), for an export.
    async fn button_values(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// The value kept under `key` for a button whose value did not fit its `custom_id`.
    async fn button_value(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Keeps a button's value under `key` (derived from the value, so writing it again changes
    /// nothing), durably when it returns: the message carrying the button may be sent next.
    async fn keep_button_value(&self, key: &str, value: &str) -> Result<(), StoreError>;
}
