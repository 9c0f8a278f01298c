//! Channels the bot manages: creating, editing and deleting guild channels, starting threads,
//! and creating invites.

use serde_json::{json, Map, Value};

use crate::describe::{announce, quote, reason_suffix};
use crate::errors::DiscordError;
use crate::fixture::{ChannelKind, FixtureChannel, FixtureThread};
use crate::guild_admin::int_field;
use crate::ids::now_rfc3339;
use crate::shapes;
use crate::state::{intent, ChannelRef, GuildState, Shared, StoredInvite, World};
use crate::wire::Answer;

const MAX_CHANNELS: usize = 500;
const MAX_NAME_CHARS: usize = 100;
const MAX_TOPIC_CHARS: usize = 1024;
const AUTO_ARCHIVE_DURATIONS: [u64; 4] = [60, 1440, 4320, 10080];
const MAX_INVITE_AGE: u64 = 604_800;
const MAX_INVITE_USES: u64 = 100;

fn fields(body: &Value) -> Map<String, Value> {
    body.as_object().cloned().unwrap_or_default()
}

fn form_error(field: &str, code: &str, message: &str) -> DiscordError {
    DiscordError::invalid_form_body(&[field], code, message)
}

/// A name of 1..=100 characters: `Some` when sent, an error when `required` and missing.
fn name_field(fields: &Map<String, Value>, required: bool) -> Result<Option<String>, DiscordError> {
    match fields.get("name") {
        None | Some(Value::Null) if required => Err(form_error(
            "name",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => {
            let length = name.trim().chars().count();
            if length == 0 || length > MAX_NAME_CHARS {
                return Err(form_error(
                    "name",
                    "BASE_TYPE_BAD_LENGTH",
                    &format!("Must be between 1 and {MAX_NAME_CHARS} in length."),
                ));
            }
            Ok(Some(name.trim().to_owned()))
        }
        Some(_) => Err(form_error(
            "name",
            "BASE_TYPE_STRING",
            "Could not interpret value as string.",
        )),
    }
}

/// Discord writes text and announcement channel names in lower case, with dashes for spaces.
fn channel_name(kind: ChannelKind, name: &str) -> String {
    match kind {
        ChannelKind::Text | ChannelKind::Announcement => name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase(),
        _ => name.to_owned(),
    }
}

/// `topic`: `Some(None)` clears it.
fn topic_field(fields: &Map<String, Value>) -> Result<Option<Option<String>>, DiscordError> {
    match fields.get("topic") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(topic)) if topic.chars().count() > MAX_TOPIC_CHARS => Err(form_error(
            "topic",
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {MAX_TOPIC_CHARS} or fewer in length."),
        )),
        Some(Value::String(topic)) => Ok(Some(Some(topic.clone()).filter(|t| !t.is_empty()))),
        Some(_) => Err(form_error(
            "topic",
            "BASE_TYPE_STRING",
            "Could not interpret value as string.",
        )),
    }
}

/// `parent_id`: `Some(None)` takes the channel out of its category; the parent must be a
/// category of the same guild.
fn parent_field(
    guild: &GuildState,
    fields: &Map<String, Value>,
    kind: ChannelKind,
) -> Result<Option<Option<u64>>, DiscordError> {
    let raw = match fields.get("parent_id") {
        None => return Ok(None),
        Some(Value::Null) => return Ok(Some(None)),
        Some(raw) => raw,
    };
    let invalid = || {
        form_error(
            "parent_id",
            "CHANNEL_PARENT_INVALID_TYPE",
            "Category does not exist or is not a category",
        )
    };
    let id = raw
        .as_str()
        .and_then(|id| id.parse::<u64>().ok())
        .or_else(|| raw.as_u64())
        .ok_or_else(invalid)?;
    let is_category = guild
        .channel(id)
        .is_some_and(|parent| parent.kind == ChannelKind::Category);
    if !is_category || kind == ChannelKind::Category {
        return Err(invalid());
    }
    Ok(Some(Some(id)))
}

fn channel_event(kind: ChannelKind, what: &str) -> &'static str {
    match (kind.is_thread(), what) {
        (true, "create") => "THREAD_CREATE",
        (true, "update") => "THREAD_UPDATE",
        (true, _) => "THREAD_DELETE",
        (false, "create") => "CHANNEL_CREATE",
        (false, "update") => "CHANNEL_UPDATE",
        (false, _) => "CHANNEL_DELETE",
    }
}

