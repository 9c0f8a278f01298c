//! What the people in the stand-in's servers do, as the gateway reports it: a user joins or
//! leaves a server (GUILD_MEMBER_ADD / REMOVE) and a member adds or removes a reaction
//! (MESSAGE_REACTION_ADD / REMOVE), each with the payload Discord sends.

use serde_json::{json, Value};

use crate::describe::announce;
use crate::fixture::{FixtureMember, FixtureUser};
use crate::message_actions::{emoji_text, reaction_emoji};
use crate::shapes;
use crate::state::{intent, ChannelRef, World};

/// A dispatch to send: the event name, its payload, the intent it needs.
pub(crate) type Event = (&'static str, Value, u64);

/// `user` joins `guild_id`: a new member with no roles, joined now (each join has its own
/// `joined_at`, as on Discord). Refused when they are already in it.
pub(crate) fn join(world: &mut World, guild_id: u64, user: FixtureUser) -> Result<Event, String> {
    let joined_at = crate::ids::now_rfc3339();
    let guild = world
        .guild_mut(guild_id)
        .ok_or_else(|| format!("there is no server {guild_id}"))?;
    if guild.member(user.id).is_some() {
        return Err(format!(
            "@{} is already a member of {}",
            user.username, guild.guild.name
        ));
    }
    let member = FixtureMember::new(user.clone());
    let mut payload = shapes::member(&member, &joined_at);
    payload["guild_id"] = json!(guild_id.to_string());
    guild.guild.members.push(member);
    let guild_name = guild.guild.name.clone();
    world.loose_users.retain(|loose| loose.id != user.id);
    announce(&format!("@{} joined {guild_name}", user.username));
    Ok(("GUILD_MEMBER_ADD", payload, intent::GUILD_MEMBERS))
}

/// Member `user_id` leaves `guild_id`; Discord still knows the user afterwards.
pub(crate) fn leave(world: &mut World, guild_id: u64, user_id: u64) -> Result<Event, String> {
    if user_id == world.bot.id {
        return Err("the bot cannot be made to leave".to_owned());
    }
    let guild = world
        .guild_mut(guild_id)
        .ok_or_else(|| format!("there is no server {guild_id}"))?;
    let index = guild
        .guild
        .members
        .iter()
        .position(|member| member.user.id == user_id)
        .ok_or_else(|| format!("user {user_id} is not a member of {}", guild.guild.name))?;
    let member = guild.guild.members.remove(index);
    let guild_name = guild.guild.name.clone();
    world.remember_user(member.user.clone());
    announce(&format!("@{} left {guild_name}", member.user.username));
    let payload = json!({ "guild_id": guild_id.to_string(), "user": shapes::user(&member.user) });
    Ok(("GUILD_MEMBER_REMOVE", payload, intent::GUILD_MEMBERS))
}

/// A reaction emoji as a person writes it: `👍`, a custom emoji's name (`party`), or `name:id`.
fn emoji_from_text(world: &World, guild_id: u64, text: &str) -> Result<Value, String> {
    let text = text.trim().trim_matches(':');
    let by_name = world.guild(guild_id).and_then(|guild| {
        guild
            .guild
            .emojis
            .iter()
            .find(|emoji| emoji.name == text)
            .map(|emoji| format!("{}:{}", emoji.name, emoji.id))
    });
    let segment = by_name.unwrap_or_else(|| text.to_owned());
    reaction_emoji(world, &segment).map_err(|_| {
        format!("{text:?} is neither a unicode emoji nor a custom emoji of the server")
    })
}

/// Member `user_id` adds (or removes) a reaction on a message of a server channel.
pub(crate) fn react(
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    user_id: u64,
    emoji: &str,
    add: bool,
) -> Result<Event, String> {
    let (guild_id, place) = match world.channel(channel_id) {
        Some(ChannelRef::Guild(guild, channel)) => (guild.guild.id, format!("#{}", channel.name)),
        _ => return Err(format!("there is no server channel with id {channel_id}")),
    };
    let member = world
        .guild(guild_id)
        .and_then(|guild| guild.member(user_id))
        .ok_or_else(|| format!("user {user_id} is not a member of the server"))?;
    let username = member.user.username.clone();
    let mut member_object = shapes::member(member, &world.joined_at);
    member_object["guild_id"] = json!(guild_id.to_string());
    let emoji = emoji_from_text(world, guild_id, emoji)?;
    let text = emoji_text(&emoji);
    let author_id = world
        .message(channel_id, message_id)
        .ok_or_else(|| format!("no message {message_id} in {place}"))?
        .author_id();
    let key = (channel_id, message_id, text.clone(), user_id);
    let had = world.user_reactions.contains(&key);
    if add == had {
        return Err(if add {
            format!("@{username} already reacted {text} there")
        } else {
            format!("@{username} has no {text} reaction there")
        });
    }
    let message = world
        .message_mut(channel_id, message_id)
        .expect("found above");
    let reactions = message.object["reactions"]
        .as_array_mut()
        .expect("stored messages have a reactions array");
    let existing = reactions
        .iter()
        .position(|reaction| emoji_text(&reaction["emoji"]) == text);
    match (add, existing) {
        (true, Some(index)) => {
            let count = reactions[index]["count"].as_u64().unwrap_or(0) + 1;
            reactions[index]["count"] = json!(count);
            reactions[index]["count_details"]["normal"] = json!(count);
        }
        (true, None) => reactions.push(json!({
            "count": 1,
            "count_details": { "burst": 0, "normal": 1 },
            "me": false,
            "me_burst": false,
            "emoji": emoji,
            "burst_colors": [],
        })),
        (false, Some(index)) => {
            let count = reactions[index]["count"].as_u64().unwrap_or(1) - 1;
            if count == 0 {
                reactions.remove(index);
            } else {
                reactions[index]["count"] = json!(count);
                reactions[index]["count_details"]["normal"] = json!(count);
            }
        }
        (false, None) => {}
    }
    if add {
        world.user_reactions.push(key);
    } else {
        world.user_reactions.retain(|held| *held != key);
    }
    let mut payload = json!({
        "user_id": user_id.to_string(),
        "channel_id": channel_id.to_string(),
        "message_id": message_id.to_string(),
        "guild_id": guild_id.to_string(),
        "emoji": emoji,
        "burst": false,
        "type": 0,
    });
    let event = if add {
        payload["member"] = member_object;
        payload["message_author_id"] = json!(author_id.to_string());
        payload["burst_colors"] = json!([]);
        announce(&format!(
            "@{username} reacted {text} to message {message_id} in {place}"
        ));
        "MESSAGE_REACTION_ADD"
    } else {
        announce(&format!(
            "@{username} removed their {text} reaction from message {message_id} in {place}"
        ));
        "MESSAGE_REACTION_REMOVE"
    };
    Ok((event, payload, intent::GUILD_MESSAGE_REACTIONS))
}
