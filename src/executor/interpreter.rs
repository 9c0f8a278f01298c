//! Runs an event's actions for one run: flow (`if`, `random`, `loop`, `wait`, `stop`),
//! `save_as`, `on_error`, the run budget, and the journal that lets a run resume where it
//! stopped.
//!
//! Every action taken is journaled as a [`Step`]. A resumed run walks the event again and, for
//! each step already in the journal, replays its recorded outcome (the branch taken, the
//! message id kept) instead of acting again, so it continues at its first unfinished action
//! with the same decisions and values as before.

use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use serenity::all::GuildId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::actions::{self, ActionContext, Performed};
use super::http_request::{self, HttpBody, HttpCall};
use super::retry::{self, Class};
use super::scope::{Locals, LoopFrame, Persistent, Scope};
use crate::discord::Pacer;
use crate::discord::{CallError, Discord};
use crate::duration::{format_duration, parse_duration};
use crate::engine::{Store, StoreError, VariableScope};
use crate::events::{
    Action, ActionKind, CompareOp, Condition, Event, HttpBodySpec, VariableScopeSpec,
    MAX_LOOP_COUNT, MAX_WAIT,
};
use crate::queue::retry::{backoff, RetryPolicy};
use crate::run::{unix_now_ms as now_ms, ActionError, Run, RunFailure, Step, StepOutcome};
use crate::templates::{RequestVariables, Template, Variables};

/// The most steps one run may take, loops and branches included, so no event spins forever.
pub const MAX_STEPS_PER_RUN: u32 = 5_000;
/// The longest a run may take from its first step, waits included, across restarts.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(30 * 60);
/// The longest one action may take, all its Discord calls together; serenity sets no timeout of
/// its own, and a hung call must not hold a run slot forever.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Waits shorter than this keep the run's slot; longer ones give it to other runs meanwhile.
const SLOT_RELEASE_WAIT: Duration = Duration::from_secs(1);

/// What a run needs besides its event and record.
pub struct RunContext<'a> {
    pub store: &'a Store,
    pub discord: &'a Discord,
    /// Nothing is changed anywhere: no Discord write, no HTTP call, no variable written, no
    /// wait waited, nothing journaled. Each step says what it would do.
    pub dry_run: bool,
    /// Cancelled at shutdown: a wait in progress stops, and the run stays queued.
    pub shutdown: CancellationToken,
    /// The executor's run slots: a long `wait` gives its slot back meanwhile.
    pub slot: Option<(std::sync::Arc<Semaphore>, OwnedSemaphorePermit)>,
    /// The outbound governor every Discord write asks first.
    pub pacer: &'a Pacer,
    /// Transient failures (5xx, 429, timeouts) end the run with [`Ended::RetryAt`] under this
    /// policy; without one (a trial by hand) they fail the run like any other.
    pub retry: Option<RetryPolicy>,
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
}

/// What an action list tells the list around it.
enum Flow {
    Next,
    BreakLoop,
    Stop,
    Failed(RunFailure),
    Interrupted,
    /// A transient failure: try the run again at this unix time (ms).
    Retry(RunFailure, u64),
}

