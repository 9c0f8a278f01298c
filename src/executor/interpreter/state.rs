//! The interpreter's state for one run, shared by its parts: what the run was given
//! ([`RunContext`]), what it keeps while it walks the event ([`Interpreter`]), and what an
//! action list tells the list around it ([`Flow`]).

use rand::rngs::StdRng;
use serenity::all::GuildId;
use tokio_util::sync::CancellationToken;

use crate::discord::Discord;
use crate::discord::Pacer;
use crate::engine::Store;
use crate::events::Event;
use crate::executor::http_request::Destination;
use crate::executor::scope::{Locals, LoopFrame, Persistent, Scope};
use crate::lang::request::RequestVariables;
use crate::lang::templates::{names_in, Template, Variables};
use crate::queue::retry::RetryPolicy;
use crate::run::{ActionError, Run, RunFailure, Step};

/// What a run needs besides its event and record.
pub struct RunContext<'a> {
    pub store: &'a Store,
    pub discord: &'a Discord,
    /// Nothing is changed anywhere: no Discord write, no HTTP call, no variable written, no
    /// wait waited, nothing journaled. Each step says what it would do.
    pub dry_run: bool,
    /// Cancelled at shutdown: a wait in progress stops, and the run stays queued.
    pub shutdown: CancellationToken,
    /// The run's worker slot: a long `wait` lends it meanwhile (`None`: a trial by hand).
    pub slot: Option<crate::executor::slot::WorkerSlot>,
    /// The outbound governor every Discord write asks first.
    pub pacer: &'a Pacer,
    /// Transient failures (5xx, 429, timeouts) end the run with [`Ended::RetryAt`] under this
    /// policy; without one (a trial by hand) they fail the run like any other. With one, the
    /// run's calls are made as a queued run's: a long wait for Discord's pace parks it
    /// ([`Ended::Parked`]).
    pub retry: Option<RetryPolicy>,
    /// Where `http_request` calls go: out, or to the sandbox's echo.
    pub http: &'a Destination,
}

/// How a run ended for the executor.
#[derive(Debug)]
pub enum Ended {
    /// Succeeded or failed: `run.status` says which, and `run.error` why.
    Finished,
    /// Stopped by shutdown in the middle of a wait; the run stays queued and resumes.
    Interrupted,
    /// An action failed transiently: the run stays queued, to be taken up again at this unix
    /// time (ms) at that action. `run.attempts`, `run.next_attempt_at_ms` and `run.error` say
    /// so.
    RetryAt(u64),
    /// The next call must wait for Discord's pace: the run stays queued, parked without a worker,
    /// and resumes at that action; nothing failed.
    Parked {
        /// Until this unix time (ms); `None`: until its route's line reaches it (the pacer
        /// brings it back then).
        until_ms: Option<u64>,
        /// It took steps first, so its record changed and must be saved; a run parked at the
        /// action it was taken up at has nothing new to save.
        progressed: bool,
    },
}

/// What an action list tells the list around it.
pub(super) enum Flow {
    Next,
    BreakLoop,
    Stop,
    Failed(RunFailure),
    Interrupted,
    /// A transient failure: try the run again at this unix time (ms).
    Retry(RunFailure, u64),
    /// The next call waits for Discord's pace: take the run up again at this unix time (ms), or
    /// (`None`) when its route's line reaches it.
    Park(Option<u64>),
}

/// What the run's templates read that the run keeps itself, besides its record.
#[derive(Default)]
pub(super) struct RunValues {
    pub builtins: Variables,
    pub locals: Locals,
    /// The loops the walk is inside, innermost last, with their counts beside them.
    pub loops: Vec<LoopFrame>,
    pub loop_counts: Vec<u64>,
    /// The errors whose `on_error` lists the walk is inside, innermost last.
    pub errors: Vec<ActionError>,
    /// The `{var.…}` values of the action being carried out, read before it renders
    /// ([`Interpreter::read_persistent`]).
    pub persistent: Persistent,
}

/// One run of one event, in progress.
pub(super) struct Interpreter<'a> {
    pub ctx: RunContext<'a>,
    pub event: &'a Event,
    pub run: &'a mut Run,
    /// The journal so far: replayed first, then extended.
    pub steps: Vec<Step>,
    /// The next step's index into `steps`; below `steps.len()` the run is replaying.
    pub next_step: usize,
    pub values: RunValues,
    pub rng: StdRng,
    /// When the run's time budget is spent (unix ms).
    pub deadline_ms: u64,
    /// The run had begun before this execution: its first live action may have been carried
    /// out already (a crash or a retry between the call and the journal write).
    pub resumed: bool,
    /// A live action has been carried out in this execution.
    pub acted: bool,
}

impl Interpreter<'_> {
    pub fn scope(&self) -> Scope<'_> {
        scope_of(&self.values, self.run)
    }

    /// Reads from the engine the `{var.…}` values that `texts` use, for the renders that follow
    /// until the next read. Called before each action renders, so it sees what the actions
    /// before it (an earlier loop iteration's too) have written.
    pub async fn read_persistent(&mut self, texts: &[&str]) {
        let names: Vec<&str> = texts.iter().flat_map(|text| names_in(text)).collect();
        self.values.persistent = Persistent::read(self.ctx.store, self.event.server, &names).await;
    }

    pub fn render(&self, template: &Template) -> String {
        template.render(&self.scope())
    }

    pub fn guild(&self) -> GuildId {
        GuildId::new(self.event.server)
    }
}

/// Everything a template of the run can read, from the parts of the interpreter that hold it,
/// so a caller can borrow the rest (the dice) mutably meanwhile.
pub(super) fn scope_of<'s>(values: &'s RunValues, run: &'s Run) -> Scope<'s> {
    Scope {
        builtins: &values.builtins,
        loops: &values.loops,
        loop_counts: &values.loop_counts,
        errors: &values.errors,
        persistent: Some(&values.persistent),
        locals: &values.locals,
        request: RequestVariables::new(run.payload.as_ref(), &run.headers, &run.query),
        caller: &run.variables,
    }
}
