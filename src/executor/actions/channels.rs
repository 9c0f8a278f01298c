//! create_channel, edit_channel, delete_channel, create_thread, edit_thread, create_invite.

use serde_json::{json, Map, Value};
use serenity::all::{ChannelId, MessageId};

use super::render::{cut, quote};
use super::values::{auto_archive_minutes, invite_max_age, invite_max_uses, snowflake};
use super::{channel_words, discord_link, Job, Performed};
use crate::discord::{CallError, ChannelRef};
use crate::events::{ActionKind, ChannelKind, MAX_CHANNEL_NAME_CHARS, MAX_TOPIC_CHARS};
use crate::lang::duration::format_duration;
use crate::lang::templates::Lookup;
use crate::pacing::Route as Pace;

pub(super) async fn perform<L: Lookup>(mut job: Job<'_, L>) -> Result<Performed, CallError> {
    let http = job.discord.http.clone();
    let guild = job.guild;
    match job.kind {
        ActionKind::CreateChannel {
            name,
            channel_type,
            topic,
            parent,
            reason,
        } => {
            let reason = job.reason(reason);
            let name = job.required(name, "channel name", MAX_CHANNEL_NAME_CHARS)?;
            let topic = job
                .optional(topic)
                .map(|t| cut("topic", t, MAX_TOPIC_CHARS, &mut job.warnings));
            let parent = job.optional(parent);
            let kind_words = match channel_type {
                ChannelKind::Text => "text channel",
                ChannelKind::Voice => "voice channel",
                ChannelKind::Category => "category",
                ChannelKind::Announcement => "announcement channel",
            };
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("type".into(), json!(channel_type_number(*channel_type)));
            let mut words = format!("{kind_words} {}", quote(&name, 100));
            if let Some(topic) = topic {
                if matches!(channel_type, ChannelKind::Text | ChannelKind::Announcement) {
                    words.push_str(&format!(" with topic {}", quote(&topic, 60)));
                    body.insert("topic".into(), json!(topic));
                } else {
                    job.warnings.push(format!(
                        "a {kind_words} has no topic; the topic was left out"
                    ));
                }
            }
            if let Some(parent) = parent {
                if *channel_type == ChannelKind::Category {
                    return Err(CallError::Invalid(
                        "a category cannot be inside another category; remove parent".to_owned(),
                    ));
                }
                let category = job.discord.resolve_category(guild, &parent).await?;
                words.push_str(&format!(" in category {}", category_words(&category)));
                body.insert("parent_id".into(), json!(category.id.to_string()));
            }
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                return Ok(job.would(format!("would create {words}{why}"), None));
            }
            let created = job
                .write(
                    Pace::new("POST", "channels", guild.get()),
                    http.create_channel(guild, &Value::Object(body), reason.as_deref()),
                )
                .await?;
            let channel = channel_ref(&created);
            let summary = format!("created {kind_words} {channel} ({}){why}", channel.id);
            Ok(done_with_channel(job, guild, summary, &channel))
        }
        ActionKind::EditChannel {
            channel,
            name,
            topic,
            parent,
            reason,
        } => {
            let reason = job.reason(reason);
            let mut body = Map::new();
            let mut words = Vec::new();
            if let Some(name) = job.optional(name) {
                rename(&mut job, "channel name", name, &mut body, &mut words);
            }
            if let Some(topic) = topic {
                // An empty topic clears it.
                let topic = job.render(topic).trim().to_owned();
                let topic = cut("topic", topic, MAX_TOPIC_CHARS, &mut job.warnings);
                words.push(if topic.is_empty() {
                    "no topic".to_owned()
                } else {
                    format!("topic {}", quote(&topic, 60))
                });
                body.insert("topic".into(), json!(topic));
            }
            if let Some(parent) = parent {
                // An empty parent takes the channel out of its category.
                let parent = job.render(parent).trim().to_owned();
                if parent.is_empty() {
                    words.push("no category".to_owned());
                    body.insert("parent_id".into(), Value::Null);
                } else {
                    let category = job.discord.resolve_category(guild, &parent).await?;
                    words.push(format!("category {}", category_words(&category)));
                    body.insert("parent_id".into(), json!(category.id.to_string()));
                }
            }
            if body.is_empty() {
                return Err(CallError::Invalid(
                    "edit_channel has nothing to change (no name, topic or parent)".to_owned(),
                ));
            }
            let channel = job.channel(channel).await?;
            let why = Job::<L>::reason_words(&reason);
            let words = words.join(", ");
            if job.dry_run {
                let summary = format!("would edit {}: {words}{why}", channel_words(&channel));
                return Ok(job.would(summary, Some(&channel)));
            }
            let edited = job
                .write(
                    Pace::new("PATCH", "channel", channel.id.get()),
                    http.edit_channel(channel.id, &Value::Object(body), reason.as_deref()),
                )
                .await?;
            let edited = channel_ref(&edited);
            let summary = format!("edited {}: {words}{why}", channel_words(&edited));
            Ok(done_with_channel(job, guild, summary, &edited))
        }
        ActionKind::DeleteChannel { channel, reason } => {
            let reason = job.reason(reason);
            let channel = job.channel(channel).await?;
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                let summary = format!("would delete {}{why}", channel_words(&channel));
                return Ok(job.would(summary, Some(&channel)));
            }
            let deleted = job
                .write(
                    Pace::new("DELETE", "channel", channel.id.get()),
                    http.delete_channel(channel.id, reason.as_deref()),
                )
                .await;
            match deleted {
                // Gone already (this run deleted it before a crash or a retry): as asked.
                Err(CallError::Discord { code: 10003, .. }) if job.repeat => {}
                other => {
                    other?;
                }
            }
            let summary = format!("deleted {}{why}", channel_words(&channel));
            let output = vec![
                ("id", channel.id.to_string()),
                (
                    "name",
                    channel
                        .name
                        .clone()
                        .unwrap_or_else(|| channel.id.to_string()),
                ),
            ];
            Ok(job.done(summary, output, Some(&channel)))
        }
        ActionKind::CreateThread {
            channel,
            name,
            message_id,
            private,
            auto_archive,
            reason,
        } => {
            let reason = job.reason(reason);
            let name = job.required(name, "thread name", MAX_CHANNEL_NAME_CHARS)?;
            let message_id = job
                .optional(message_id)
                .map(|id| snowflake(&id, "message_id"))
                .transpose()?;
            let minutes = job
                .optional(auto_archive)
                .map(|text| auto_archive_minutes(&text))
                .transpose()?;
            if message_id.is_some() && *private {
                job.warnings.push(
                    "a thread started from a message is always public; private was ignored"
                        .to_owned(),
                );
            }
            // resolve_channel refuses a channel of another server, so the parent is the event's.
            let parent = job.channel(channel).await?;
            if job.discord.cached_is_thread(guild, parent.id) == Some(true) {
                return Err(CallError::Invalid(format!(
                    "{} is a thread; a thread cannot hold another thread",
                    channel_words(&parent)
                )));
            }
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            if let Some(minutes) = minutes {
                body.insert("auto_archive_duration".into(), json!(minutes));
            }
            let visibility = if message_id.is_none() && *private {
                body.insert("type".into(), json!(12));
                "private"
            } else {
                if message_id.is_none() {
                    body.insert("type".into(), json!(11));
                }
                "public"
            };
            let mut words = format!(
                "a {visibility} thread {} in {}",
                quote(&name, 100),
                channel_words(&parent)
            );
            if let Some(message_id) = message_id {
                words.push_str(&format!(" from message {message_id}"));
            }
            if let Some(minutes) = minutes {
                let length = std::time::Duration::from_secs(u64::from(minutes) * 60);
                words.push_str(&format!(
                    ", archived after {} without activity",
                    format_duration(length)
                ));
            }
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                return Ok(job.would(format!("would create {words}{why}"), Some(&parent)));
            }
            let body = Value::Object(body);
            let route = Pace::new("POST", "threads", parent.id.get());
            let created = match message_id {
                Some(message_id) => {
                    job.write(
                        route,
                        http.create_thread_from_message(
                            parent.id,
                            MessageId::new(message_id),
                            &body,
                            reason.as_deref(),
                        ),
                    )
                    .await?
                }
                None => {
                    job.write(
                        route,
                        http.create_thread(parent.id, &body, reason.as_deref()),
                    )
                    .await?
                }
            };
            let thread = channel_ref(&created);
            let summary = format!("created {words} ({}){why}", thread.id);
            Ok(done_with_channel(job, guild, summary, &thread))
        }
        ActionKind::EditThread {
            thread,
            name,
            archived,
            locked,
            reason,
        } => {
            let reason = job.reason(reason);
            let mut body = Map::new();
            let mut words = Vec::new();
            if let Some(name) = job.optional(name) {
                rename(&mut job, "thread name", name, &mut body, &mut words);
            }
            if let Some(archived) = archived {
                words.push(
                    if *archived {
                        "archived"
                    } else {
                        "not archived"
                    }
                    .to_owned(),
                );
                body.insert("archived".into(), json!(archived));
            }
            if let Some(locked) = locked {
                words.push(if *locked { "locked" } else { "not locked" }.to_owned());
                body.insert("locked".into(), json!(locked));
            }
            if body.is_empty() {
                return Err(CallError::Invalid(
                    "edit_thread has nothing to change (no name, archived or locked)".to_owned(),
                ));
            }
            let thread = job.channel(thread).await?;
            if job.discord.cached_is_thread(guild, thread.id) == Some(false) {
                return Err(CallError::Invalid(format!(
                    "{} is not a thread",
                    channel_words(&thread)
                )));
            }
            let why = Job::<L>::reason_words(&reason);
            let words = words.join(", ");
            if job.dry_run {
                let summary = format!("would edit thread {}: {words}{why}", channel_words(&thread));
                return Ok(job.would(summary, Some(&thread)));
            }
            let edited = job
                .write(
                    Pace::new("PATCH", "channel", thread.id.get()),
                    http.edit_thread(thread.id, &Value::Object(body), reason.as_deref()),
                )
                .await?;
            let edited = channel_ref(&edited);
            let summary = format!("edited thread {}: {words}{why}", channel_words(&edited));
            Ok(done_with_channel(job, guild, summary, &edited))
        }
        ActionKind::CreateInvite {
            channel,
            max_age,
            max_uses,
            temporary,
            unique,
            reason,
        } => {
            let reason = job.reason(reason);
            let max_age = job
                .optional(max_age)
                .map(|text| invite_max_age(&text))
                .transpose()?;
            let max_uses = job
                .optional(max_uses)
                .map(|text| invite_max_uses(&text))
                .transpose()?;
            let channel = job.channel(channel).await?;
            let mut body = Map::new();
            let mut words = Vec::new();
            match max_age {
                Some(0) => {
                    words.push("never expires".to_owned());
                    body.insert("max_age".into(), json!(0));
                }
                Some(seconds) => {
                    let length = std::time::Duration::from_secs(seconds);
                    words.push(format!("expires after {}", format_duration(length)));
                    body.insert("max_age".into(), json!(seconds));
                }
                None => words.push("expires after 1d".to_owned()),
            }
            match max_uses {
                Some(0) | None => words.push("unlimited uses".to_owned()),
                Some(1) => words.push("1 use".to_owned()),
                Some(uses) => words.push(format!("{uses} uses")),
            }
            if let Some(uses) = max_uses {
                body.insert("max_uses".into(), json!(uses));
            }
            if *temporary {
                words.push("temporary membership".to_owned());
                body.insert("temporary".into(), json!(true));
            }
            if *unique {
                words.push("unique".to_owned());
                body.insert("unique".into(), json!(true));
            }
            let why = Job::<L>::reason_words(&reason);
            let words = words.join(", ");
            if job.dry_run {
                let summary = format!(
                    "would create an invite to {}: {words}{why}",
                    channel_words(&channel)
                );
                return Ok(job.would(summary, Some(&channel)));
            }
            let invite = job
                .write(
                    Pace::new("POST", "invites", channel.id.get()),
                    http.create_invite(channel.id, &Value::Object(body), reason.as_deref()),
                )
                .await?;
            let url = format!("https://discord.gg/{}", invite.code);
            let summary = format!(
                "created invite {url} to {}: {words}{why}",
                channel_words(&channel)
            );
            let output = vec![("code", invite.code.clone()), ("url", url)];
            Ok(job.done(summary, output, Some(&channel)))
        }
        other => Err(CallError::Invalid(format!(
            "{} is not a channel action",
            other.name()
        ))),
    }
}

