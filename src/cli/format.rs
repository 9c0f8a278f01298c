//! How the CLI writes times, run statuses and steps.

use crate::run::{Run, RunStatus, Step, StepOutcome};

/// `2024-05-01T12:00:00.000Z` (RFC 3339, UTC) for a unix time in milliseconds.
pub(super) fn rfc3339(unix_ms: u64) -> String {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    match serenity::all::Timestamp::from_unix_timestamp(seconds) {
        Ok(at) => at.to_string(),
        Err(_) => format!("@{unix_ms}ms"),
    }
}

/// `succeeded`, `failed`, `dead-lettered (8 attempts)`, `pending (attempt 2 failed; next at …)`.
pub(super) fn status_words(run: &Run) -> String {
    let word = crate::queue::status_word(run);
    match (run.status, run.attempts) {
        (RunStatus::Pending, 0) => word.to_owned(),
        (RunStatus::Pending, attempts) => {
            let next = run
                .next_attempt_at_ms
                .map(|at| format!("; next at {}", rfc3339(at)))
                .unwrap_or_default();
            format!("{word} ({attempts} failed attempt(s){next})")
        }
        (_, 0) => word.to_owned(),
        (_, attempts) => format!("{word} ({attempts} attempt(s))"),
    }
}

/// One line per step: where, what, and what happened.
pub(super) fn describe_step(step: &Step) -> String {
    let what = match &step.outcome {
        StepOutcome::Done { summary, .. } => summary.clone(),
        StepOutcome::Waiting { until_ms } => format!(
            "waited {}",
            crate::lang::duration::format_duration(std::time::Duration::from_millis(
                until_ms.saturating_sub(step.started_at_ms)
            ))
        ),
        StepOutcome::Failed { error, handled } => {
            let then = if *handled {
                "; its on_error actions ran"
            } else {
                ""
            };
            format!("FAILED: {} (code {}){then}", error.message, error.code)
        }
    };
    let mut line = format!("  {:<12} {:<16} {what}", step.path, step.action);
    for warning in &step.warnings {
        line.push_str(&format!("\n  {:<12} {:<16} warning: {warning}", "", ""));
    }
    line
}
