//! What the bot does to messages after sending them: edits, deletions, reactions, pins and
//! crossposts.

use serde_json::{json, Value};

use crate::describe::{announce, message_summary, reason_suffix};
use crate::errors::DiscordError;
use crate::fixture::ChannelKind;
use crate::ids::now_rfc3339;
use crate::messages;
use crate::shapes;
use crate::state::{intent, ChannelRef, Shared, World};
use crate::wire::{percent_decode, Answer};

/// Discord keeps at most this many pins per channel.
const MAX_PINS: usize = 50;
/// And at most this many different reactions per message.
const MAX_REACTIONS: usize = 20;
/// Message flag CROSSPOSTED.
const CROSSPOSTED: u64 = 1;

/// Where a message lives, for the log and the dispatches.
struct Place {
    /// `#deploys` or `DM with @bob`.
    name: String,
    guild_id: Option<u64>,
    kind: Option<ChannelKind>,
}

fn place(world: &World, channel_id: u64) -> Result<Place, DiscordError> {
    match world.channel(channel_id) {
        None => Err(DiscordError::unknown_channel()),
        Some(ChannelRef::Guild(guild, channel)) => Ok(Place {
            name: format!("#{}", channel.name),
            guild_id: Some(guild.guild.id),
            kind: Some(channel.kind),
        }),
        Some(ChannelRef::Dm(dm)) => Ok(Place {
            name: world.user(dm.recipient_id).map_or_else(
                || "a DM".to_owned(),
                |user| format!("DM with @{}", user.username),
            ),
            guild_id: None,
            kind: None,
        }),
    }
}

/// A dispatch payload with `guild_id` added for guild channels.
fn with_guild(mut data: Value, guild_id: Option<u64>) -> Value {
    if let Some(guild_id) = guild_id {
        data["guild_id"] = json!(guild_id.to_string());
    }
    data
}

/// `PATCH /channels/{c}/messages/{m}`.
pub(crate) fn edit(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    body: &Value,
) -> Result<Answer, DiscordError> {
    let edited = messages::edit(world, channel_id, message_id, body)?;
    announce(&edited.description);
    if let Some((event, intent)) = edited.event {
        shared.dispatch("MESSAGE_UPDATE", event, intent);
    }
    Ok(Answer::json(edited.object))
}

/// `DELETE /channels/{c}/messages/{m}`: the bot's own messages always; others' with
/// MANAGE_MESSAGES, and never in a DM.
pub(crate) fn delete(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let place = place(world, channel_id)?;
    let message = world
        .message(channel_id, message_id)
        .ok_or_else(DiscordError::unknown_message)?;
    if message.author_id() != world.bot.id {
        let guild = place.guild_id.and_then(|id| world.guild(id));
        match guild {
            None => return Err(DiscordError::dm_channel_action()),
            Some(guild) if !guild.guild.bot_can_moderate => {
                return Err(DiscordError::missing_permissions())
            }
            Some(_) => {}
        }
    }
    let summary = message_summary(&message.object);
    world
        .messages
        .retain(|m| !(m.channel_id == channel_id && m.id() == message_id));
    world
        .pins
        .retain(|(channel, message, _)| !(*channel == channel_id && *message == message_id));
    let data = json!({ "id": message_id.to_string(), "channel_id": channel_id.to_string() });
    let intent = message_intent(place.guild_id);
    shared.dispatch("MESSAGE_DELETE", with_guild(data, place.guild_id), intent);
    announce(&format!(
        "deleted message {message_id} ({summary}) in {}{}",
        place.name,
        reason_suffix(reason)
    ));
    Ok(Answer::no_content())
}

fn message_intent(guild_id: Option<u64>) -> u64 {
    if guild_id.is_some() {
        intent::GUILD_MESSAGES
    } else {
        intent::DIRECT_MESSAGES
    }
}

