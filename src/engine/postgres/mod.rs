//! The PostgreSQL engine: the records of [`Engine`] in the schema `hookbot` of one PostgreSQL
//! database, shared by every hookbot instance whose `storage.url` names it. The only module of
//! hookbot that names tokio-postgres.
//!
//! Each kind of record has its file (`definitions`, `settings`, `variables`, `runs`, `pending`,
//! `idempotency`, `prune`), each holding async methods on [`PostgresEngine`]; `migrate` keeps the
//! schema at the version this hookbot knows, from the numbered SQL files in `migrations/`. Every
//! write is committed before the call returns (PostgreSQL's own durability, `synchronous_commit`
//! as the server sets it), so [`Engine::flush`] has nothing left to do. Where records must change
//! together (a run, its queue entry and its idempotency key) they are one transaction.
//!
//! Connections come from a bounded pool ([`POOL_SIZE`]); a checkout waits at most
//! [`POOL_WAIT`], and opening a connection at most [`CONNECT_TIMEOUT`], so an unreachable server
//! answers every call with an error within seconds (a webhook then gets 503 and `Retry-After`)
//! instead of holding requests. Every connection speaks TLS as `sslmode` in the URL asks
//! ([`tls`]).

mod coordination;
mod definitions;
mod failure;
mod idempotency;
mod migrate;
mod pending;
mod prune;
mod runs;
mod settings;
mod tls;
mod triggers;
mod variables;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use coordination::Coordination;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use failure::failure;

use crate::engine::coordination::{Change, Lease};
use crate::engine::error::StoreError;
use crate::engine::interface::Engine;
use crate::engine::records::{
    Accepted, EventRevision, Idempotency, IdempotencyKey, IdempotencyRecord, Pruned,
    ReplacedEvents, RunFilter, ScheduleDue, StoredAnswer, VariableScope,
};
use crate::events::Event;
use crate::run::{Run, RunId, Step};

/// Connections one instance holds at most: the webhook listener's accepts, the executor's
/// workers and the admin calls share them. PostgreSQL's default `max_connections` is 100, so a
/// few instances fit with room for the operator's own.
pub const POOL_SIZE: usize = 16;
/// How long a call waits for a free connection before it fails (and a webhook gets 503).
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// How long opening one connection may take (TCP, startup, authentication).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the queue length counted from the database is reused before it is counted again
/// (the pending count is asked for at every webhook): the backpressure bound is exact for this
/// instance's own accepts, and may lag other instances' by this much.
const PENDING_COUNT_TTL: Duration = Duration::from_millis(200);

/// A cheap-to-clone handle on one PostgreSQL database.
#[derive(Clone)]
pub struct PostgresEngine {
    pool: Pool,
    /// Made once per database and kept in `hookbot.settings` (see [`Engine::install_id`]).
    install_id: u128,
    /// Decoded event definitions served by this instance, refreshed by `replace_events`.
    loaded_events: Arc<RwLock<HashMap<String, Arc<Event>>>>,
    /// The queue length last counted and when, plus this instance's changes since.
    pending_count: Arc<Mutex<PendingCount>>,
    /// The lead and the change feed shared with the other instances.
    coordination: Arc<Coordination>,
}

#[derive(Default)]
struct PendingCount {
    counted_at: Option<Instant>,
    count: u64,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        failure(error)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match error {
            // The server did not answer or refused: say so, not "pool timed out".
            PoolError::Backend(error) => failure(error),
            PoolError::Timeout(_) => StoreError::Engine(
                format!(
                    "no PostgreSQL connection within {} s (the server is unreachable, or every one of the {POOL_SIZE} connections is busy)",
                    POOL_WAIT.as_secs()
                )
                .into(),
            ),
            other => failure(other),
        }
    }
}

