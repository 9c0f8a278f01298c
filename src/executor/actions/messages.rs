//! send_message, send_dm, edit_message, delete_message, react, pin_message, unpin_message,
//! publish_message.

use serde_json::{json, Value};
use serenity::all::{ChannelId, MessageId};

use super::job::{channel_words, discord_link, Job, Performed};
use super::render::render_message;
use super::values::{parse_emoji, EmojiRef};
use crate::discord::{CallError, ChannelRef};
use crate::events::ActionKind;
use crate::lang::templates::Lookup;

const EMPTY_MESSAGE: &str =
    "the message is empty after filling in the variables (no content and no embed); nothing was sent";

pub(super) async fn perform<L: Lookup>(mut job: Job<'_, L>) -> Result<Performed, CallError> {
    let guild = Some(job.guild);
    match job.kind {
        ActionKind::SendMessage {
            channel,
            message,
            reply_to,
            tts,
            buttons,
        } => {
            if !buttons.is_empty() {
                // The gateway side of triggers renders them into the message's components.
                job.warnings.push(format!(
                    "{} button(s) left out: this build does not send buttons yet",
                    buttons.len()
                ));
            }
            let reply_to = job
                .optional(reply_to)
                .map(|id| super::values::snowflake(&id, "reply_to"))
                .transpose()?;
            let rendered = render_message(message, job.vars, &mut job.warnings)?;
            if rendered.is_empty() {
                return Err(CallError::Invalid(EMPTY_MESSAGE.to_owned()));
            }
            let channel = job.channel(channel).await?;
            let mut body = rendered.to_json();
            if *tts {
                body.insert("tts".into(), json!(true));
            }
            if let Some(reply_to) = reply_to {
                body.insert(
                    "message_reference".into(),
                    json!({ "message_id": reply_to.to_string(), "fail_if_not_exists": false }),
                );
            }
            if job.dry_run {
                let mut summary = format!(
                    "would send to {}: {}",
                    channel_words(&channel),
                    rendered.describe()
                );
                if let Some(reply_to) = reply_to {
                    summary.push_str(&format!(", replying to message {reply_to}"));
                }
                if *tts {
                    summary.push_str(", read aloud (tts)");
                }
                return Ok(job.would(summary, Some(&channel)));
            }
            add_nonce(&mut body, job.nonce);
            let sent = job.writer.send_message(channel.id, &body).await?;
            let summary = format!("sent message {} to {channel}", sent.id);
            let output = message_output(guild, sent.channel_id, sent.id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::SendDm { user, message } => {
            let rendered = render_message(message, job.vars, &mut job.warnings)?;
            if rendered.is_empty() {
                return Err(CallError::Invalid(EMPTY_MESSAGE.to_owned()));
            }
            let user = job.user(user).await?;
            if job.dry_run {
                let summary = format!("would send a DM to {user}: {}", rendered.describe());
                return Ok(job.would(summary, None));
            }
            let dm = job.writer.open_dm(user.id).await?;
            let mut body = rendered.to_json();
            add_nonce(&mut body, job.nonce);
            let sent = job.writer.send_message(dm.id, &body).await?;
            let name = format!("@{}", dm.recipient.name);
            let summary = format!("sent DM {} to {name} ({})", sent.id, user.id);
            let channel = ChannelRef {
                id: dm.id,
                name: Some(name),
            };
            let output = message_output(None, sent.channel_id, sent.id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::EditMessage {
            channel,
            message_id,
            message,
        } => {
            let message_id = MessageId::new(job.id(message_id, "message_id")?);
            let rendered = render_message(message, job.vars, &mut job.warnings)?;
            if rendered.is_empty() {
                return Err(CallError::Invalid(
                    "the new content and embeds are empty after filling in the variables; \
                     the message was not edited"
                        .to_owned(),
                ));
            }
            let channel = job.channel(channel).await?;
            if job.dry_run {
                let summary = format!(
                    "would edit message {message_id} in {}: {}",
                    channel_words(&channel),
                    rendered.describe()
                );
                return Ok(job.would(summary, Some(&channel)));
            }
            let edited = job
                .writer
                .edit_message(channel.id, message_id, &rendered.to_json())
                .await?;
            let summary = format!("edited message {message_id} in {channel}");
            let output = message_output(guild, edited.channel_id, edited.id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::DeleteMessage {
            channel,
            message_id,
            reason,
        }
        | ActionKind::PinMessage {
            channel,
            message_id,
            reason,
        }
        | ActionKind::UnpinMessage {
            channel,
            message_id,
            reason,
        } => {
            let message_id = MessageId::new(job.id(message_id, "message_id")?);
            let reason = job.reason(reason);
            let channel = job.channel(channel).await?;
            let (verb, past, preposition) = match job.kind {
                ActionKind::DeleteMessage { .. } => ("delete", "deleted", "in"),
                ActionKind::PinMessage { .. } => ("pin", "pinned", "in"),
                _ => ("unpin", "unpinned", "in"),
            };
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                let summary = format!(
                    "would {verb} message {message_id} {preposition} {}{why}",
                    channel_words(&channel)
                );
                return Ok(job.would(summary, Some(&channel)));
            }
            let reason = reason.as_deref();
            let writer = job.writer;
            match job.kind {
                ActionKind::DeleteMessage { .. } => {
                    let deleted = writer.delete_message(channel.id, message_id, reason).await;
                    match deleted {
                        // Deleted already: by this run before a crash or a retry, or by
                        // someone else. Either way the message is gone, as asked.
                        Err(CallError::Discord { code: 10008, .. }) if job.repeat => {}
                        other => other?,
                    }
                }
                ActionKind::PinMessage { .. } => {
                    writer.pin_message(channel.id, message_id, reason).await?
                }
                _ => writer.unpin_message(channel.id, message_id, reason).await?,
            }
            let summary = format!("{past} message {message_id} {preposition} {channel}{why}");
            let output = target_output(channel.id, message_id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::React {
            channel,
            message_id,
            emoji,
        } => {
            let message_id = MessageId::new(job.id(message_id, "message_id")?);
            let emoji = parse_emoji(&job.render(emoji))?;
            let channel = job.channel(channel).await?;
            let emoji = match emoji {
                EmojiRef::Named(name) => {
                    let (id, name, animated) = job.discord.find_emoji(job.guild, &name).await?;
                    EmojiRef::Custom {
                        name,
                        id: id.get(),
                        animated,
                    }
                }
                other => other,
            };
            let reaction = emoji
                .reaction()
                .ok_or_else(|| CallError::Invalid(format!("emoji {emoji} is not usable")))?;
            if job.dry_run {
                let summary = format!(
                    "would react with {emoji} to message {message_id} in {}",
                    channel_words(&channel)
                );
                return Ok(job.would(summary, Some(&channel)));
            }
            job.writer.react(channel.id, message_id, &reaction).await?;
            let summary = format!("reacted with {emoji} to message {message_id} in {channel}");
            let output = target_output(channel.id, message_id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::PublishMessage {
            channel,
            message_id,
        } => {
            let message_id = MessageId::new(job.id(message_id, "message_id")?);
            let channel = job.channel(channel).await?;
            if job.dry_run {
                let summary = format!(
                    "would publish message {message_id} of {} to the servers following it",
                    channel_words(&channel)
                );
                return Ok(job.would(summary, Some(&channel)));
            }
            let published = job.writer.crosspost(channel.id, message_id).await?;
            let summary = format!("published message {message_id} of {channel}");
            let output = message_output(guild, published.channel_id, published.id);
            Ok(job.done(summary, output, Some(&channel)))
        }
        other => Err(CallError::Invalid(format!(
            "{} is not a message action",
            other.name()
        ))),
    }
}

/// The send carries `nonce` with `enforce_nonce`, so Discord drops a repeat of it (a send
/// made again after a crash before it was journaled) and answers with the first message.
fn add_nonce(body: &mut serde_json::Map<String, Value>, nonce: Option<&str>) {
    if let Some(nonce) = nonce {
        body.insert("nonce".into(), json!(nonce));
        body.insert("enforce_nonce".into(), json!(true));
    }
}

fn message_output(
    guild: Option<serenity::all::GuildId>,
    channel: ChannelId,
    message: MessageId,
) -> Vec<(&'static str, String)> {
    vec![
        ("id", message.to_string()),
        ("channel_id", channel.to_string()),
        (
            "url",
            discord_link(guild, channel.get(), Some(message.get())),
        ),
    ]
}

fn target_output(channel: ChannelId, message: MessageId) -> Vec<(&'static str, String)> {
    vec![
        ("message_id", message.to_string()),
        ("channel_id", channel.to_string()),
    ]
}
