//! The engines' one behaviour suite: every test here runs against sled and against PostgreSQL
//! (on a database of its own, when `HOOKBOT_TEST_POSTGRES_URL` names a server; without it the
//! PostgreSQL half says it was skipped and why).
//!
//! A test is written once, as `async fn name(subject: Subject)`, inside [`both_engines!`],
//! which makes a `name::sled` and a `name::postgres` test of it.

mod database;
mod definitions;
mod idempotency;
mod pending;
mod prune;
mod runs;
mod settings;
mod tls;
mod triggers;
mod variables;

use crate::config::StoreLocation;
use crate::engine::records::{Idempotency, IdempotencyKey, StoredAnswer};
use crate::engine::Store;
use crate::lang::templates::Variables;
use crate::run::Run;
use database::TestDatabase;

/// Where one test's store lives, empty at first; [`open`](Subject::open) it (again after
/// dropping it, to see what survives a restart).
pub struct Subject {
    location: StoreLocation,
    _folder: Option<tempfile::TempDir>,
    _database: Option<TestDatabase>,
}

impl Subject {
    pub fn sled() -> Subject {
        let folder = tempfile::tempdir().unwrap();
        Subject {
            location: StoreLocation::Sled(folder.path().join("db")),
            _folder: Some(folder),
            _database: None,
        }
    }

    /// `None` when no PostgreSQL server is named (said on stderr).
    pub async fn postgres(test: &str) -> Option<Subject> {
        let database = TestDatabase::create(test).await?;
        Some(Subject {
            location: StoreLocation::Postgres(database.url.clone()),
            _folder: None,
            _database: Some(database),
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.location, StoreLocation::Postgres(_))
    }

    pub async fn open(&self) -> Store {
        Store::open_at(&self.location)
            .await
            .unwrap_or_else(|error| panic!("cannot open {}: {error}", self.location))
    }
}

/// Writes each `async fn name(subject: Subject) { … }` as a module `name` with two tests,
/// `sled` and `postgres`, on tokio's multi-threaded runtime.
macro_rules! both_engines {
    ($(async fn $name:ident($subject:ident: Subject) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn behaviour($subject: $crate::engine::tests::Subject) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sled() {
                behaviour($crate::engine::tests::Subject::sled()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let test = concat!(module_path!(), "::postgres");
                if let Some(subject) = $crate::engine::tests::Subject::postgres(test).await {
                    behaviour(subject).await
                }
            }
        }
    )*};
}
pub(crate) use both_engines;

/// A new run of event `e`, with the store's next id.
pub async fn new_run(store: &Store, received_at_ms: u64) -> Run {
    Run::new(
        store.next_run_id().await.unwrap(),
        "e".into(),
        Variables::new(),
        received_at_ms,
    )
}

pub fn answer(n: u64) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: serde_json::json!({ "n": n }),
    }
}

pub fn once<'a>(key: IdempotencyKey<'a>, answer: &'a StoredAnswer) -> Option<Idempotency<'a>> {
    Some(Idempotency { key, answer })
}