impl PostgresEngine {
    /// Connects to the database at `url`, creates or migrates hookbot's schema in it, and reads
    /// (or makes) the install id. Fails within seconds when the server does not answer.
    pub async fn connect(url: &str) -> Result<PostgresEngine, StoreError> {
        let (mut config, tls, _) = tls::configure(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("hookbot");
        }
        // Dead peers are noticed by the kernel, not by a request that waits forever.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let loaded_events: Arc<RwLock<HashMap<String, Arc<Event>>>> = Arc::default();
        let cached = loaded_events.clone();
        let coordination = Coordination::new(
            config.clone(),
            tls.clone(),
            Box::new(move |change| {
                if matches!(change, Change::Definitions | Change::Resync) {
                    cached.write().expect("event cache lock").clear();
                }
            }),
        );
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A cheap check at checkout: a closed connection is replaced, a live one is not
                // pinged (its next query fails if the server went away meanwhile).
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(failure)?;
        let mut client = pool.get().await?;
        migrate::migrate(&mut client).await?;
        let install_id = load_install_id(&client).await?;
        drop(client);
        Ok(PostgresEngine {
            pool,
            install_id,
            loaded_events,
            pending_count: Arc::default(),
            coordination: Arc::new(coordination),
        })
    }

    /// A connection from the pool, within [`POOL_WAIT`].
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// The setting (`hookbot.settings`) that holds the install id: 16 random bytes, made when the
/// schema is first used.
pub(super) const INSTALL_ID: &str = "install_id";

/// The database's install id, made (random) and kept the first time it is used; when several
/// instances start on a new database together, the first one's id counts for all.
async fn load_install_id(client: &tokio_postgres::Client) -> Result<u128, StoreError> {
    let fresh: u128 = rand::random();
    client
        .execute(
            "INSERT INTO hookbot.settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&INSTALL_ID, &&fresh.to_be_bytes()[..]],
        )
        .await?;
    let row = client
        .query_one(
            "SELECT value FROM hookbot.settings WHERE name = $1",
            &[&INSTALL_ID],
        )
        .await?;
    let value: &[u8] = row.get(0);
    <[u8; 16]>::try_from(value)
        .map(u128::from_be_bytes)
        .map_err(|_| StoreError::Engine("the stored install id is not 16 bytes".into()))
}

/// Column `index` of `row`, a JSON document, decoded.
fn json<T: serde::de::DeserializeOwned>(
    row: &tokio_postgres::Row,
    index: usize,
) -> Result<T, StoreError> {
    Ok(row.try_get::<_, tokio_postgres::types::Json<T>>(index)?.0)
}

/// A run id as stored: its top bit flipped, so bigint order is id order (see the migration).
fn run_key(id: RunId) -> i64 {
    (id.0 ^ (1 << 63)) as i64
}

fn run_id_of(key: i64) -> RunId {
    RunId((key as u64) ^ (1 << 63))
}

// Each method names the async method of the same name on `PostgresEngine` (inherent methods
// win over trait methods), which lives in the file for its kind of record.
#[async_trait::async_trait]
impl Engine for PostgresEngine {
    async fn flush(&self) -> Result<(), StoreError> {
        // Every call commits before it returns.
        Ok(())
    }

    async fn check_writable(&self) -> Result<(), StoreError> {
        PostgresEngine::check_writable(self).await
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn lead(&self) -> Result<Lease, StoreError> {
        self.coordination.lead().await
    }

    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.coordination.changes()
    }

    async fn replace_events(&self, events: &[Event]) -> Result<ReplacedEvents, StoreError> {
        PostgresEngine::replace_events(self, events).await
    }

    async fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError> {
        PostgresEngine::event(self, id).await
    }

    async fn events(&self) -> Result<Vec<Event>, StoreError> {
        PostgresEngine::events(self).await
    }

    async fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError> {
        PostgresEngine::event_revisions(self, id).await
    }

    async fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        PostgresEngine::api_key_hash(self).await
    }

