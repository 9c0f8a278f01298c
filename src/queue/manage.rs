//! What an operator does with runs (`hookbot runs`, `hookbot runs retry`): list them, and put a
//! failed one back in the queue. Works on a [`Store`] alone, so it serves a stopped hookbot too.

use crate::engine::{RunFilter, Store, StoreError};
use crate::run::{Run, RunId, RunStatus, StepOutcome};

/// Runs newest first, as `filter` asks (`hookbot runs`).
pub async fn list(store: &Store, filter: &RunFilter) -> Result<Vec<Run>, StoreError> {
    store.runs_newest_first(filter).await
}

/// Why a run cannot be put back in the queue.
#[derive(Debug, thiserror::Error)]
pub enum RequeueError {
    #[error("no run {0}")]
    NoRun(RunId),
    #[error(
        "run {0} has not failed (it is {1}); only a failed or dead-lettered run can be retried"
    )]
    NotFailed(RunId, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts a failed or dead-lettered run back in the queue, attempts reset, to resume at the action
/// that failed: that action's failed step, the journal's last, is dropped so it is tried again;
/// everything before it is replayed, not repeated.
pub async fn requeue(store: &Store, id: RunId, now_ms: u64) -> Result<Run, RequeueError> {
    let mut run = store.run(id).await?.ok_or(RequeueError::NoRun(id))?;
    if run.status != RunStatus::Failed {
        return Err(RequeueError::NotFailed(id, status_word(&run)));
    }
    let steps = store.steps(id).await?;
    let failed_path = run.error.as_ref().map(|e| e.path.as_str()).unwrap_or("");
    if let Some(last) = steps.last() {
        let unhandled = matches!(last.outcome, StepOutcome::Failed { handled: false, .. });
        if unhandled && !failed_path.is_empty() && last.path == failed_path {
            let index = (steps.len() - 1) as u32;
            store.drop_steps_from(id, index).await?;
            run.steps = index;
        }
    }
    run.status = RunStatus::Pending;
    run.error = None;
    run.attempts = 0;
    run.next_attempt_at_ms = None;
    run.dead_lettered = false;
    run.finished_at_ms = None;
    run.requeued_at_ms = Some(now_ms);
    // The run's own time budget starts again from now.
    if let Some(started) = run.started_at_ms {
        run.retry_waited_ms = now_ms.saturating_sub(started);
    }
    store.accept_run(&run, None).await?;
    Ok(run)
}

/// `succeeded`, `failed`, `dead-lettered` or `pending`.
pub fn status_word(run: &Run) -> &'static str {
    match run.status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed if run.dead_lettered => "dead-lettered",
        RunStatus::Failed => "failed",
        RunStatus::Pending => "pending",
    }
}