/// `POST /guilds/{g}/channels`: a text (0), voice (2), category (4) or announcement (5) channel.
pub(crate) fn create_channel(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let fields = fields(body);
    let id = world.snowflakes.next();
    let bot_id = world.bot.id;
    let guild = world
        .guild_mut(guild_id)
        .ok_or_else(DiscordError::unknown_guild)?;
    if !guild.guild.bot_can_manage_channels {
        return Err(DiscordError::missing_permissions());
    }
    let name = name_field(&fields, true)?.expect("required");
    let kind = match int_field(&fields, "type", u64::MAX)? {
        None => ChannelKind::Text,
        Some(number) => ChannelKind::from_discord_type(number)
            .filter(|kind| !kind.is_thread())
            .ok_or_else(|| {
                form_error(
                    "type",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 2, 4, 5, 13, 14, 15}.",
                )
            })?,
    };
    let topic = topic_field(&fields)?.flatten();
    let parent_id = parent_field(guild, &fields, kind)?.flatten();
    if guild.guild.channels.len() >= MAX_CHANNELS {
        return Err(DiscordError::max_channels());
    }
    let mut channel = FixtureChannel::new(id, channel_name(kind, &name), kind);
    if matches!(kind, ChannelKind::Text | ChannelKind::Announcement) {
        channel.topic = topic;
    }
    channel.parent_id = parent_id;
    guild.guild.channels.push(channel.clone());
    let object = shapes::channel_in(guild, &channel, bot_id);
    shared.dispatch("CHANNEL_CREATE", object.clone(), intent::GUILDS);
    let kind_word = match kind {
        ChannelKind::Voice => "voice channel",
        ChannelKind::Category => "category",
        ChannelKind::Announcement => "announcement channel",
        _ => "channel",
    };
    let under = parent_id
        .and_then(|id| guild.channel(id))
        .map(|parent| format!(" under {}", parent.name))
        .unwrap_or_default();
    announce(&format!(
        "created {kind_word} #{} in {}{under}{}",
        channel.name,
        guild.guild.name,
        reason_suffix(reason)
    ));
    Ok(Answer::created(object))
}

/// The guild a channel id belongs to: 10003 when unknown, 50003 for a DM.
fn guild_of(world: &World, channel_id: u64) -> Result<u64, DiscordError> {
    match world.channel(channel_id) {
        None => Err(DiscordError::unknown_channel()),
        Some(ChannelRef::Dm(_)) => Err(DiscordError::dm_channel_action()),
        Some(ChannelRef::Guild(guild, _)) => Ok(guild.guild.id),
    }
}

