//! Runs an event's actions for one run: flow (`if`, `random`, `loop`, `wait`, `stop`),
//! `save_as`, `on_error`, the run budget, and the journal that lets a run resume where it
//! stopped.
//!
//! Every action taken is journaled as a [`Step`]. A resumed run walks the event again and, for
//! each step already in the journal, replays its recorded outcome (the branch taken, the
//! message id kept) instead of acting again, so it continues at its first unfinished action
//! with the same decisions and values as before.
//!
//! - `state`: what a run was given and what it keeps while it walks (a leaf for the others)
//! - `flow`: walking the action tree, live or replaying
//! - `journal`: recording steps, and reading them back on resume
//! - `facts`: what an `if` asks Discord; the evaluation is [`crate::executor::conditions`]
//! - `local`: the actions carried out here (variables, `math`, `http_request`); the rest go to
//!   [`crate::executor::actions`]
//! - `failure`: retry, dead letter, and failures in Discord's own words
//! - `budget`: 5,000 steps, 30 minutes, 30 s per action

mod budget;
mod facts;
mod failure;
mod flow;
mod journal;
mod local;
mod state;
#[cfg(test)]
mod tests;

use rand::SeedableRng;

use crate::engine::StoreError;
use crate::events::Event;
use crate::lang::templates::Variables;
use crate::run::{unix_now_ms as now_ms, Run, RunStatus, Step};
use state::{Flow, Interpreter, RunValues};

pub use budget::{ACTION_TIMEOUT, MAX_RUN_TIME, MAX_STEPS_PER_RUN};
pub use state::{Ended, RunContext};

/// Runs `event`'s actions for `run`, resuming after the steps already journaled in `journal`.
/// Returns the steps (journal included) and how it ended; `run` holds the outcome. Store
/// errors leave the run as it is, queued.
pub async fn execute(
    ctx: RunContext<'_>,
    event: &Event,
    run: &mut Run,
    journal: Vec<Step>,
    builtins: Variables,
) -> Result<(Vec<Step>, Ended), StoreError> {
    let resumed = run.started_at_ms.is_some();
    let started = *run.started_at_ms.get_or_insert(now_ms());
    let journaled = journal.len();
    let mut interpreter = Interpreter {
        ctx,
        event,
        deadline_ms: budget::deadline_ms(run, started),
        resumed,
        acted: false,
        run,
        steps: journal,
        next_step: 0,
        values: RunValues {
            builtins,
            ..RunValues::default()
        },
        rng: rand::rngs::StdRng::from_os_rng(),
    };
    let flow = interpreter.exec_list(&event.actions, String::new()).await?;
    let Interpreter { run, steps, .. } = interpreter;
    let ended = match flow {
        Flow::Interrupted => Ended::Interrupted,
        Flow::Park(until_ms) => {
            let progressed = steps.len() > journaled;
            if !resumed && !progressed {
                // It waited for Discord's pace before its first step: like a wait for a worker,
                // that is the queue's time, not the run's budget.
                run.started_at_ms = None;
            }
            Ended::Parked {
                until_ms,
                progressed,
            }
        }
        Flow::Retry(failure, at_ms) => {
            run.error = Some(failure);
            run.next_attempt_at_ms = Some(at_ms);
            Ended::RetryAt(at_ms)
        }
        Flow::Failed(failure) => {
            run.status = RunStatus::Failed;
            run.error = Some(failure);
            Ended::Finished
        }
        Flow::Next | Flow::Stop | Flow::BreakLoop => {
            run.status = RunStatus::Succeeded;
            run.error = None;
            run.attempts = 0;
            Ended::Finished
        }
    };
    if matches!(ended, Ended::Finished) {
        run.finished_at_ms = Some(now_ms());
        run.next_attempt_at_ms = None;
    }
    Ok((steps, ended))
}
