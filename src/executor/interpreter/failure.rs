//! What a failed action does to its run: tried again later under the retry policy,
//! dead-lettered when the attempts or the time are used up, or a failure in Discord's own words.

use rand::Rng;

use super::state::{Flow, Interpreter};
use crate::discord::CallError;
use crate::events::Action;
use crate::executor::retry::{self, Class};
use crate::lang::duration::format_duration;
use crate::queue::retry::backoff;
use crate::run::{unix_now_ms as now_ms, ActionError, RunFailure};

impl Interpreter<'_> {
    /// For a transient failure under a retry policy: `Retry` at the next attempt's time, or
    /// `Failed` (dead-lettered) when the attempts or the time are used up. `None`: not for
    /// retrying (permanent, a dry run, a trial by hand).
    pub(super) fn retry_or_give_up(
        &mut self,
        action: &Action,
        path: &str,
        error: &ActionError,
    ) -> Option<Flow> {
        let policy = self.ctx.retry?;
        if self.ctx.dry_run {
            return None;
        }
        if error.code == "paced" {
            // Not a failure: the call waits for Discord's pace, and the run for it, parked
            // (without a time when it waits for its line to reach it).
            let until = error
                .retry_after_ms
                .map(|wait| now_ms().saturating_add(wait));
            return Some(Flow::Park(until));
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
}

/// An action asked for something that cannot be: a bad number, duration, method or value.
pub(super) fn invalid(message: String) -> ActionError {
    ActionError {
        message,
        code: "invalid".into(),
        discord_code: None,
        http_status: None,
        retry_after_ms: None,
    }
}

/// A call hookbot's own governor held back (nothing was sent), to be tried after `retry_after_ms`.
fn held_back(message: String, code: String, retry_after_ms: Option<u64>) -> ActionError {
    ActionError {
        message,
        code,
        discord_code: None,
        http_status: None,
        retry_after_ms,
    }
}

/// Discord's own words and numbers when Discord refused; else what went wrong.
pub(super) fn action_error(error: CallError) -> ActionError {
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
        } => held_back(message, code, Some(retry_after_ms)),
        CallError::Paced {
            message,
            retry_after_ms,
        } => held_back(message, code, retry_after_ms),
        other => ActionError {
            message: other.to_string(),
            code,
            discord_code: None,
            http_status: None,
            retry_after_ms: None,
        },
    }
}

/// How `action` at `path` failed the run, for its record.
pub(super) fn failure_of(action: &Action, path: String, error: ActionError) -> RunFailure {
    RunFailure {
        path,
        action: action.kind().to_owned(),
        message: error.message,
        discord_code: error.discord_code,
        http_status: error.http_status,
    }
}