fn channel_type_number(kind: ChannelKind) -> u8 {
    match kind {
        ChannelKind::Text => 0,
        ChannelKind::Voice => 2,
        ChannelKind::Category => 4,
        ChannelKind::Announcement => 5,
    }
}

fn category_words(category: &ChannelRef) -> String {
    match &category.name {
        Some(name) => format!("{name} ({})", category.id),
        None => category.id.to_string(),
    }
}

/// A channel or thread Discord answered with, as actions name it.
fn channel_ref(channel: &serenity::all::GuildChannel) -> ChannelRef {
    ChannelRef {
        id: channel.id,
        name: Some(channel.name.clone()),
    }
}

/// The result of an action that made or changed a channel or thread: its fields for `save_as`,
/// and `{channel_id}`/`{channel_name}` for the actions after it.
fn done_with_channel<L: Lookup>(
    job: Job<'_, L>,
    guild: serenity::all::GuildId,
    summary: String,
    channel: &ChannelRef,
) -> Performed {
    let output = channel_output(guild, channel);
    job.done(summary, output, Some(channel))
}

fn channel_output(
    guild: serenity::all::GuildId,
    channel: &ChannelRef,
) -> Vec<(&'static str, String)> {
    let id: ChannelId = channel.id;
    vec![
        ("id", id.to_string()),
        (
            "name",
            channel.name.clone().unwrap_or_else(|| id.to_string()),
        ),
        ("mention", format!("<#{id}>")),
        ("url", discord_link(Some(guild), id.get(), None)),
    ]
}

/// A new name for a channel or thread, cut to Discord's limit, into the PATCH body.
fn rename<L: Lookup>(
    job: &mut Job<'_, L>,
    what: &str,
    name: String,
    body: &mut Map<String, Value>,
    words: &mut Vec<String>,
) {
    let name = cut(what, name, MAX_CHANNEL_NAME_CHARS, &mut job.warnings);
    words.push(format!("name {}", quote(&name, 100)));
    body.insert("name".into(), json!(name));
}
