//! What the sled engine's own tests share (the behaviour suite is `engine/tests/`): a database
//! in a temporary folder, and runs.

use super::SledEngine;
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
