//! Storage behind one trait: event definitions and their revisions, settings, variables, runs
//! with their journal, the pending queue and idempotency keys.
//!
//! [`Engine`] speaks in domain words, so a second engine (PostgreSQL, for several instances)
//! is a second implementation and nothing above it changes. [`sled`] is the one engine today
//! and the only module of hookbot that names sled. Callers hold a [`Store`].

mod coordination;
mod error;
mod interface;
mod limits;
// Wired into the PostgreSQL engine as it lands (src/engine/postgres/, issue 12).
#[allow(dead_code)]
pub(crate) mod postgres_coordination;
mod records;
mod sled;

use std::path::Path;
use std::sync::Arc;

pub use coordination::{Change, Changes, Lease, CHANGE_BUFFER};
pub use error::{EngineFailure, StoreError};
pub use interface::Engine;
pub use limits::{
    IDEMPOTENCY_WINDOW, MAX_IDEMPOTENCY_KEY_BYTES, MAX_REVISIONS_PER_EVENT,
    MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES,
};
pub use records::{
    check_variable, Accepted, EventRevision, Idempotency, IdempotencyKey, IdempotencyRecord,
    Pruned, ReplacedEvents, RunFilter, StoredAnswer, VariableScope,
};

/// A cheap-to-clone handle on the engine in use; everything above `engine/` holds one.
#[derive(Clone)]
pub struct Store(Arc<dyn Engine>);

impl Store {
    pub fn new(engine: impl Engine + 'static) -> Store {
        Store(Arc::new(engine))
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
