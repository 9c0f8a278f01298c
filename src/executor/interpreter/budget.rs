//! The run budget: how many steps one run may take, how long it may go on, and how long one
//! action may take, so no event spins or hangs forever.

use std::time::Duration;

use super::state::Interpreter;
use crate::events::Action;
use crate::lang::duration::format_duration;
use crate::run::{unix_now_ms as now_ms, ActionError, Run, RunFailure};

/// The most steps one run may take, loops and branches included, so no event spins forever.
pub const MAX_STEPS_PER_RUN: u32 = 5_000;
/// The longest a run may take from its first step, waits included, across restarts.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(30 * 60);
/// The longest one action may take, all its Discord calls together; serenity sets no timeout of
/// its own, and a hung call must not hold a run slot forever.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// When the time budget of a run that began at `started_ms` is spent (unix ms).
pub(super) fn deadline_ms(run: &Run, started_ms: u64) -> u64 {
    // Time spent waiting between attempts is Discord's, not the event's.
    started_ms + MAX_RUN_TIME.as_millis() as u64 + run.retry_waited_ms
}

impl Interpreter<'_> {
    /// The step budget or the time budget is spent: the run ends with a clear error.
    pub(super) fn budget_spent(&self, action: &Action, path: &str) -> Option<RunFailure> {
        let message = if self.steps.len() >= MAX_STEPS_PER_RUN as usize {
            format!(
                "the run took {MAX_STEPS_PER_RUN} steps, the most one run may take; check the event's loops"
            )
        } else if !self.ctx.dry_run && now_ms() > self.deadline_ms {
            format!(
                "the run has been going for more than {}, the longest one run may take",
                format_duration(MAX_RUN_TIME)
            )
        } else {
            return None;
        };
        Some(RunFailure {
            path: path.to_owned(),
            action: action.kind().to_owned(),
            message,
            discord_code: None,
            http_status: None,
        })
    }

    /// A `wait` until `until_ms` fits in what is left of the run's time.
    pub(super) fn wait_fits(&self, until_ms: u64) -> Result<(), ActionError> {
        if until_ms <= self.deadline_ms {
            return Ok(());
        }
        Err(ActionError {
            message: format!(
                "this wait would end after the run's {} limit",
                format_duration(MAX_RUN_TIME)
            ),
            code: "budget".into(),
            discord_code: None,
            http_status: None,
            retry_after_ms: None,
        })
    }
}
