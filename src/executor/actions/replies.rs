//! reply: answers the slash command or the button click that started the run. The run's first
//! reply after a "thinking…" acknowledgement edits that answer (`PATCH …/@original`), so a
//! reply repeated after a crash between the call and the journal lands once; later replies,
//! and replies to a click, are follow-ups, which Discord cannot deduplicate: one repeated in
//! that window posts twice (at-least-once). Ephemeral when the event says so.

use super::job::{discord_link, Job, Performed};
use super::render::render_message;
use crate::discord::CallError;
use crate::events::ActionKind;
use crate::lang::templates::Lookup;
use crate::run::InteractionRef;

pub(super) async fn perform<L: Lookup>(
    mut job: Job<'_, L>,
    interaction: Option<&InteractionRef>,
    replied: bool,
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
    let edits_the_answer = interaction.thinking && !replied;
    let sent = if edits_the_answer {
        job.discord.edit_original(interaction, &body).await?
    } else {
        job.discord
            .follow_up(interaction, &body, *ephemeral)
            .await?
    };
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
