//! reply: answers the slash command or the button click that started the run, as a follow-up
//! on its interaction (the first one after the "thinking…" acknowledgement replaces it),
//! ephemeral when the event says so.

use super::job::{discord_link, Job, Performed};
use super::render::render_message;
use crate::discord::CallError;
use crate::events::ActionKind;
use crate::lang::templates::Lookup;
use crate::run::InteractionRef;

pub(super) async fn perform<L: Lookup>(
    mut job: Job<'_, L>,
    interaction: Option<&InteractionRef>,
) -> Result<Performed, CallError> {
    let ActionKind::Reply {
        message,
        ephemeral,
        buttons,
    } = job.kind
    else {
        return Err(CallError::Invalid(format!(
            "{} is not a reply",
            job.kind.name()
        )));
    };
    let Some(interaction) = interaction else {
        return Err(CallError::Invalid(
            "reply answers the interaction that started the run, and this run has none to answer"
                .to_owned(),
        ));
    };
    let store = job.store;
    let components = super::buttons::components(&mut job, buttons, store).await?;
    let with_buttons = components
        .as_ref()
        .map(super::buttons::describe)
        .unwrap_or_default();
    let rendered = render_message(message, job.vars, &mut job.warnings)?;
    if rendered.is_empty() {
        return Err(CallError::Invalid(
            "the reply is empty after filling in the variables (no content and no embed); nothing was sent"
                .to_owned(),
        ));
    }
    let who = if *ephemeral {
        " (only the member sees it)"
    } else {
        ""
    };
    if job.dry_run {
        return Ok(job.would(
            format!("would reply{who}: {}{with_buttons}", rendered.describe()),
            None,
        ));
    }
    let mut body = rendered.to_json();
    if let Some(components) = components {
        body.insert("components".into(), components);
    }
    let sent = job
        .discord
        .follow_up(interaction, &body, *ephemeral)
        .await?;
    let summary = format!("replied{who} with message {}{with_buttons}", sent.id);
    let output = vec![
        ("id", sent.id.to_string()),
        ("channel_id", sent.channel_id.to_string()),
        (
            "url",
            discord_link(Some(job.guild), sent.channel_id.get(), Some(sent.id.get())),
        ),
    ];
    Ok(job.done(summary, output, None))
}
