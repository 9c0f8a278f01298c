//! The notice that replaces "thinking…" when a run started by a slash command ends without
//! having replied (it failed, was dead-lettered, its event is gone, or it took a branch with no
//! `reply`), so the member is not left looking at "thinking…" for good.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::discord::Discord;
use crate::run::{has_replied, Run, RunStatus, Step};

/// How long the notice may take; the run has ended, so its worker does not wait longer.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the member is shown instead of "thinking…": what happened, in a few words, and the run
/// to look up. Never the failure's own message, which may hold what a template filled in (a
/// URL, a header) or a Discord error meant for the operator.
pub fn notice(run: &Run) -> String {
    let Some(failure) = run
        .error
        .as_ref()
        .filter(|_| run.status == RunStatus::Failed)
    else {
        return "Done.".to_owned();
    };
    let what = if failure.action.is_empty() {
        "it could not start".to_owned()
    } else if run.dead_lettered {
        format!(
            "its `{}` step kept failing and was given up on",
            failure.action
        )
    } else {
        format!("its `{}` step failed", failure.action)
    };
    format!(
        "Sorry, this did not work: {what}. The bot's operator can look it up as run {}.",
        run.id
    )
}

/// When `run` has ended and its interaction still shows "thinking…" (the acknowledgement was
/// deferred and no `reply` in `steps` replaced it), edits that answer into the [`notice`].
pub async fn answer_if_unanswered(discord: &Discord, run: &Run, steps: &[Step]) {
    let Some(interaction) = run.interaction.as_ref().filter(|i| i.thinking) else {
        return;
    };
    if run.status == RunStatus::Pending || has_replied(steps) {
        return;
    }
    let mut body = Map::new();
    body.insert("content".into(), Value::String(notice(run)));
    body.insert("allowed_mentions".into(), json!({ "parse": [] }));
    let edited = tokio::time::timeout(NOTICE_TIMEOUT, discord.edit_original(interaction, &body));
    match edited.await {
        Ok(Ok(_)) => {
            tracing::info!(run = %run.id, "told the member the run ended without a reply")
        }
        // The token lasts 15 minutes: a run that retried for longer cannot answer any more.
        Ok(Err(error)) => {
            tracing::warn!(run = %run.id, %error, "could not replace \"thinking…\" with a notice")
        }
        Err(_) => {
            tracing::warn!(run = %run.id, "Discord did not take the notice that replaces \"thinking…\" within {} s", NOTICE_TIMEOUT.as_secs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::templates::Variables;
    use crate::run::{RunFailure, RunId};

    fn ended(status: RunStatus, action: &str, dead_lettered: bool) -> Run {
        let mut run = Run::new(RunId(7), "deploy".into(), Variables::new(), 0);
        run.status = status;
        run.dead_lettered = dead_lettered;
        if status == RunStatus::Failed {
            run.error = Some(RunFailure {
                path: "2".into(),
                action: action.into(),
                message: "GET https://user:secret@example.com failed".into(),
                discord_code: None,
                http_status: None,
            });
        }
        run
    }

    #[test]
    fn the_notice_says_what_happened_without_the_failure_itself() {
        let failed = notice(&ended(RunStatus::Failed, "http_request", false));
        assert!(failed.contains("`http_request` step failed"), "{failed}");
        assert!(failed.contains(&RunId(7).to_string()), "{failed}");
        assert!(!failed.contains("secret"), "{failed}");
        let given_up = notice(&ended(RunStatus::Failed, "send_message", true));
        assert!(given_up.contains("given up"), "{given_up}");
        let gone = notice(&ended(RunStatus::Failed, "", false));
        assert!(gone.contains("could not start"), "{gone}");
        assert_eq!(notice(&ended(RunStatus::Succeeded, "", false)), "Done.");
    }
}
