//! What the sled engine's tests share: a database in a temporary folder, runs and answers.

use super::SledEngine;
use crate::engine::records::{Idempotency, IdempotencyKey, StoredAnswer};
use crate::lang::templates::Variables;
use crate::run::Run;

pub fn temp_engine() -> (tempfile::TempDir, SledEngine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = SledEngine::open(&dir.path().join("db")).unwrap();
    (dir, engine)
}

pub fn new_run(store: &SledEngine, received_at_ms: u64) -> Run {
    Run::new(
        store.next_run_id().unwrap(),
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
