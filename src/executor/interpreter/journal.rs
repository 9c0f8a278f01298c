//! The journal: every action taken is recorded as a [`Step`] before the run goes on, so a
//! resumed run replays the recorded outcome (the branch taken, the message id kept) instead of
//! acting again.

use serde_json::{Map, Value};

use super::state::Interpreter;
use crate::engine::StoreError;
use crate::events::{Action, ActionKind, Event};
use crate::executor::actions::Performed;
use crate::run::{unix_now_ms as now_ms, Run, RunFailure, Step, StepOutcome};

impl Interpreter<'_> {
    /// True while the walk is still inside the journal of an earlier execution.
    pub(super) fn replaying(&self) -> bool {
        self.next_step < self.steps.len()
    }

    /// The journaled step for `action` at `path`, consumed; a failure when the journal no
    /// longer matches the event.
    pub(super) fn next_recorded(
        &mut self,
        action: &Action,
        path: &str,
    ) -> Result<Step, RunFailure> {
        let step = self.steps[self.next_step].clone();
        self.next_step += 1;
        if step.path != path || step.action != action.kind() {
            // The event file changed while this run was in progress: its journal no longer
            // matches, and acting on a different event could repeat or skip things.
            return Err(RunFailure {
                path: path.to_owned(),
                action: action.kind().to_owned(),
                message: format!(
                    "the event changed while this run was in progress (step {} was {} at {}); it cannot resume safely",
                    self.next_step,
                    step.action,
                    step.path
                ),
                discord_code: None,
                http_status: None,
            });
        }
        Ok(step)
    }

    /// What a finished action leaves for the actions after it, the same live and on replay.
    pub(super) fn apply(
        &mut self,
        action: &Action,
        output: &Map<String, Value>,
        channel: Option<&(u64, String)>,
    ) {
        if let Some(name) = &action.save_as {
            self.values
                .locals
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
            self.values.locals.plain.insert(variable.clone(), value);
        }
        if let Some((id, name)) = channel {
            self.values.builtins.insert("channel_id", id.to_string());
            self.values.builtins.insert("channel_name", name.clone());
        }
    }

    /// Journals what an action carried out, and leaves its output to the actions after it.
    pub(super) async fn record_performed(
        &mut self,
        action: &Action,
        path: &str,
        started: u64,
        performed: Performed,
    ) -> Result<(), StoreError> {
        let Performed {
            summary,
            output,
            warnings,
            channel,
        } = performed;
        self.apply(action, &output, channel.as_ref());
        let mut step = self.step(action, path, started, StepOutcome::Done { summary, output });
        step.warnings = warnings;
        step.channel = channel;
        self.push_step(step).await
    }

    /// A step for `action`, timed from `started` to now.
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

    /// Journals a finished flow step whose output the actions after it may read.
    pub(super) async fn record_done(
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

    /// Journals a step with this outcome.
    pub(super) async fn record(
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

/// One log line per step (and one per warning), naming the run so its story can be followed.
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