/// `PATCH /channels/{c}`: name, topic and category of a channel; name, archived, locked and
/// auto_archive_duration of a thread.
pub(crate) fn edit_channel(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let fields = fields(body);
    let bot_id = world.bot.id;
    let guild_id = guild_of(world, channel_id)?;
    let guild = world.guild_mut(guild_id).expect("found above");
    let channel = guild.channel(channel_id).expect("found above").clone();
    let name = name_field(&fields, false)?;
    let mut changes = Vec::new();
    let mut updated = channel.clone();
    if let Some(thread) = &channel.thread {
        let archived = bool_field(&fields, "archived")?;
        let locked = bool_field(&fields, "locked")?;
        let duration = match int_field(&fields, "auto_archive_duration", u64::MAX)? {
            Some(minutes) if !AUTO_ARCHIVE_DURATIONS.contains(&minutes) => {
                return Err(auto_archive_error())
            }
            other => other,
        };
        // The bot may rename and archive its own threads; anything else, and locking, needs
        // MANAGE_THREADS.
        let own = thread.owner_id == bot_id;
        let needs_manage = locked.is_some() || (!own && (name.is_some() || archived.is_some()));
        if needs_manage && !guild.guild.bot_can_manage_channels {
            return Err(DiscordError::missing_permissions());
        }
        if thread.locked && !guild.guild.bot_can_manage_channels {
            return Err(DiscordError::missing_permissions());
        }
        let meta = updated.thread.as_mut().expect("a thread");
        if let Some(archived) = archived.filter(|a| *a != meta.archived) {
            meta.archived = archived;
            meta.archive_timestamp = now_rfc3339();
            changes.push(if archived { "archived" } else { "unarchived" }.to_owned());
        }
        if let Some(locked) = locked.filter(|l| *l != meta.locked) {
            meta.locked = locked;
            changes.push(if locked { "locked" } else { "unlocked" }.to_owned());
        }
        if let Some(minutes) = duration {
            meta.auto_archive_duration = minutes as u16;
            changes.push(format!("auto-archives after {minutes} minutes"));
        }
    } else {
        if !guild.guild.bot_can_manage_channels {
            return Err(DiscordError::missing_permissions());
        }
        if let Some(topic) = topic_field(&fields)? {
            if matches!(channel.kind, ChannelKind::Text | ChannelKind::Announcement) {
                changes.push(match &topic {
                    Some(topic) => format!("topic {}", quote(topic)),
                    None => "topic cleared".to_owned(),
                });
                updated.topic = topic;
            }
        }
        if let Some(parent_id) = parent_field(guild, &fields, channel.kind)? {
            changes.push(match parent_id.and_then(|id| guild.channel(id)) {
                Some(parent) => format!("moved under {}", parent.name),
                None => "taken out of its category".to_owned(),
            });
            updated.parent_id = parent_id;
        }
    }
    if let Some(name) = name {
        let name = channel_name(channel.kind, &name);
        if name != channel.name {
            changes.push(format!("renamed to #{name}"));
            updated.name = name;
        }
    }
    *guild.channel_mut(channel_id).expect("found above") = updated.clone();
    let object = shapes::channel_in(guild, &updated, bot_id);
    shared.dispatch(
        channel_event(channel.kind, "update"),
        object.clone(),
        intent::GUILDS,
    );
    let details = if changes.is_empty() {
        "nothing changed".to_owned()
    } else {
        changes.join(", ")
    };
    announce(&format!(
        "edited #{}: {details}{}",
        channel.name,
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

fn bool_field(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>, DiscordError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(form_error(
            name,
            "BASE_TYPE_BOOLEAN",
            "Must be either true or false.",
        )),
    }
}

fn auto_archive_error() -> DiscordError {
    form_error(
        "auto_archive_duration",
        "BASE_TYPE_CHOICES",
        "Value must be one of {60, 1440, 4320, 10080}.",
    )
}

/// `DELETE /channels/{c}`: answers with the deleted channel. A category's channels move out of
/// it; a channel's threads and every message in them go with it.
pub(crate) fn delete_channel(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let bot_id = world.bot.id;
    let guild_id = guild_of(world, channel_id)?;
    let guild = world.guild_mut(guild_id).expect("found above");
    let channel = guild.channel(channel_id).expect("found above").clone();
    let own_thread = channel
        .thread
        .as_ref()
        .is_some_and(|thread| thread.owner_id == bot_id);
    if !guild.guild.bot_can_manage_channels && !own_thread {
        return Err(DiscordError::missing_permissions());
    }
    let object = shapes::channel_in(guild, &channel, bot_id);
    let mut gone = vec![channel_id];
    let threads: Vec<u64> = guild
        .guild
        .channels
        .iter()
        .filter(|c| c.kind.is_thread() && c.parent_id == Some(channel_id))
        .map(|c| c.id)
        .collect();
    gone.extend(&threads);
    guild.guild.channels.retain(|c| !gone.contains(&c.id));
    let mut moved = Vec::new();
    for child in &mut guild.guild.channels {
        if child.parent_id == Some(channel_id) {
            child.parent_id = None;
            moved.push(child.clone());
        }
    }
    let moved: Vec<Value> = moved
        .iter()
        .map(|child| shapes::channel_in(guild, child, bot_id))
        .collect();
    world.messages.retain(|m| !gone.contains(&m.channel_id));
    world.pins.retain(|(channel, _, _)| !gone.contains(channel));
    world
        .invites
        .retain(|invite| !gone.contains(&invite.channel_id));
    for child in moved {
        shared.dispatch("CHANNEL_UPDATE", child, intent::GUILDS);
    }
    for thread_id in threads {
        let data = json!({
            "id": thread_id.to_string(),
            "guild_id": guild_id.to_string(),
            "parent_id": channel_id.to_string(),
            "type": 11,
        });
        shared.dispatch("THREAD_DELETE", data, intent::GUILDS);
    }
    let event = channel_event(channel.kind, "delete");
    let data = if channel.kind.is_thread() {
        json!({
            "id": channel_id.to_string(),
            "guild_id": guild_id.to_string(),
            "parent_id": channel.parent_id.map(|id| id.to_string()),
            "type": channel.kind.discord_type(),
        })
    } else {
        object.clone()
    };
    shared.dispatch(event, data, intent::GUILDS);
    let what = if channel.kind.is_thread() {
        "thread"
    } else {
        "channel"
    };
    announce(&format!(
        "deleted {what} #{}{}",
        channel.name,
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

/// What starts a thread: a message of the channel, or nothing.
pub(crate) struct ThreadStart {
    pub channel_id: u64,
    pub message_id: Option<u64>,
}

/// `POST /channels/{c}/messages/{m}/threads` and `POST /channels/{c}/threads`.
pub(crate) fn create_thread(
    shared: &Shared,
    world: &mut World,
    start: &ThreadStart,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let fields = fields(body);
    let bot_id = world.bot.id;
    let guild_id = guild_of(world, start.channel_id)?;
    let parent = world
        .guild(guild_id)
        .and_then(|guild| guild.channel(start.channel_id))
        .expect("found above")
        .clone();
    if !matches!(parent.kind, ChannelKind::Text | ChannelKind::Announcement) {
        return Err(DiscordError::wrong_channel_type());
    }
    if !parent.bot_can_send {
        return Err(DiscordError::missing_permissions());
    }
    if let Some(message_id) = start.message_id {
        world
            .message(start.channel_id, message_id)
            .ok_or_else(DiscordError::unknown_message)?;
        // A thread started from a message takes the message's id.
        if world.channel(message_id).is_some() {
            return Err(DiscordError::thread_already_created());
        }
    }
    let name = name_field(&fields, true)?.expect("required");
    let duration = match int_field(&fields, "auto_archive_duration", u64::MAX)? {
        None => 1440,
        Some(minutes) if AUTO_ARCHIVE_DURATIONS.contains(&minutes) => minutes,
        Some(_) => return Err(auto_archive_error()),
    };
    let announcement = parent.kind == ChannelKind::Announcement;
    let kind = match (start.message_id, int_field(&fields, "type", u64::MAX)?) {
        (Some(_), _) if announcement => ChannelKind::AnnouncementThread,
        (Some(_), _) => ChannelKind::PublicThread,
        // Without a message, Discord makes a private thread unless told otherwise.
        (None, None) if announcement => ChannelKind::AnnouncementThread,
        (None, None) => ChannelKind::PrivateThread,
        (None, Some(10)) if announcement => ChannelKind::AnnouncementThread,
        (None, Some(11)) if !announcement => ChannelKind::PublicThread,
        (None, Some(12)) if !announcement => ChannelKind::PrivateThread,
        (None, Some(10..=12)) => return Err(DiscordError::wrong_channel_type()),
        (None, Some(_)) => {
            return Err(form_error(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {10, 11, 12}.",
            ))
        }
    };
    let invitable = bool_field(&fields, "invitable")?.unwrap_or(true);
    let id = match start.message_id {
        Some(message_id) => message_id,
        None => world.snowflakes.next(),
    };
    let now = now_rfc3339();
    let mut thread = FixtureChannel::new(id, name, kind);
    thread.parent_id = Some(start.channel_id);
    thread.thread = Some(FixtureThread {
        owner_id: bot_id,
        archived: false,
        locked: false,
        auto_archive_duration: duration as u16,
        archive_timestamp: now.clone(),
        create_timestamp: now.clone(),
        invitable: kind == ChannelKind::PrivateThread && invitable,
    });
    let guild = world.guild_mut(guild_id).expect("found above");
    guild.guild.channels.push(thread.clone());
    let mut object = shapes::channel_in(guild, &thread, bot_id);
    object["member"] = json!({
        "id": id.to_string(),
        "user_id": bot_id.to_string(),
        "join_timestamp": now,
        "flags": 1,
    });
    let mut event = object.clone();
    event["newly_created"] = json!(true);
    shared.dispatch("THREAD_CREATE", event, intent::GUILDS);
    if let Some(message_id) = start.message_id {
        if let Some(message) = world.message_mut(start.channel_id, message_id) {
            // HAS_THREAD, and the thread itself, as Discord shows on the starter message.
            let flags = message.object["flags"].as_u64().unwrap_or(0);
            message.object["flags"] = json!(flags | 32);
            message.object["thread"] = object.clone();
        }
    }
    let kind_word = match kind {
        ChannelKind::PrivateThread => "private thread",
        _ => "thread",
    };
    let from = start
        .message_id
        .map(|id| format!(" from message {id}"))
        .unwrap_or_default();
    announce(&format!(
        "started {kind_word} #{} in #{}{from}{}",
        thread.name,
        parent.name,
        reason_suffix(reason)
    ));
    Ok(Answer::created(object))
}

/// An 8-character invite code from a fresh snowflake.
fn invite_code(mut seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Mix the bits so consecutive snowflakes give unrelated-looking codes.
    seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    (0..8)
        .map(|_| {
            let letter = ALPHABET[(seed % ALPHABET.len() as u64) as usize] as char;
            seed /= ALPHABET.len() as u64;
            letter
        })
        .collect()
}

/// `POST /channels/{c}/invites`: without `unique`, an earlier invite of the bot with the same
/// settings is handed back, as Discord does.
pub(crate) fn create_invite(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let fields = fields(body);
    let guild_id = guild_of(world, channel_id)?;
    let code = invite_code(world.snowflakes.next());
    let guild = world.guild(guild_id).expect("found above");
    let channel = guild.channel(channel_id).expect("found above");
    if channel.kind == ChannelKind::Category || channel.kind.is_thread() {
        return Err(DiscordError::wrong_channel_type());
    }
    let max_age = int_field(&fields, "max_age", MAX_INVITE_AGE)?.unwrap_or(86_400);
    let max_uses = int_field(&fields, "max_uses", MAX_INVITE_USES)?.unwrap_or(0);
    let temporary = bool_field(&fields, "temporary")?.unwrap_or(false);
    let unique = bool_field(&fields, "unique")?.unwrap_or(false);
    let channel_name = channel.name.clone();
    let same = |invite: &&StoredInvite| {
        invite.channel_id == channel_id
            && invite.object["max_age"] == json!(max_age)
            && invite.object["max_uses"] == json!(max_uses)
            && invite.object["temporary"] == json!(temporary)
    };
    if !unique {
        if let Some(earlier) = world.invites.iter().find(same) {
            let code = earlier.object["code"].as_str().unwrap_or("").to_owned();
            announce(&format!(
                "handed back invite {code} to #{channel_name} (same settings, not unique)"
            ));
            return Ok(Answer::json(earlier.object.clone()));
        }
    }
    let created_at = now_rfc3339();
    let expires_at = (max_age > 0).then(|| {
        let now = crate::ids::unix_millis_now() as u64;
        crate::ids::rfc3339_from_unix_millis(now + max_age * 1000)
    });
    let object = json!({
        "type": 0,
        "code": code,
        "guild": shapes::invite_guild(guild),
        "channel": {
            "id": channel_id.to_string(),
            "name": channel.name,
            "type": channel.kind.discord_type(),
        },
        "inviter": shapes::user(&world.bot),
        "uses": 0,
        "max_uses": max_uses,
        "max_age": max_age,
        "temporary": temporary,
        "created_at": created_at,
        "expires_at": expires_at,
    });
    world.invites.push(StoredInvite {
        channel_id,
        object: object.clone(),
    });
    let event = json!({
        "channel_id": channel_id.to_string(),
        "code": code,
        "created_at": created_at,
        "guild_id": guild_id.to_string(),
        "inviter": object["inviter"],
        "max_age": max_age,
        "max_uses": max_uses,
        "temporary": temporary,
        "uses": 0,
        "expires_at": object["expires_at"],
        "type": 0,
    });
    shared.dispatch("INVITE_CREATE", event, intent::GUILD_INVITES);
    let age = if max_age == 0 {
        "never expires".to_owned()
    } else {
        format!("expires in {max_age} s")
    };
    let uses = if max_uses == 0 {
        String::new()
    } else {
        format!(", {max_uses} uses")
    };
    announce(&format!(
        "created invite {code} to #{channel_name} ({age}{uses}){}",
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

/// `GET /channels/{c}/invites`.
pub(crate) fn list_invites(world: &World, channel_id: u64) -> Result<Answer, DiscordError> {
    guild_of(world, channel_id)?;
    let invites: Vec<Value> = world
        .invites
        .iter()
        .filter(|invite| invite.channel_id == channel_id)
        .map(|invite| invite.object.clone())
        .collect();
    Ok(Answer::json(json!(invites)))
}