/// A reaction emoji from the path: URL-encoded unicode, or `name:id` for a custom emoji of one
/// of the bot's guilds.
pub(crate) fn reaction_emoji(world: &World, segment: &str) -> Result<Value, DiscordError> {
    let decoded = percent_decode(segment, false);
    if let Some((_, id)) = decoded.rsplit_once(':') {
        let id: u64 = id.parse().map_err(|_| DiscordError::unknown_emoji())?;
        let emoji = world
            .guilds
            .iter()
            .flat_map(|guild| &guild.guild.emojis)
            .find(|emoji| emoji.id == id)
            .ok_or_else(DiscordError::unknown_emoji)?;
        let mut object = json!({ "id": id.to_string(), "name": emoji.name });
        if emoji.animated {
            object["animated"] = json!(true);
        }
        return Ok(object);
    }
    // Unicode emoji are never plain ASCII letters, digits or punctuation.
    if decoded.is_empty() || decoded.is_ascii() {
        return Err(DiscordError::unknown_emoji());
    }
    Ok(json!({ "id": null, "name": decoded }))
}

/// `name` for a unicode emoji, `name:id` for a custom one.
pub(crate) fn emoji_text(emoji: &Value) -> String {
    let name = emoji["name"].as_str().unwrap_or("");
    match emoji["id"].as_str() {
        Some(id) => format!("{name}:{id}"),
        None => name.to_owned(),
    }
}

/// `PUT` (add) or `DELETE` (remove) `/channels/{c}/messages/{m}/reactions/{emoji}/@me`.
pub(crate) fn react(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    emoji_segment: &str,
    add: bool,
) -> Result<Answer, DiscordError> {
    let place = place(world, channel_id)?;
    let message = world
        .message(channel_id, message_id)
        .ok_or_else(DiscordError::unknown_message)?;
    let author_id = message.author_id();
    let emoji = reaction_emoji(world, emoji_segment)?;
    let text = emoji_text(&emoji);
    let bot_id = world.bot.id;
    let member = place
        .guild_id
        .and_then(|id| world.guild(id))
        .and_then(|guild| guild.member(bot_id))
        .map(|member| shapes::member(member, &world.joined_at));
    let message = world
        .message_mut(channel_id, message_id)
        .expect("the message was found above");
    let reactions = message.object["reactions"]
        .as_array_mut()
        .expect("stored messages have a reactions array");
    let existing = reactions
        .iter()
        .position(|reaction| emoji_text(&reaction["emoji"]) == text);
    let changed = match (add, existing) {
        (true, Some(_)) | (false, None) => false,
        (true, None) => {
            if reactions.len() >= MAX_REACTIONS {
                return Err(DiscordError::max_reactions());
            }
            reactions.push(json!({
                "count": 1,
                "count_details": { "burst": 0, "normal": 1 },
                "me": true,
                "me_burst": false,
                "emoji": emoji,
                "burst_colors": [],
            }));
            true
        }
        (false, Some(index)) => {
            reactions.remove(index);
            true
        }
    };
    if changed {
        let mut data = json!({
            "user_id": bot_id.to_string(),
            "channel_id": channel_id.to_string(),
            "message_id": message_id.to_string(),
            "emoji": emoji,
            "burst": false,
            "type": 0,
        });
        if add {
            data["message_author_id"] = json!(author_id.to_string());
            if let Some(member) = member {
                data["member"] = member;
            }
        }
        let intent = if place.guild_id.is_some() {
            intent::GUILD_MESSAGE_REACTIONS
        } else {
            intent::DIRECT_MESSAGE_REACTIONS
        };
        let event = if add {
            "MESSAGE_REACTION_ADD"
        } else {
            "MESSAGE_REACTION_REMOVE"
        };
        shared.dispatch(event, with_guild(data, place.guild_id), intent);
    }
    let verb = if add {
        "reacted"
    } else {
        "removed its reaction"
    };
    let note = if changed { "" } else { " (no change)" };
    announce(&format!(
        "{verb} {text} on message {message_id} in {}{note}",
        place.name
    ));
    Ok(Answer::no_content())
}