struct Interpreter<'a> {
    ctx: RunContext<'a>,
    event: &'a Event,
    run: &'a mut Run,
    /// The journal so far: replayed first, then extended.
    steps: Vec<Step>,
    /// The next step's index into `steps`; below `steps.len()` the run is replaying.
    next_step: usize,
    builtins: Variables,
    locals: Locals,
    loops: Vec<LoopFrame>,
    loop_counts: Vec<u64>,
    errors: Vec<ActionError>,
    rng: rand::rngs::StdRng,
    deadline_ms: u64,
    /// The run had begun before this execution: its first live action may have been carried
    /// out already (a crash or a retry between the call and the journal write).
    resumed: bool,
    /// A live action has been carried out in this execution.
    acted: bool,
}

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
    let now = now_ms();
    let resumed = run.started_at_ms.is_some();
    let started = *run.started_at_ms.get_or_insert(now);
    let mut interpreter = Interpreter {
        ctx,
        event,
        // Time spent waiting between attempts is Discord's, not the event's.
        deadline_ms: started + MAX_RUN_TIME.as_millis() as u64 + run.retry_waited_ms,
        resumed,
        acted: false,
        run,
        steps: journal,
        next_step: 0,
        builtins,
        locals: Locals::default(),
        loops: Vec::new(),
        loop_counts: Vec::new(),
        errors: Vec::new(),
        rng: rand::rngs::StdRng::from_os_rng(),
    };
    let flow = interpreter.exec_list(&event.actions, String::new()).await?;
    let Interpreter { run, steps, .. } = interpreter;
    let ended = match flow {
        Flow::Interrupted => Ended::Interrupted,
        Flow::Retry(failure, at_ms) => {
            run.error = Some(failure);
            run.next_attempt_at_ms = Some(at_ms);
            Ended::RetryAt(at_ms)
        }
        Flow::Failed(failure) => {
            run.status = crate::run::RunStatus::Failed;
            run.error = Some(failure);
            Ended::Finished
        }
        Flow::Next | Flow::Stop | Flow::BreakLoop => {
            run.status = crate::run::RunStatus::Succeeded;
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

/// `3`, `3.then.1`, `5.loop[2].1`: 1-based, as people count.
fn child_path(prefix: &str, index: usize) -> String {
    if prefix.is_empty() {
        (index + 1).to_string()
    } else {
        format!("{prefix}.{}", index + 1)
    }
}

impl<'a> Interpreter<'a> {
    fn scope(&self) -> Scope<'_> {
        Scope {
            builtins: &self.builtins,
            loops: &self.loops,
            loop_counts: &self.loop_counts,
            errors: &self.errors,
            persistent: Some(Persistent {
                store: self.ctx.store,
                server: self.event.server,
            }),
            locals: &self.locals,
            request: RequestVariables::new(
                self.run.payload.as_ref(),
                &self.run.headers,
                &self.run.query,
            ),
            caller: &self.run.variables,
        }
    }

    fn render(&self, template: &Template) -> String {
        template.render(&self.scope())
    }

    fn guild(&self) -> GuildId {
        GuildId::new(self.event.server)
    }

    fn exec_list<'s>(
        &'s mut self,
        actions: &'a [Action],
        prefix: String,
    ) -> BoxFuture<'s, Result<Flow, StoreError>> {
        async move {
            for (index, action) in actions.iter().enumerate() {
                let flow = self.exec_action(action, child_path(&prefix, index)).await?;
                if !matches!(flow, Flow::Next) {
                    return Ok(flow);
                }
            }
            Ok(Flow::Next)
        }
        .boxed()
    }

    async fn exec_action(&mut self, action: &'a Action, path: String) -> Result<Flow, StoreError> {
        if self.next_step < self.steps.len() {
            return self.replay(action, path).await;
        }
        if let Some(failure) = self.budget_spent(action, &path) {
            return Ok(Flow::Failed(failure));
        }
        let started = now_ms();
        match &action.kind {
            ActionKind::If {
                condition,
                then,
                otherwise,
            } => {
                let (holds, explained) = match self.evaluate(condition).await {
                    Ok(answer) => answer,
                    Err(error) => return self.failed(action, path, started, error).await,
                };
                let branch = if holds { "then" } else { "else" };
                let summary = format!("{explained}: {branch}");
                self.record_done(action, &path, started, summary, json!({ "branch": branch }))
                    .await?;
                let list = if holds { then } else { otherwise };
                self.exec_list(list, format!("{path}.{branch}")).await
            }
            ActionKind::Random { branches } => {
                let total: u64 = branches.iter().map(|b| u64::from(b.weight.max(1))).sum();
                let mut ticket = self.rng.random_range(0..total.max(1));
                let mut chosen = 0;
                for (index, branch) in branches.iter().enumerate() {
                    let weight = u64::from(branch.weight.max(1));
                    if ticket < weight {
                        chosen = index;
                        break;
                    }
                    ticket -= weight;
                }
                let summary = format!("picked branch {} of {}", chosen + 1, branches.len());
                self.record_done(action, &path, started, summary, json!({ "branch": chosen }))
                    .await?;
                match branches.get(chosen) {
                    Some(branch) => {
                        self.exec_list(&branch.actions, format!("{path}.branch[{}]", chosen + 1))
                            .await
                    }
                    None => Ok(Flow::Next),
                }
            }
            ActionKind::Loop { count, delay, body } => {
                let plan = self.loop_plan(count, delay.as_ref());
                let (count, delay) = match plan {
                    Ok(plan) => plan,
                    Err(error) => return self.failed(action, path, started, error).await,
                };
                let summary = match delay {
                    Some(delay) if count > 1 => {
                        format!("loop {count} times, {} apart", format_duration(delay))
                    }
                    _ => format!("loop {count} times"),
                };
                self.record_done(action, &path, started, summary, json!({ "count": count }))
                    .await?;
                self.exec_loop(body, &path, count, delay).await
            }
            ActionKind::StopLoop => {
                self.record_done(action, &path, started, "left the loop".into(), json!({}))
                    .await?;
                Ok(Flow::BreakLoop)
            }
            ActionKind::Stop => {
                self.record_done(action, &path, started, "stopped the run".into(), json!({}))
                    .await?;
                Ok(Flow::Stop)
            }
            ActionKind::Wait { duration } => {
                let duration = match self.bounded_duration(duration, "wait", MAX_WAIT) {
                    Ok(duration) => duration,
                    Err(error) => return self.failed(action, path, started, error).await,
                };
                if self.ctx.dry_run {
                    let summary = format!("would wait {}", format_duration(duration));
                    self.record_done(action, &path, started, summary, json!({}))
                        .await?;
                    return Ok(Flow::Next);
                }
                let until_ms = started + duration.as_millis() as u64;
                if until_ms > self.deadline_ms {
                    let error = budget_error(format!(
                        "this wait would end after the run's {} limit",
                        format_duration(MAX_RUN_TIME)
                    ));
                    return self.failed(action, path, started, error).await;
                }
                self.record(
                    action,
                    &path,
                    started,
                    StepOutcome::Waiting { until_ms },
                    vec![],
                )
                .await?;
                Ok(self.sleep_until(until_ms).await)
            }
            _ => match self.perform_once(action).await {
                Ok(performed) => {
                    self.run.attempts = 0;
                    let Performed {
                        summary,
                        output,
                        warnings,
                        channel,
                    } = performed;
                    self.apply(action, &output, channel.as_ref());
                    let mut step = self.step(
                        action,
                        &path,
                        started,
                        StepOutcome::Done { summary, output },
                    );
                    step.warnings = warnings;
                    step.channel = channel;
                    self.push_step(step).await?;
                    Ok(Flow::Next)
                }
                Err(error) => self.failed(action, path, started, error).await,
            },
        }
    }

    /// Replays the next journaled step for `action`, acting only where the journal says the
    /// run was in the middle of something (a wait, a loop, a branch).
    async fn replay(&mut self, action: &'a Action, path: String) -> Result<Flow, StoreError> {
        let step = self.steps[self.next_step].clone();
        self.next_step += 1;
        if step.path != path || step.action != action.kind() {
            // The event file changed while this run was in progress: its journal no longer
            // matches, and acting on a different event could repeat or skip things.
            return Ok(Flow::Failed(RunFailure {
                path,
                action: action.kind().to_owned(),
                message: format!(
                    "the event changed while this run was in progress (step {} was {} at {}); it cannot resume safely",
                    self.next_step,
                    step.action,
                    step.path
                ),
                discord_code: None,
                http_status: None,
            }));
        }
        match step.outcome {
            StepOutcome::Done { output, .. } => {
                self.apply(action, &output, step.channel.as_ref());
                match &action.kind {
                    ActionKind::If {
                        then, otherwise, ..
                    } => {
                        let holds = output.get("branch") == Some(&json!("then"));
                        let branch = if holds { "then" } else { "else" };
                        let list = if holds { then } else { otherwise };
                        self.exec_list(list, format!("{path}.{branch}")).await
                    }
                    ActionKind::Random { branches } => {
                        let chosen = output.get("branch").and_then(Value::as_u64).unwrap_or(0);
                        match branches.get(chosen as usize) {
                            Some(branch) => {
                                self.exec_list(
                                    &branch.actions,
                                    format!("{path}.branch[{}]", chosen + 1),
                                )
                                .await
                            }
                            None => Ok(Flow::Next),
                        }
                    }
                    ActionKind::Loop { body, delay, .. } => {
                        let count = output.get("count").and_then(Value::as_u64).unwrap_or(0);
                        let delay = delay
                            .as_ref()
                            .and_then(|d| parse_duration(&self.render(d)).ok());
                        self.exec_loop(body, &path, count, delay).await
                    }
                    ActionKind::StopLoop => Ok(Flow::BreakLoop),
                    ActionKind::Stop => Ok(Flow::Stop),
                    _ => Ok(Flow::Next),
                }
            }
            StepOutcome::Failed { error, handled } => match (&action.on_error, handled) {
                (Some(on_error), true) => self.exec_on_error(on_error, &path, error).await,
                _ => Ok(Flow::Failed(failure_of(action, path, error))),
            },
            StepOutcome::Waiting { until_ms } => Ok(self.sleep_until(until_ms).await),
        }
    }

    async fn exec_loop(
        &mut self,
        body: &'a [Action],
        path: &str,
        count: u64,
        delay: Option<Duration>,
    ) -> Result<Flow, StoreError> {
        self.loop_counts.push(count);
        let mut outcome = Flow::Next;
        for index in 0..count {
            // Delays already waited before a restart are not waited again.
            let live = self.next_step >= self.steps.len();
            if let (true, Some(delay), true) = (index > 0, delay, live && !self.ctx.dry_run) {
                let until = now_ms() + delay.as_millis() as u64;
                if let Flow::Interrupted = self.sleep_until(until).await {
                    outcome = Flow::Interrupted;
                    break;
                }
            }
            self.loops.push(LoopFrame { index });
            let flow = self
                .exec_list(body, format!("{path}.loop[{}]", index + 1))
                .await;
            self.loops.pop();
            match flow? {
                Flow::Next => {}
                Flow::BreakLoop => break,
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        self.loop_counts.pop();
        Ok(outcome)
    }

    async fn exec_on_error(
        &mut self,
        on_error: &'a [Action],
        path: &str,
        error: ActionError,
    ) -> Result<Flow, StoreError> {
        self.errors.push(error);
        let flow = self.exec_list(on_error, format!("{path}.on_error")).await;
        self.errors.pop();
        flow
    }

    /// A failed action: its `on_error` list runs and the run goes on, or the run stops.
    async fn failed(
        &mut self,
        action: &'a Action,
        path: String,
        started: u64,
        error: ActionError,
    ) -> Result<Flow, StoreError> {
        if let Some(flow) = self.retry_or_give_up(action, &path, &error) {
            if let Flow::Failed(failure) = flow {
                // Dead-lettered: journaled as the run's last step, which `hookbot runs retry`
                // drops so the action is tried again.
                let outcome = StepOutcome::Failed {
                    error,
                    handled: false,
                };
                self.record(action, &path, started, outcome, vec![]).await?;
                return Ok(Flow::Failed(failure));
            }
            return Ok(flow);
        }
        let handled = action.on_error.is_some();
        let outcome = StepOutcome::Failed {
            error: error.clone(),
            handled,
        };
        self.record(action, &path, started, outcome, vec![]).await?;
        match &action.on_error {
            Some(on_error) => {
                tracing::warn!(run = %self.run.id, event = %self.event.id, action = %path, code = %error.code,
                    "{} failed: {}; running its on_error actions", action.kind(), error.message);
                self.exec_on_error(on_error, &path, error).await
            }
            None => Ok(Flow::Failed(failure_of(action, path, error))),
        }
    }

    /// For a transient failure under a retry policy: `Retry` at the next attempt's time, or
    /// `Failed` (dead-lettered) when the attempts or the time are used up. `None`: not for
    /// retrying (permanent, a dry run, a trial by hand).
    fn retry_or_give_up(
        &mut self,
        action: &Action,
        path: &str,
        error: &ActionError,
    ) -> Option<Flow> {
        let policy = self.ctx.retry?;
        if self.ctx.dry_run {
            return None;
        }
        let Class::Transient {
            retry_after,
            counts,
        } = retry::classify(error)
        else {
            return None;
        };
        let now = now_ms();
        let attempts = self.run.attempts + u32::from(counts);
        let give_up_at = self
            .run
            .requeued_at_ms
            .unwrap_or(self.run.received_at_ms)
            .max(self.run.received_at_ms)
            .saturating_add(policy.give_up_after.as_millis() as u64);
        let mut failure = failure_of(action, path.to_owned(), error.clone());
        if attempts >= policy.max_attempts || now >= give_up_at {
            let why = if attempts >= policy.max_attempts {
                format!("{attempts} attempts")
            } else {
                format!(
                    "{} since the webhook came",
                    format_duration(policy.give_up_after)
                )
            };
            failure.message = format!("{} (gave up after {why})", failure.message);
            self.run.attempts = attempts;
            self.run.dead_lettered = true;
            tracing::error!(run = %self.run.id, event = %self.event.id, action = %path, code = %error.code,
                "{} failed: {}; gave up after {why}: the run is dead-lettered (`hookbot runs retry {}` tries again)",
                action.kind(), error.message, self.run.id);
            return Some(Flow::Failed(failure));
        }
        let wait = retry_after
            .unwrap_or_else(|| backoff(attempts.max(1), self.rng.random_range(-1.0..=1.0)));
        let at = now.saturating_add(wait.as_millis() as u64).min(give_up_at);
        self.run.attempts = attempts;
        self.run.retry_waited_ms = self.run.retry_waited_ms.saturating_add(at - now);
        tracing::warn!(run = %self.run.id, event = %self.event.id, action = %path, code = %error.code,
            "{} failed: {}; attempt {attempts} of {}, trying again in {} ms",
            action.kind(), error.message, policy.max_attempts, at - now);
        Some(Flow::Retry(failure, at))
    }

    /// The step budget or the time budget is spent: the run ends with a clear error.
    fn budget_spent(&self, action: &Action, path: &str) -> Option<RunFailure> {
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

    /// Sleeps until `until_ms` (unix), giving the run's slot to others if the wait is long.
    /// `Interrupted` when shutdown comes first.
    async fn sleep_until(&mut self, until_ms: u64) -> Flow {
        let remaining = Duration::from_millis(until_ms.saturating_sub(now_ms()));
        if remaining.is_zero() {
            return Flow::Next;
        }
        let released = if remaining >= SLOT_RELEASE_WAIT {
            self.ctx.slot.take()
        } else {
            None
        };
        let semaphore = released.map(|(semaphore, permit)| {
            drop(permit);
            semaphore
        });
        let slept = tokio::select! {
            _ = tokio::time::sleep(remaining) => true,
            _ = self.ctx.shutdown.cancelled() => false,
        };
        if let Some(semaphore) = semaphore {
            let reacquired = tokio::select! {
                permit = semaphore.clone().acquire_owned() => permit.ok(),
                _ = self.ctx.shutdown.cancelled() => None,
            };
            match reacquired {
                Some(permit) => self.ctx.slot = Some((semaphore, permit)),
                None => return Flow::Interrupted,
            }
        }
        if slept {
            Flow::Next
        } else {
            Flow::Interrupted
        }
    }

    fn loop_plan(
        &self,
        count: &Template,
        delay: Option<&Template>,
    ) -> Result<(u64, Option<Duration>), ActionError> {
        let rendered = self.render(count);
        let count: u64 = rendered.trim().parse().map_err(|_| {
            invalid(format!(
                "loop count {rendered:?} is not a whole number from 0 to {MAX_LOOP_COUNT}"
            ))
        })?;
        if count > MAX_LOOP_COUNT {
            return Err(invalid(format!(
                "loop count {count} is over the limit of {MAX_LOOP_COUNT}"
            )));
        }
        let delay = delay
            .map(|d| self.bounded_duration(d, "loop delay", MAX_WAIT))
            .transpose()?;
        Ok((count, delay))
    }

    fn bounded_duration(
        &self,
        template: &Template,
        what: &str,
        max: Duration,
    ) -> Result<Duration, ActionError> {
        let rendered = self.render(template);
        let duration =
            parse_duration(&rendered).map_err(|error| invalid(format!("{what}: {error}")))?;
        if duration > max {
            return Err(invalid(format!(
                "{what} of {} is over the limit of {}",
                format_duration(duration),
                format_duration(max)
            )));
        }
        Ok(duration)
    }

    /// Evaluates a condition; the text explains the answer in plain words for the run's log.
    fn evaluate<'s>(
        &'s mut self,
        condition: &'a Condition,
    ) -> BoxFuture<'s, Result<(bool, String), ActionError>> {
        async move {
            match condition {
                Condition::Compare {
                    left,
                    op,
                    right,
                    ignore_case,
                } => {
                    let (left, right) = (self.render(left), self.render(right));
                    let holds = compare(&left, *op, &right, *ignore_case);
                    Ok((
                        holds,
                        format!("{left:?} {} {right:?} is {holds}", op.name()),
                    ))
                }
                Condition::Matches { left, pattern } => {
                    let left = self.render(left);
                    let holds = pattern.regex().is_match(&left);
                    Ok((
                        holds,
                        format!("{left:?} matches /{}/ is {holds}", pattern.as_str()),
                    ))
                }
                Condition::IsEmpty { left } => {
                    let left = self.render(left);
                    let holds = left.trim().is_empty();
                    Ok((holds, format!("{left:?} is empty is {holds}")))
                }
                Condition::HasRole { user, role } => {
                    let (user, role) = (self.render(user), self.render(role));
                    let discord = self.ctx.discord;
                    let guild = self.guild();
                    let holds = member_has_role(discord, guild, &user, &role)
                        .await
                        .map_err(action_error)?;
                    Ok((holds, format!("{user} has role {role} is {holds}")))
                }
                Condition::Chance { percent } => {
                    let roll: f64 = self.rng.random_range(0.0..100.0);
                    let holds = roll < *percent;
                    Ok((holds, format!("{percent}% chance is {holds}")))
                }
                Condition::All(list) | Condition::Any(list) => {
                    let all = matches!(condition, Condition::All(_));
                    let mut parts = Vec::new();
                    for inner in list {
                        let (holds, text) = self.evaluate(inner).await?;
                        parts.push(text);
                        // Short-circuits like `&&`/`||`: a has_role or chance after the
                        // deciding condition is not even looked at.
                        if holds != all {
                            let joined = parts.join(if all { " and " } else { " or " });
                            return Ok((holds, format!("({joined})")));
                        }
                    }
                    let joined = parts.join(if all { " and " } else { " or " });
                    Ok((all, format!("({joined})")))
                }
                Condition::Not(inner) => {
                    let (holds, text) = self.evaluate(inner).await?;
                    Ok((!holds, format!("not ({text})")))
                }
            }
        }
        .boxed()
    }

    /// [`perform`](Self::perform), noting that this execution has acted.
    async fn perform_once(&mut self, action: &Action) -> Result<Performed, ActionError> {
        let result = self.perform(action).await;
        self.acted = true;
        result
    }

    /// Carries out an action that is not flow.
    async fn perform(&self, action: &Action) -> Result<Performed, ActionError> {
        let dry_run = self.ctx.dry_run;
        match &action.kind {
            ActionKind::HttpRequest {
                method,
                url,
                headers,
                body,
                timeout,
            } => {
                let method = http_request::parse_method(&self.render(method))
                    .map_err(|e| invalid(e.to_string()))?;
                let url = self.render(url);
                let timeout = match timeout {
                    Some(t) => self.bounded_duration(t, "timeout", http_request::MAX_TIMEOUT)?,
                    None => http_request::DEFAULT_TIMEOUT,
                };
                let headers = headers
                    .iter()
                    .map(|(name, value)| (name.clone(), self.render(value)))
                    .collect();
                let body = body.as_ref().map(|body| match body {
                    HttpBodySpec::Json(document) => HttpBody::Json(self.render_json(document)),
                    HttpBodySpec::Text(text) => HttpBody::Text(self.render(text)),
                });
                let shown = url_without_query(&url).to_owned();
                if dry_run {
                    return Ok(performed(
                        format!("would call {method} {shown}"),
                        json!({"status": "dry-run", "ok": "dry-run", "body": "dry-run"}),
                    ));
                }
                let call = HttpCall {
                    method: method.clone(),
                    url,
                    headers,
                    body,
                    timeout,
                };
                let response = http_request::perform(http_request::shared_client(), call)
                    .await
                    .map_err(|e| ActionError {
                        message: e.to_string(),
                        code: "http_error".into(),
                        discord_code: None,
                        http_status: None,
                        retry_after_ms: None,
                    })?;
                let mut done = performed(
                    format!("called {method} {shown}: HTTP {}", response.status),
                    response.to_output(),
                );
                if response.truncated {
                    done.warnings.push(format!(
                        "the response was over {} bytes; only the start was kept",
                        http_request::MAX_RESPONSE_BYTES
                    ));
                }
                Ok(done)
            }
            ActionKind::SetVariable { scope, name, value } => {
                let scope = self.variable_scope(scope).await?;
                let value = self.render(value);
                if dry_run {
                    return Ok(performed(
                        format!("would set {name} ({scope}) to {value:?}"),
                        json!({ "value": value }),
                    ));
                }
                self.ctx
                    .store
                    .set_variable(&scope, name, &value)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(performed(
                    format!("set {name} ({scope}) to {value:?}"),
                    json!({ "value": value }),
                ))
            }
            ActionKind::DeleteVariable { scope, name } => {
                let scope = self.variable_scope(scope).await?;
                if dry_run {
                    return Ok(performed(
                        format!("would delete {name} ({scope})"),
                        json!({ "deleted": "dry-run" }),
                    ));
                }
                let deleted = self
                    .ctx
                    .store
                    .delete_variable(&scope, name)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                let summary = if deleted {
                    format!("deleted {name} ({scope})")
                } else {
                    format!("{name} ({scope}) was not set")
                };
                Ok(performed(summary, json!({ "deleted": deleted })))
            }
            ActionKind::GetVariable {
                scope,
                name,
                default,
                ..
            } => {
                let scope = self.variable_scope(scope).await?;
                let stored = self
                    .ctx
                    .store
                    .variable(&scope, name)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                let (value, summary) = match stored {
                    Some(value) => {
                        let summary = format!("read {name} ({scope}): {value:?}");
                        (value, summary)
                    }
                    None => {
                        let value = default.as_ref().map(|d| self.render(d)).unwrap_or_default();
                        let summary = format!("{name} ({scope}) is not set; using {value:?}");
                        (value, summary)
                    }
                };
                Ok(performed(summary, json!({ "value": value })))
            }
            ActionKind::Math {
                expression,
                variable,
            } => {
                let rendered = self.render(expression);
                let value = crate::math::evaluate(&rendered)
                    .map_err(|e| invalid(format!("math {rendered:?}: {e}")))?;
                Ok(performed(
                    format!("{variable} = {rendered} = {value}"),
                    json!({ "value": value.to_string() }),
                ))
            }
            kind => {
                let context = ActionContext {
                    discord: self.ctx.discord,
                    guild: self.guild(),
                    dry_run,
                    pacer: self.ctx.pacer,
                    nonce: Some(retry::nonce(self.run.id, self.steps.len())),
                    repeat: self.resumed && !self.acted,
                };
                let scope = self.scope();
                let attempt =
                    tokio::time::timeout(ACTION_TIMEOUT, actions::perform(&context, kind, &scope));
                match attempt.await {
                    Ok(result) => result.map_err(action_error),
                    Err(_) => Err(ActionError {
                        message: format!(
                            "Discord did not answer within {} s",
                            ACTION_TIMEOUT.as_secs()
                        ),
                        code: "timeout".into(),
                        discord_code: None,
                        http_status: None,
                        retry_after_ms: None,
                    }),
                }
            }
        }
    }

    /// Renders every string inside a JSON document, leaf by leaf, so a value can never break
    /// the document's syntax.
    fn render_json(&self, document: &Value) -> Value {
        match document {
            Value::String(text) => Value::String(self.render(&Template::new(text.as_str()))),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.render_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.render_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    async fn variable_scope(&self, spec: &VariableScopeSpec) -> Result<VariableScope, ActionError> {
        let server = self.event.server;
        Ok(match spec {
            VariableScopeSpec::Global => VariableScope::Global,
            VariableScopeSpec::Server => VariableScope::Server(server),
            VariableScopeSpec::User { user } => {
                let user = self
                    .ctx
                    .discord
                    .resolve_user(self.guild(), &self.render(user))
                    .await
                    .map_err(action_error)?;
                VariableScope::User {
                    server,
                    user: user.get(),
                }
            }
            VariableScopeSpec::Channel { channel } => {
                let channel = self
                    .ctx
                    .discord
                    .resolve_channel(self.guild(), &self.render(channel))
                    .await
                    .map_err(action_error)?;
                VariableScope::Channel(channel.id.get())
            }
        })
    }

    /// What a finished action leaves for the actions after it, the same live and on replay.
    fn apply(
        &mut self,
        action: &Action,
        output: &Map<String, Value>,
        channel: Option<&(u64, String)>,
    ) {
        if let Some(name) = &action.save_as {
            self.locals
                .saved
                .insert(name.clone(), Value::Object(output.clone()));
        }
        let variable = match &action.kind {
            ActionKind::Math { variable, .. } => Some(variable),
            ActionKind::GetVariable {
                variable: Some(variable),
                ..
            } => Some(variable),
            _ => None,
        };
        if let (Some(variable), Some(value)) = (variable, output.get("value")) {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            self.locals.plain.insert(variable.clone(), value);
        }
        if let Some((id, name)) = channel {
            self.builtins.insert("channel_id", id.to_string());
            self.builtins.insert("channel_name", name.clone());
        }
    }

    fn step(&self, action: &Action, path: &str, started: u64, outcome: StepOutcome) -> Step {
        Step {
            path: path.to_owned(),
            action: action.kind().to_owned(),
            line: action.line,
            started_at_ms: started,
            duration_ms: now_ms().saturating_sub(started),
            outcome,
            warnings: Vec::new(),
            channel: None,
        }
    }

    async fn record_done(
        &mut self,
        action: &Action,
        path: &str,
        started: u64,
        summary: String,
        output: Value,
    ) -> Result<(), StoreError> {
        let output = match output {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self.apply(action, &output, None);
        self.record(
            action,
            path,
            started,
            StepOutcome::Done { summary, output },
            vec![],
        )
        .await
    }

    async fn record(
        &mut self,
        action: &Action,
        path: &str,
        started: u64,
        outcome: StepOutcome,
        warnings: Vec<String>,
    ) -> Result<(), StoreError> {
        let mut step = self.step(action, path, started, outcome);
        step.warnings = warnings;
        self.push_step(step).await
    }

    /// Journals a step: after this, a restart replays it instead of acting again.
    async fn push_step(&mut self, step: Step) -> Result<(), StoreError> {
        let index = self.steps.len() as u32;
        if !self.ctx.dry_run {
            self.ctx
                .store
                .append_step(self.run.id, index, &step)
                .await?;
            metrics::histogram!(crate::metrics::ACTION_SECONDS, "action" => step.action.clone())
                .record(step.duration_ms as f64 / 1000.0);
            if matches!(step.outcome, StepOutcome::Failed { .. }) {
                metrics::counter!(crate::metrics::ACTION_ERRORS, "action" => step.action.clone())
                    .increment(1);
            }
        }
        log_step(self.run, self.event, &step);
        self.steps.push(step);
        self.next_step = self.steps.len();
        self.run.steps = index + 1;
        Ok(())
    }
}

fn log_step(run: &Run, event: &Event, step: &Step) {
    match &step.outcome {
        StepOutcome::Done { summary, .. } => {
            tracing::info!(run = %run.id, event = %event.id, action = %step.path, "{summary}")
        }
        StepOutcome::Waiting { until_ms } => {
            let seconds = until_ms.saturating_sub(step.started_at_ms) / 1000;
            tracing::info!(run = %run.id, event = %event.id, action = %step.path, "waiting {seconds} s")
        }
        StepOutcome::Failed { .. } => {}
    }
    for warning in &step.warnings {
        tracing::warn!(run = %run.id, event = %event.id, action = %step.path, "{warning}");
    }
}

/// Whether the member has the role now: the cache when it knows the member, else Discord.
async fn member_has_role(
    discord: &Discord,
    guild: GuildId,
    user: &str,
    role: &str,
) -> Result<bool, CallError> {
    let user = discord.resolve_user(guild, user).await?;
    let (role, _) = discord.resolve_role(guild, role).await?;
    let cached = discord
        .cache
        .guild(guild)
        .and_then(|g| g.members.get(&user).map(|m| m.roles.contains(&role)));
    if let Some(holds) = cached {
        return Ok(holds);
    }
    let member = discord.member(guild, user).await?;
    Ok(member.roles.contains(&role))
}

fn performed(summary: String, output: Value) -> Performed {
    Performed {
        summary,
        output: match output {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        warnings: Vec::new(),
        channel: None,
    }
}

fn invalid(message: String) -> ActionError {
    ActionError {
        message,
        code: "invalid".into(),
        discord_code: None,
        http_status: None,
        retry_after_ms: None,
    }
}

fn budget_error(message: String) -> ActionError {
    ActionError {
        message,
        code: "budget".into(),
        discord_code: None,
        http_status: None,
        retry_after_ms: None,
    }
}

/// Discord's own words and numbers when Discord refused; else what went wrong.
pub fn action_error(error: CallError) -> ActionError {
    let code = error.code();
    match error {
        CallError::Discord {
            status,
            code: discord_code,
            message,
            retry_after_ms,
        } => ActionError {
            message,
            code,
            discord_code: Some(discord_code),
            http_status: Some(status),
            retry_after_ms,
        },
        CallError::Paused {
            message,
            retry_after_ms,
        } => ActionError {
            message,
            code,
            discord_code: None,
            http_status: None,
            retry_after_ms: Some(retry_after_ms),
        },
        other => ActionError {
            message: other.to_string(),
            code,
            discord_code: None,
            http_status: None,
            retry_after_ms: None,
        },
    }
}

fn failure_of(action: &Action, path: String, error: ActionError) -> RunFailure {
    RunFailure {
        path,
        action: action.kind().to_owned(),
        message: error.message,
        discord_code: error.discord_code,
        http_status: error.http_status,
    }
}

/// `https://host/path` without the query string, which may carry secrets, for logs.
fn url_without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Texts compare as texts; `equals`/`not_equals` also call two numbers equal when their values
/// are (`1.0` equals `1`); `greater_than`/`less_than` need two numbers and are false otherwise.
pub fn compare(left: &str, op: CompareOp, right: &str, ignore_case: bool) -> bool {
    let number = |text: &str| text.trim().parse::<f64>().ok().filter(|n| n.is_finite());
    let (l, r) = if ignore_case {
        (left.to_lowercase(), right.to_lowercase())
    } else {
        (left.to_owned(), right.to_owned())
    };
    let equal = l == r || matches!((number(left), number(right)), (Some(a), Some(b)) if a == b);
    match op {
        CompareOp::Equals => equal,
        CompareOp::NotEquals => !equal,
        CompareOp::Contains => l.contains(&r),
        CompareOp::StartsWith => l.starts_with(&r),
        CompareOp::EndsWith => l.ends_with(&r),
        CompareOp::GreaterThan => {
            matches!((number(left), number(right)), (Some(a), Some(b)) if a > b)
        }
        CompareOp::LessThan => matches!((number(left), number(right)), (Some(a), Some(b)) if a < b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        use CompareOp::*;
        assert!(compare("down", Equals, "down", false));
        assert!(!compare("Down", Equals, "down", false));
        assert!(compare("Down", Equals, "down", true));
        assert!(compare("1.0", Equals, "1", false));
        assert!(compare("up", NotEquals, "down", false));
        assert!(compare("refs/heads/main", EndsWith, "/main", false));
        assert!(compare("refs/heads/main", StartsWith, "refs/", false));
        assert!(compare("Hello World", Contains, "world", true));
        assert!(compare("10", GreaterThan, "9", false));
        assert!(!compare("10", LessThan, "9", false));
        assert!(!compare("ten", GreaterThan, "9", false));
        assert!(!compare("ten", LessThan, "9", false));
        assert!(compare("-2.5", LessThan, "0", false));
    }

    #[test]
    fn paths_count_from_one() {
        assert_eq!(child_path("", 0), "1");
        assert_eq!(child_path("3.then", 1), "3.then.2");
    }

    #[test]
    fn urls_lose_their_query_in_logs() {
        assert_eq!(
            url_without_query("https://x.test/a?token=secret#f"),
            "https://x.test/a"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn op() -> impl Strategy<Value = CompareOp> {
            prop_oneof![
                Just(CompareOp::Equals),
                Just(CompareOp::NotEquals),
                Just(CompareOp::Contains),
                Just(CompareOp::StartsWith),
                Just(CompareOp::EndsWith),
                Just(CompareOp::GreaterThan),
                Just(CompareOp::LessThan),
            ]
        }

        proptest! {
            #[test]
            fn comparing_never_panics(left in any::<String>(), right in any::<String>(), op in op(), ignore_case in any::<bool>()) {
                let _ = compare(&left, op, &right, ignore_case);
            }

            #[test]
            fn equals_and_not_equals_are_opposites(left in any::<String>(), right in any::<String>(), ignore_case in any::<bool>()) {
                prop_assert_ne!(
                    compare(&left, CompareOp::Equals, &right, ignore_case),
                    compare(&left, CompareOp::NotEquals, &right, ignore_case)
                );
            }

            #[test]
            fn numbers_order_like_numbers(a in -1.0e9f64..1.0e9, b in -1.0e9f64..1.0e9) {
                let (l, r) = (a.to_string(), b.to_string());
                prop_assert_eq!(compare(&l, CompareOp::GreaterThan, &r, false), a > b);
                prop_assert_eq!(compare(&l, CompareOp::LessThan, &r, false), a < b);
            }

            #[test]
            fn a_text_contains_its_own_parts(text in any::<String>(), cut in 0usize..64) {
                let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
                let (head, tail) = text.split_at(cut);
                prop_assert!(compare(&text, CompareOp::StartsWith, head, false));
                prop_assert!(compare(&text, CompareOp::EndsWith, tail, false));
                prop_assert!(compare(&text, CompareOp::Contains, tail, false));
            }
        }
    }
}
