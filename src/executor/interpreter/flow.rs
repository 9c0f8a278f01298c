//! Walking an event's action tree for one run: action lists, `if`, `random`, `loop`,
//! `stop_loop`, `stop`, `wait`, `on_error`, and the same walk replaying the journal of a run
//! that resumes.

use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::failure::{failure_of, invalid};
use super::state::{Flow, Interpreter};
use crate::engine::StoreError;
use crate::events::{Action, ActionKind, MAX_LOOP_COUNT, MAX_WAIT};
use crate::executor::scope::LoopFrame;
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::templates::Template;
use crate::run::{unix_now_ms as now_ms, ActionError, StepOutcome};

/// Waits shorter than this keep the run's slot; longer ones give it to other runs meanwhile.
const SLOT_RELEASE_WAIT: Duration = Duration::from_secs(1);

/// `3`, `3.then.1`, `5.loop[2].1`: 1-based, as people count.
fn child_path(prefix: &str, index: usize) -> String {
    if prefix.is_empty() {
        (index + 1).to_string()
    } else {
        format!("{prefix}.{}", index + 1)
    }
}

impl<'a> Interpreter<'a> {
    /// Runs `actions` in order until one of them changes the flow; `prefix` is the list's path.
    pub(super) fn exec_list<'s>(
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
        if self.replaying() {
            return self.replay(action, path).await;
        }
        if let Some(failure) = self.budget_spent(action, &path) {
            return Ok(Flow::Failed(failure));
        }
        let started = now_ms();
        self.read_persistent(&action.kind.texts()).await;
        match &action.kind {
            ActionKind::If {
                condition,
                then,
                otherwise,
            } => {
                let verdict = match self.evaluate(condition).await {
                    Ok(verdict) => verdict,
                    Err(error) => return self.failed(action, path, started, error).await,
                };
                let holds = verdict.holds;
                let branch = if holds { "then" } else { "else" };
                let summary = format!("{}: {branch}", verdict.explained);
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
                    let output = wait_result(started, started + duration.as_millis() as u64);
                    self.record_done(action, &path, started, summary, Value::Object(output))
                        .await?;
                    return Ok(Flow::Next);
                }
                let until_ms = started + duration.as_millis() as u64;
                if let Err(error) = self.wait_fits(until_ms) {
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
                Ok(self.waited(action, started, until_ms).await)
            }
            _ => match self.perform_once(action).await {
                Ok(performed) => {
                    self.run.attempts = 0;
                    self.record_performed(action, &path, started, performed)
                        .await?;
                    Ok(Flow::Next)
                }
                Err(error) => self.failed(action, path, started, error).await,
            },
        }
    }

    /// Replays the next journaled step for `action`, acting only where the journal says the
    /// run was in the middle of something (a wait, a loop, a branch).
    async fn replay(&mut self, action: &'a Action, path: String) -> Result<Flow, StoreError> {
        let step = match self.next_recorded(action, &path) {
            Ok(step) => step,
            Err(failure) => return Ok(Flow::Failed(failure)),
        };
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
                        let texts: Vec<&str> = delay.iter().map(Template::as_str).collect();
                        self.read_persistent(&texts).await;
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
            StepOutcome::Waiting { until_ms } => {
                Ok(self.waited(action, step.started_at_ms, until_ms).await)
            }
        }
    }

    /// Sleeps until `until_ms`, then fills the wait's result (`{NAME.seconds}`). The result
    /// comes from the journaled step's start and end, so a run resumed after a restart gets the
    /// same value as the one that began the wait.
    async fn waited(&mut self, action: &'a Action, started_ms: u64, until_ms: u64) -> Flow {
        let flow = self.sleep_until(until_ms).await;
        if let Flow::Next = flow {
            self.apply(action, &wait_result(started_ms, until_ms), None);
        }
        flow
    }

    async fn exec_loop(
        &mut self,
        body: &'a [Action],
        path: &str,
        count: u64,
        delay: Option<Duration>,
    ) -> Result<Flow, StoreError> {
        self.values.loop_counts.push(count);
        let mut outcome = Flow::Next;
        for index in 0..count {
            // Delays already waited before a restart are not waited again.
            let live = !self.replaying();
            if let (true, Some(delay), true) = (index > 0, delay, live && !self.ctx.dry_run) {
                let until = now_ms() + delay.as_millis() as u64;
                if let Flow::Interrupted = self.sleep_until(until).await {
                    outcome = Flow::Interrupted;
                    break;
                }
            }
            self.values.loops.push(LoopFrame { index });
            let flow = self
                .exec_list(body, format!("{path}.loop[{}]", index + 1))
                .await;
            self.values.loops.pop();
            match flow? {
                Flow::Next => {}
                Flow::BreakLoop => break,
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        self.values.loop_counts.pop();
        Ok(outcome)
    }

    async fn exec_on_error(
        &mut self,
        on_error: &'a [Action],
        path: &str,
        error: ActionError,
    ) -> Result<Flow, StoreError> {
        self.values.errors.push(error);
        let flow = self.exec_list(on_error, format!("{path}.on_error")).await;
        self.values.errors.pop();
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

    /// Sleeps until `until_ms` (unix), giving the run's slot to others if the wait is long.
    /// `Interrupted` when shutdown comes first.
    async fn sleep_until(&mut self, until_ms: u64) -> Flow {
        let remaining = Duration::from_millis(until_ms.saturating_sub(now_ms()));
        if remaining.is_zero() {
            return Flow::Next;
        }
        let lent = remaining >= SLOT_RELEASE_WAIT
            && self.ctx.slot.as_mut().is_some_and(|slot| slot.lend());
        let slept = tokio::select! {
            _ = tokio::time::sleep(remaining) => true,
            _ = self.ctx.shutdown.cancelled() => false,
        };
        if let (true, Some(slot)) = (lent, self.ctx.slot.as_mut()) {
            let taken_back = tokio::select! {
                taken = slot.take_back() => taken,
                _ = self.ctx.shutdown.cancelled() => false,
            };
            if !taken_back {
                return Flow::Interrupted;
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
}

/// A `wait`'s result: `seconds`, the time it waited as the event asked for it (`90` for
/// "90s", `0.5` for "500ms").
fn wait_result(started_ms: u64, until_ms: u64) -> Map<String, Value> {
    let ms = until_ms.saturating_sub(started_ms);
    let seconds = if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    };
    let mut output = Map::new();
    output.insert("seconds".to_owned(), seconds);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_count_from_one() {
        assert_eq!(child_path("", 0), "1");
        assert_eq!(child_path("3.then", 1), "3.then.2");
    }
}