/// `PUT`/`DELETE /channels/{c}/pins/{m}` and `/channels/{c}/messages/pins/{m}`.
pub(crate) fn pin(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    pin: bool,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let place = place(world, channel_id)?;
    world
        .message(channel_id, message_id)
        .ok_or_else(DiscordError::unknown_message)?;
    let pinned = world
        .pins
        .iter()
        .any(|(channel, message, _)| *channel == channel_id && *message == message_id);
    let pins_here = world
        .pins
        .iter()
        .filter(|(channel, _, _)| *channel == channel_id)
        .count();
    if pin && !pinned && pins_here >= MAX_PINS {
        return Err(DiscordError::max_pins());
    }
    let changed = pin != pinned;
    if changed {
        if pin {
            world.pins.push((channel_id, message_id, now_rfc3339()));
        } else {
            world.pins.retain(|(channel, message, _)| {
                !(*channel == channel_id && *message == message_id)
            });
        }
        if let Some(message) = world.message_mut(channel_id, message_id) {
            message.object["pinned"] = json!(pin);
        }
        let last_pin = world
            .pins
            .iter()
            .rev()
            .find(|(channel, _, _)| *channel == channel_id)
            .map(|(_, _, at)| at.clone());
        let data = json!({ "channel_id": channel_id.to_string(), "last_pin_timestamp": last_pin });
        let intent = if place.guild_id.is_some() {
            intent::GUILDS
        } else {
            intent::DIRECT_MESSAGES
        };
        shared.dispatch(
            "CHANNEL_PINS_UPDATE",
            with_guild(data, place.guild_id),
            intent,
        );
    }
    let verb = if pin { "pinned" } else { "unpinned" };
    let note = if changed { "" } else { " (no change)" };
    announce(&format!(
        "{verb} message {message_id} in {}{note}{}",
        place.name,
        reason_suffix(reason)
    ));
    Ok(Answer::no_content())
}

/// `GET /channels/{c}/pins` (newest pin first, an array of messages) or, with `paged`, the
/// newer `GET /channels/{c}/messages/pins` (`{"items": [{pinned_at, message}], "has_more"}`).
pub(crate) fn list_pins(
    world: &World,
    channel_id: u64,
    paged: bool,
) -> Result<Answer, DiscordError> {
    place(world, channel_id)?;
    let pinned: Vec<(Value, String)> = world
        .pins
        .iter()
        .rev()
        .filter(|(channel, _, _)| *channel == channel_id)
        .filter_map(|(_, message, at)| {
            let message = world.message(channel_id, *message)?;
            Some((message.object.clone(), at.clone()))
        })
        .collect();
    if paged {
        let items: Vec<Value> = pinned
            .into_iter()
            .map(|(message, at)| json!({ "pinned_at": at, "message": message }))
            .collect();
        Ok(Answer::json(json!({ "items": items, "has_more": false })))
    } else {
        let messages: Vec<Value> = pinned.into_iter().map(|(message, _)| message).collect();
        Ok(Answer::json(json!(messages)))
    }
}

/// `POST /channels/{c}/messages/{m}/crosspost`: publishes a message of an announcement channel.
pub(crate) fn crosspost(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
) -> Result<Answer, DiscordError> {
    let place = place(world, channel_id)?;
    let message = world
        .message(channel_id, message_id)
        .ok_or_else(DiscordError::unknown_message)?;
    if place.kind != Some(ChannelKind::Announcement) {
        return Err(DiscordError::wrong_channel_type());
    }
    let flags = message.object["flags"].as_u64().unwrap_or(0);
    if flags & CROSSPOSTED != 0 {
        return Err(DiscordError::already_crossposted());
    }
    let message = world
        .message_mut(channel_id, message_id)
        .expect("the message was found above");
    message.object["flags"] = json!(flags | CROSSPOSTED);
    let object = message.object.clone();
    let summary = message_summary(&object);
    shared.dispatch(
        "MESSAGE_UPDATE",
        with_guild(object.clone(), place.guild_id),
        intent::GUILD_MESSAGES,
    );
    announce(&format!(
        "published message {message_id} ({summary}) in {} to the servers following it",
        place.name
    ));
    Ok(Answer::json(object))
}
