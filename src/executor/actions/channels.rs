//! create_channel, edit_channel, delete_channel, create_thread, edit_thread, create_invite.

use serde_json::{json, Map, Value};
use serenity::all::{ChannelId, GuildChannel, GuildId, MessageId};

use super::job::{channel_words, discord_link, Job, Performed};
use super::render::{cut, quote};
use super::values::{auto_archive_minutes, invite_max_age, invite_max_uses, snowflake};
use crate::discord::{CallError, ChannelRef};
use crate::events::{ActionKind, ChannelKind, MAX_CHANNEL_NAME_CHARS, MAX_TOPIC_CHARS};
use crate::lang::duration::format_duration;
use crate::lang::templates::{Lookup, Template};

pub(super) async fn perform<L: Lookup>(mut job: Job<'_, L>) -> Result<Performed, CallError> {
    let guild = job.guild;
    let writer = job.writer;
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
            let created = writer
                .create_channel(guild, &body, reason.as_deref())
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
            let mut change = Change::named(&mut job, name, "channel name");
            if let Some(topic) = topic {
                // An empty topic clears it.
                let topic = job.render(topic).trim().to_owned();
                let topic = cut("topic", topic, MAX_TOPIC_CHARS, &mut job.warnings);
                let words = if topic.is_empty() {
                    "no topic".to_owned()
                } else {
                    format!("topic {}", quote(&topic, 60))
                };
                change.set(words, "topic", json!(topic));
            }
            if let Some(parent) = parent {
                // An empty parent takes the channel out of its category.
                let parent = job.render(parent).trim().to_owned();
                if parent.is_empty() {
                    change.set("no category".to_owned(), "parent_id", Value::Null);
                } else {
                    let category = job.discord.resolve_category(guild, &parent).await?;
                    let words = format!("category {}", category_words(&category));
                    change.set(words, "parent_id", json!(category.id.to_string()));
                }
            }
            edit(job, Edited::Channel, channel, change, reason).await
        }
        ActionKind::DeleteChannel { channel, reason } => {
            let reason = job.reason(reason);
            let channel = job.channel(channel).await?;
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                let summary = format!("would delete {}{why}", channel_words(&channel));
                return Ok(job.would(summary, Some(&channel)));
            }
            let deleted = writer.delete_channel(channel.id, reason.as_deref()).await;
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
            let created = writer
                .create_thread(
                    parent.id,
                    message_id.map(MessageId::new),
                    &body,
                    reason.as_deref(),
                )
                .await?;
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
            let mut change = Change::named(&mut job, name, "thread name");
            if let Some(archived) = archived {
                let words = if *archived {
                    "archived"
                } else {
                    "not archived"
                };
                change.set(words.to_owned(), "archived", json!(archived));
            }
            if let Some(locked) = locked {
                let words = if *locked { "locked" } else { "not locked" };
                change.set(words.to_owned(), "locked", json!(locked));
            }
            edit(job, Edited::Thread, thread, change, reason).await
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
            let invite = writer
                .create_invite(channel.id, &body, reason.as_deref())
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
fn channel_ref(channel: &GuildChannel) -> ChannelRef {
    ChannelRef {
        id: channel.id,
        name: Some(channel.name.clone()),
    }
}

/// The result of an action that made or changed a channel or thread: its fields for `save_as`,
/// and `{channel_id}`/`{channel_name}` for the actions after it.
fn done_with_channel<L: Lookup>(
    job: Job<'_, L>,
    guild: GuildId,
    summary: String,
    channel: &ChannelRef,
) -> Performed {
    let output = channel_output(guild, channel);
    job.done(summary, output, Some(channel))
}

fn channel_output(guild: GuildId, channel: &ChannelRef) -> Vec<(&'static str, String)> {
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

/// Which of the two PATCHes of a channel an edit is: they share one skeleton.
#[derive(Clone, Copy)]
enum Edited {
    Channel,
    Thread,
}

impl Edited {
    /// `thread ` before a thread's name in summaries; nothing before a channel's.
    fn noun(self) -> &'static str {
        match self {
            Edited::Channel => "",
            Edited::Thread => "thread ",
        }
    }

    fn nothing_to_change(self) -> &'static str {
        match self {
            Edited::Channel => "edit_channel has nothing to change (no name, topic or parent)",
            Edited::Thread => "edit_thread has nothing to change (no name, archived or locked)",
        }
    }
}

/// The fields an edit changes: the PATCH body, and the same in words for the summary.
struct Change {
    body: Map<String, Value>,
    words: Vec<String>,
}

impl Change {
    /// A change that starts with the new name when one is given, cut to Discord's limit.
    fn named<L: Lookup>(job: &mut Job<'_, L>, name: &Option<Template>, what: &str) -> Change {
        let mut change = Change {
            body: Map::new(),
            words: Vec::new(),
        };
        if let Some(name) = job.optional(name) {
            let name = cut(what, name, MAX_CHANNEL_NAME_CHARS, &mut job.warnings);
            change.set(format!("name {}", quote(&name, 100)), "name", json!(name));
        }
        change
    }

    /// One field changed: its words for the summary, its value for the body.
    fn set(&mut self, words: String, field: &str, value: Value) {
        self.words.push(words);
        self.body.insert(field.to_owned(), value);
    }
}

/// edit_channel and edit_thread once their fields are rendered: refuses an empty change,
/// resolves the target, and then says what it would do (dry run) or does it.
async fn edit<L: Lookup>(
    job: Job<'_, L>,
    edited: Edited,
    target: &Template,
    change: Change,
    reason: Option<String>,
) -> Result<Performed, CallError> {
    if change.body.is_empty() {
        return Err(CallError::Invalid(edited.nothing_to_change().to_owned()));
    }
    let guild = job.guild;
    let target = job.channel(target).await?;
    if matches!(edited, Edited::Thread)
        && job.discord.cached_is_thread(guild, target.id) == Some(false)
    {
        return Err(CallError::Invalid(format!(
            "{} is not a thread",
            channel_words(&target)
        )));
    }
    let why = Job::<L>::reason_words(&reason);
    let words = change.words.join(", ");
    let noun = edited.noun();
    if job.dry_run {
        let summary = format!("would edit {noun}{}: {words}{why}", channel_words(&target));
        return Ok(job.would(summary, Some(&target)));
    }
    let reason = reason.as_deref();
    let answer = match edited {
        Edited::Channel => {
            job.writer
                .edit_channel(target.id, &change.body, reason)
                .await?
        }
        Edited::Thread => {
            job.writer
                .edit_thread(target.id, &change.body, reason)
                .await?
        }
    };
    let edited_ref = channel_ref(&answer);
    let summary = format!("edited {noun}{}: {words}{why}", channel_words(&edited_ref));
    Ok(done_with_channel(job, guild, summary, &edited_ref))
}