    async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        PostgresEngine::set_api_key_hash(self, hash).await
    }

    async fn create_api_key_hash(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        PostgresEngine::create_api_key_hash(self, hash).await
    }

    async fn console_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        PostgresEngine::console_key_hash(self).await
    }

    async fn set_console_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        PostgresEngine::set_console_key_hash(self, hash).await
    }

    async fn bot_id(&self) -> Result<Option<u64>, StoreError> {
        PostgresEngine::bot_id(self).await
    }

    async fn set_bot_id(&self, id: u64) -> Result<(), StoreError> {
        PostgresEngine::set_bot_id(self, id).await
    }

    fn install_id(&self) -> u128 {
        self.install_id
    }

    async fn adopt_install(&self, install_id: u128, next_counter: u64) -> Result<bool, StoreError> {
        PostgresEngine::adopt_install(self, install_id, next_counter).await
    }

    async fn variable(
        &self,
        scope: &VariableScope,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        PostgresEngine::variable(self, scope, name).await
    }

    async fn set_variable(
        &self,
        scope: &VariableScope,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        PostgresEngine::set_variable(self, scope, name, value).await
    }

    async fn delete_variable(&self, scope: &VariableScope, name: &str) -> Result<bool, StoreError> {
        PostgresEngine::delete_variable(self, scope, name).await
    }

    async fn variables(&self) -> Result<Vec<(VariableScope, String, String)>, StoreError> {
        PostgresEngine::variables(self).await
    }

    async fn next_run_id(&self) -> Result<RunId, StoreError> {
        PostgresEngine::next_run_id(self).await
    }

    async fn accept_run(
        &self,
        run: &Run,
        once: Option<Idempotency<'_>>,
    ) -> Result<Accepted, StoreError> {
        PostgresEngine::accept_run(self, run, once).await
    }

    async fn run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        PostgresEngine::run(self, id).await
    }

    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        PostgresEngine::save_run(self, run).await
    }

    async fn finish_run(&self, run: &Run) -> Result<(), StoreError> {
        PostgresEngine::finish_run(self, run).await
    }

    async fn forget_pending(&self, id: RunId) -> Result<(), StoreError> {
        PostgresEngine::forget_pending(self, id).await
    }

    async fn pending_runs(&self, limit: usize) -> Result<Vec<RunId>, StoreError> {
        PostgresEngine::pending_runs(self, limit).await
    }

    async fn pending_runs_from(&self, from: RunId, limit: usize) -> Result<Vec<RunId>, StoreError> {
        PostgresEngine::pending_runs_from(self, from, limit).await
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        PostgresEngine::pending_count(self).await
    }

    async fn pending_retry_times(&self) -> Result<Vec<(RunId, u64)>, StoreError> {
        PostgresEngine::pending_retry_times(self).await
    }

    async fn runs_newest_first(&self, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
        PostgresEngine::runs_newest_first(self, filter).await
    }

    async fn append_step(&self, id: RunId, index: u32, step: &Step) -> Result<(), StoreError> {
        PostgresEngine::append_step(self, id, index, step).await
    }

    async fn steps(&self, id: RunId) -> Result<Vec<Step>, StoreError> {
        PostgresEngine::steps(self, id).await
    }

    async fn drop_steps_from(&self, id: RunId, index: u32) -> Result<(), StoreError> {
        PostgresEngine::drop_steps_from(self, id, index).await
    }

    async fn idempotency_record(
        &self,
        key: IdempotencyKey<'_>,
        now_ms: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        PostgresEngine::idempotency_record(self, key, now_ms).await
    }

    async fn set_idempotent_answer(
        &self,
        key: IdempotencyKey<'_>,
        run: RunId,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        PostgresEngine::set_idempotent_answer(self, key, run, answer).await
    }

    async fn idempotency_records(
        &self,
    ) -> Result<Vec<(String, Vec<u8>, IdempotencyRecord)>, StoreError> {
        PostgresEngine::idempotency_records(self).await
    }

    async fn restore_idempotency(
        &self,
        key: IdempotencyKey<'_>,
        record: &IdempotencyRecord,
    ) -> Result<bool, StoreError> {
        PostgresEngine::restore_idempotency(self, key, record).await
    }

    async fn restore_revision(
        &self,
        event_id: &str,
        revision: &EventRevision,
    ) -> Result<bool, StoreError> {
        PostgresEngine::restore_revision(self, event_id, revision).await
    }

    async fn prune(
        &self,
        keep_for: Duration,
        keep_count: u64,
        now_ms: u64,
    ) -> Result<Pruned, StoreError> {
        PostgresEngine::prune(self, keep_for, keep_count, now_ms).await
    }

    async fn schedule_dues(&self) -> Result<Vec<(String, ScheduleDue)>, StoreError> {
        PostgresEngine::schedule_dues(self).await
    }

    async fn set_schedule_due(
        &self,
        event_id: &str,
        due: Option<&ScheduleDue>,
    ) -> Result<(), StoreError> {
        PostgresEngine::set_schedule_due(self, event_id, due).await
    }

    async fn button_values(&self) -> Result<Vec<(String, String)>, StoreError> {
        PostgresEngine::button_values(self).await
    }

    async fn button_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        PostgresEngine::button_value(self, key).await
    }

    async fn keep_button_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        PostgresEngine::keep_button_value(self, key, value).await
    }
}
