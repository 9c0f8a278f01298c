//! Storage behind one trait: event definitions and their revisions, settings, variables, runs
//! with their journal, the pending queue and idempotency keys.
//!
//! [`Engine`] speaks in domain words, so each engine is one implementation and nothing above it
//! changes: [`sled`] (embedded, the default, the only module that names sled) and [`postgres`]
//! (a PostgreSQL server several instances share, the only module that names tokio-postgres).
//! `storage.engine` picks one at start ([`Store::open_at`]). Callers hold a [`Store`]. One
//! behaviour suite (`tests/`) runs against both.

mod coordination;
mod error;
mod interface;
mod limits;
pub(crate) mod postgres;
mod records;
mod sled;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use crate::config::StoreLocation;

pub use coordination::{Change, Changes, Lease, CHANGE_BUFFER};
pub use error::{EngineFailure, StoreError};
pub use interface::Engine;
pub use limits::{
    IDEMPOTENCY_WINDOW, MAX_IDEMPOTENCY_KEY_BYTES, MAX_REVISIONS_PER_EVENT,
    MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES,
};
pub use records::{
    check_variable, run_id, Accepted, EventRevision, Idempotency, IdempotencyKey,
    IdempotencyRecord, Pruned, ReplacedEvents, RunFilter, ScheduleDue, StoredAnswer, VariableScope,
};

/// A cheap-to-clone handle on the engine in use; everything above `engine/` holds one.
#[derive(Clone)]
pub struct Store(Arc<dyn Engine>);

impl Store {
    pub fn new(engine: impl Engine + 'static) -> Store {
        Store(Arc::new(engine))
    }

    /// Opens the store `storage.engine` names: the sled database (created if need be), or the
    /// PostgreSQL database, whose schema is created or migrated here.
    pub async fn open_at(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::Sled(path) => Store::open(path),
            StoreLocation::Postgres(url) => {
                postgres::PostgresEngine::connect(url).await.map(Store::new)
            }
        }
    }

    /// Opens (or creates) the embedded database at `path`, failing clearly when another process
    /// holds it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        sled::SledEngine::open(path).map(Store::new)
    }

    /// A database that lives in memory and is gone when dropped: for dry runs while another
    /// process holds the real one, and for tests.
    pub fn temporary() -> Result<Store, StoreError> {
        sled::SledEngine::temporary().map(Store::new)
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Engine;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}
