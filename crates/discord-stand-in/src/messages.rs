//! Creating messages as Discord does: where the bot may post, which bodies it refuses, who gets
//! pinged (`mentions`), and repeated nonces.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::describe::{message_summary, pings_summary};
use crate::errors::DiscordError;
use crate::fixture::ChannelKind;
use crate::ids::now_rfc3339;
use crate::mentions::Mentions;
use crate::shapes;
use crate::state::{ChannelRef, StoredMessage, World};

/// How long Discord remembers a nonce sent with `enforce_nonce`.
const NONCE_MEMORY: Duration = Duration::from_secs(5 * 60);
const MAX_CONTENT_CHARS: usize = 2000;
const MAX_EMBEDS: usize = 10;
const MAX_NONCE_CHARS: usize = 25;
/// Gateway intents that carry MESSAGE_CREATE for guild channels and for DMs.
pub(crate) const GUILD_MESSAGES_INTENT: u64 = 1 << 9;
pub(crate) const DIRECT_MESSAGES_INTENT: u64 = 1 << 12;
/// Message flags a bot may set when sending: SUPPRESS_EMBEDS and SUPPRESS_NOTIFICATIONS.
pub(crate) const SENDABLE_FLAGS: u64 = 4 | 4096;
/// Only the user who started the interaction sees the message.
pub(crate) const EPHEMERAL: u64 = 64;
/// An interaction's deferred answer: "is thinking…" until it is edited.
pub(crate) const LOADING: u64 = 128;

/// What a successful `POST /channels/{id}/messages` did.
pub(crate) struct Sent {
    /// The message object to answer with.
    pub object: Value,
    /// The MESSAGE_CREATE payload and its intent; `None` when nothing new was created.
    pub event: Option<(Value, u64)>,
    /// The plain-words log line.
    pub description: String,
}

/// Creates a message in `channel_id` from the request `body`, or refuses as Discord would.
pub(crate) fn create(
    world: &mut World,
    channel_id: u64,
    body: &Value,
) -> Result<Sent, DiscordError> {
    let empty = Map::new();
    let fields = body.as_object().unwrap_or(&empty);

    let (place, guild_id) = match world.channel(channel_id) {
        None => return Err(DiscordError::unknown_channel()),
        Some(ChannelRef::Guild(guild, channel)) => {
            if channel.kind == ChannelKind::Category {
                return Err(DiscordError::non_text_channel());
            }
            if !channel.bot_can_send {
                return Err(DiscordError::missing_permissions());
            }
            if channel
                .thread
                .as_ref()
                .is_some_and(|t| t.archived && t.locked)
            {
                return Err(DiscordError::thread_archived());
            }
            (format!("#{}", channel.name), Some(guild.guild.id))
        }
        Some(ChannelRef::Dm(dm)) => {
            let recipient = world
                .user(dm.recipient_id)
                .ok_or_else(DiscordError::unknown_channel)?;
            // Discord never lets a bot DM another bot, nor a user who closed their DMs.
            if !recipient.dms_open || recipient.bot {
                return Err(DiscordError::cannot_message_user());
            }
            (format!("DM to @{}", recipient.username), None)
        }
    };

    validate(fields)?;

    let nonce = fields.get("nonce").filter(|nonce| !nonce.is_null());
    let enforce_nonce = fields.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    if let (Some(nonce), true) = (nonce, enforce_nonce) {
        if let Some(earlier) = earlier_with_nonce(world, channel_id, nonce) {
            return Ok(Sent {
                object: earlier.object.clone(),
                event: None,
                description: format!(
                    "repeated nonce {} in {place}: answered with the earlier message, sent nothing new",
                    nonce_text(nonce)
                ),
            });
        }
    }

    let reply_to = match fields.get("message_reference") {
        Some(reference) if !reference.is_null() => resolve_reply(world, channel_id, reference)?,
        _ => None,
    };
    let flags = fields.get("flags").and_then(Value::as_u64).unwrap_or(0) & SENDABLE_FLAGS;
    let origin = Origin {
        place,
        guild_id,
        flags,
        reply_to,
        interaction: None,
    };
    store(world, channel_id, body, origin)
}

/// Who asked for a message and how it is shown.
pub(crate) struct Origin {
    /// `#deploys`, `DM to @alice`, for the log.
    pub place: String,
    pub guild_id: Option<u64>,
    /// The message's flags (EPHEMERAL, LOADING, SUPPRESS_EMBEDS, …).
    pub flags: u64,
    /// A reply's `message_reference` and the message it refers to.
    pub reply_to: Option<(Value, Value)>,
    /// For an interaction's response: the message `type` (20 for a command's, 0 for a click's)
    /// and Discord's `interaction_metadata`.
    pub interaction: Option<(u64, Value)>,
}

/// A message the bot is allowed to send into `channel_id`, from a checked body: stored, with
/// its MESSAGE_CREATE (none for an ephemeral one, which only its user sees).
pub(crate) fn store(
    world: &mut World,
    channel_id: u64,
    body: &Value,
    origin: Origin,
) -> Result<Sent, DiscordError> {
    let empty = Map::new();
    let fields = body.as_object().unwrap_or(&empty);
    let Origin {
        place,
        guild_id,
        flags,
        reply_to,
        interaction,
    } = origin;
    let content = fields.get("content").and_then(Value::as_str).unwrap_or("");
    let mentions = Mentions::resolve(world, guild_id, content, fields.get("allowed_mentions"))?;
    let nonce = fields.get("nonce").filter(|nonce| !nonce.is_null());
    // Sending into an archived (unlocked) thread unarchives it, as on Discord.
    if let Some(thread) = guild_id
        .and_then(|guild_id| world.guild_mut(guild_id))
        .and_then(|guild| guild.channel_mut(channel_id))
        .and_then(|channel| channel.thread.as_mut())
    {
        if thread.archived {
            thread.archived = false;
            thread.archive_timestamp = now_rfc3339();
        }
    }

    let id = world.snowflakes.next();
    let kind = match (&interaction, &reply_to) {
        (Some((kind, _)), _) => *kind,
        (None, Some(_)) => 19,
        (None, None) => 0,
    };
    let mut object = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": shapes::user(&world.bot),
        "content": content,
        "timestamp": now_rfc3339(),
        "edited_timestamp": null,
        "tts": fields.get("tts").and_then(Value::as_bool).unwrap_or(false),
        "mention_everyone": mentions.everyone,
        "mentions": mentions.users,
        "mention_roles": mentions.roles,
        "attachments": [],
        "embeds": fields.get("embeds").and_then(Value::as_array).map_or_else(Vec::new, |embeds| {
            embeds.iter().map(normalized_embed).collect()
        }),
        "reactions": [],
        "pinned": false,
        "type": kind,
        "flags": flags,
        "components": fields.get("components").cloned().unwrap_or_else(|| json!([])),
    });
    if let Some(nonce) = nonce {
        object["nonce"] = nonce.clone();
    }
    if let Some((reference, referenced)) = reply_to {
        object["message_reference"] = reference;
        object["referenced_message"] = referenced;
    }
    if let Some((_, metadata)) = interaction {
        object["webhook_id"] = json!(world.bot.id.to_string());
        object["application_id"] = json!(world.bot.id.to_string());
        object["interaction_metadata"] = metadata;
    }

    let mut event = object.clone();
    let intent = match guild_id {
        Some(guild_id) => {
            event["guild_id"] = json!(guild_id.to_string());
            if let Some(member) = world
                .guild(guild_id)
                .and_then(|guild| guild.member(world.bot.id))
            {
                let mut partial = shapes::member(member, &world.joined_at);
                partial
                    .as_object_mut()
                    .map(|partial| partial.remove("user"));
                event["member"] = partial;
            }
            GUILD_MESSAGES_INTENT
        }
        None => DIRECT_MESSAGES_INTENT,
    };

    world.messages.push(StoredMessage {
        channel_id,
        object: object.clone(),
        sent: body.clone(),
        created: Instant::now(),
    });
    let ephemeral = flags & EPHEMERAL != 0;
    let description = format!(
        "sent {}{place}{}: {}{}",
        if guild_id.is_some() { "to " } else { "" },
        if ephemeral {
            " (only its user sees it)"
        } else {
            ""
        },
        message_summary(body),
        pings_summary(&mentions.pinged)
    );
    Ok(Sent {
        object,
        event: (!ephemeral).then_some((event, intent)),
        description,
    })
}

/// Edits one of the bot's messages from a `PATCH /channels/{c}/messages/{m}` body: the fields
/// sent replace the message's, which must still make a valid message.
pub(crate) fn edit(
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    body: &Value,
) -> Result<Sent, DiscordError> {
    let empty = Map::new();
    let fields = body.as_object().unwrap_or(&empty);
    let (place, guild_id) = match world.channel(channel_id) {
        None => return Err(DiscordError::unknown_channel()),
        Some(ChannelRef::Guild(guild, channel)) => {
            (format!("#{}", channel.name), Some(guild.guild.id))
        }
        Some(ChannelRef::Dm(dm)) => {
            let recipient = world
                .user(dm.recipient_id)
                .ok_or_else(DiscordError::unknown_channel)?;
            (format!("DM to @{}", recipient.username), None)
        }
    };
    let stored = world
        .message(channel_id, message_id)
        .ok_or_else(DiscordError::unknown_message)?;
    if stored.author_id() != world.bot.id {
        return Err(DiscordError::cannot_edit_others_message());
    }
    // What the message will be: the stored content and embeds, replaced by what was sent.
    let mut merged = fields.clone();
    for key in ["content", "embeds"] {
        if !merged.contains_key(key) {
            merged.insert(key.to_owned(), stored.object[key].clone());
        }
    }
    merged.remove("nonce");
    if !merged.contains_key("components") {
        merged.insert("components".to_owned(), stored.object["components"].clone());
    }
    validate(&merged)?;
    let allowed = fields
        .get("allowed_mentions")
        .or_else(|| stored.sent.get("allowed_mentions"))
        .cloned();
    let content = merged
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mentions = Mentions::resolve(world, guild_id, &content, allowed.as_ref())?;

    let stored = world
        .message_mut(channel_id, message_id)
        .expect("the message was found above");
    let object = &mut stored.object;
    object["content"] = json!(content);
    if let Some(embeds) = merged.get("embeds").and_then(Value::as_array) {
        object["embeds"] = json!(embeds.iter().map(normalized_embed).collect::<Vec<_>>());
    } else {
        object["embeds"] = json!([]);
    }
    if let Some(components) = fields.get("components") {
        object["components"] = if components.is_null() {
            json!([])
        } else {
            components.clone()
        };
    }
    if let Some(flags) = fields.get("flags").and_then(Value::as_u64) {
        // Only SUPPRESS_EMBEDS may change on an edit.
        let kept = object["flags"].as_u64().unwrap_or(0) & !4;
        object["flags"] = json!(kept | (flags & 4));
    }
    object["mentions"] = json!(mentions.users);
    object["mention_roles"] = json!(mentions.roles);
    object["mention_everyone"] = json!(mentions.everyone);
    object["edited_timestamp"] = json!(now_rfc3339());
    if let Some(sent) = stored.sent.as_object_mut() {
        for (key, value) in fields {
            sent.insert(key.clone(), value.clone());
        }
    }
    let object = stored.object.clone();
    let mut event = object.clone();
    let intent = match guild_id {
        Some(guild_id) => {
            event["guild_id"] = json!(guild_id.to_string());
            GUILD_MESSAGES_INTENT
        }
        None => DIRECT_MESSAGES_INTENT,
    };
    let description = format!(
        "edited message {message_id} in {place}: now {}",
        message_summary(&json!({ "content": content, "embeds": object["embeds"] }))
    );
    Ok(Sent {
        object,
        event: Some((event, intent)),
        description,
    })
}

/// A message a user (not the bot) writes, for tests that need one to edit, react to or delete:
/// the MESSAGE_CREATE payload and its intent, or `None` if the user cannot write there.
pub(crate) fn from_user(
    world: &mut World,
    channel_id: u64,
    user_id: u64,
    content: &str,
) -> Option<(Value, u64)> {
    let (guild_id, member) = match world.channel(channel_id)? {
        ChannelRef::Guild(guild, channel) => {
            if !channel.kind.holds_messages() {
                return None;
            }
            let member = guild.member(user_id)?;
            let mut partial = shapes::member(member, &world.joined_at);
            partial.as_object_mut().map(|p| p.remove("user"));
            (Some(guild.guild.id), Some(partial))
        }
        ChannelRef::Dm(dm) if dm.recipient_id == user_id => (None, None),
        ChannelRef::Dm(_) => return None,
    };
    let author = shapes::user(world.user(user_id)?);
    let id = world.snowflakes.next();
    let object = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": author,
        "content": content,
        "timestamp": now_rfc3339(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "reactions": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    });
    world.messages.push(StoredMessage {
        channel_id,
        object: object.clone(),
        sent: json!({}),
        created: Instant::now(),
    });
    let mut event = object;
    match guild_id {
        Some(guild_id) => {
            event["guild_id"] = json!(guild_id.to_string());
            if let Some(member) = member {
                event["member"] = member;
            }
            Some((event, GUILD_MESSAGES_INTENT))
        }
        None => Some((event, DIRECT_MESSAGES_INTENT)),
    }
}

/// Checks the body the way Discord's form validation does, before anything is created.
pub(crate) fn validate(fields: &Map<String, Value>) -> Result<(), DiscordError> {
    let too_long = |path: &[&str], limit: usize| {
        DiscordError::invalid_form_body(
            path,
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {limit} or fewer in length."),
        )
    };
    let content = match fields.get("content") {
        None | Some(Value::Null) => "",
        Some(Value::String(content)) => content,
        Some(_) => {
            return Err(DiscordError::invalid_form_body(
                &["content"],
                "BASE_TYPE_STRING",
                "Could not interpret value as string.",
            ))
        }
    };
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(too_long(&["content"], MAX_CONTENT_CHARS));
    }
    let embeds = match fields.get("embeds") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(embeds)) => embeds.as_slice(),
        Some(_) => {
            return Err(DiscordError::invalid_form_body(
                &["embeds"],
                "BASE_TYPE_ARRAY",
                "Must be an array.",
            ))
        }
    };
    if embeds.len() > MAX_EMBEDS {
        return Err(too_long(&["embeds"], MAX_EMBEDS));
    }
    for (index, embed) in embeds.iter().enumerate() {
        let index = index.to_string();
        for (field, limit) in [("title", 256), ("description", 4096)] {
            if embed[field]
                .as_str()
                .is_some_and(|text| text.chars().count() > limit)
            {
                return Err(too_long(&["embeds", &index, field], limit));
            }
        }
        if embed["fields"]
            .as_array()
            .is_some_and(|fields| fields.len() > 25)
        {
            return Err(too_long(&["embeds", &index, "fields"], 25));
        }
    }
    match fields.get("nonce") {
        None | Some(Value::Null | Value::Number(_)) => {}
        Some(Value::String(nonce)) if nonce.chars().count() <= MAX_NONCE_CHARS => {}
        Some(Value::String(_)) => return Err(too_long(&["nonce"], MAX_NONCE_CHARS)),
        Some(_) => {
            return Err(DiscordError::invalid_form_body(
                &["nonce"],
                "BASE_TYPE_STRING",
                "Could not interpret value as string.",
            ))
        }
    }
    crate::components::validate(fields.get("components"))?;
    let has_other_payload = ["sticker_ids", "components", "attachments", "poll"]
        .iter()
        .any(|key| match fields.get(*key) {
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        });
    if content.is_empty() && embeds.is_empty() && !has_other_payload {
        return Err(DiscordError::empty_message());
    }
    Ok(())
}

fn earlier_with_nonce<'a>(
    world: &'a World,
    channel_id: u64,
    nonce: &Value,
) -> Option<&'a StoredMessage> {
    let wanted = nonce_text(nonce);
    world.messages.iter().find(|message| {
        message.channel_id == channel_id
            && message.created.elapsed() < NONCE_MEMORY
            && message.object.get("nonce").map(nonce_text).as_deref() == Some(wanted.as_str())
    })
}

/// Discord compares nonces as text: `123` and `"123"` are the same nonce.
fn nonce_text(nonce: &Value) -> String {
    match nonce {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Discord fills in `type: "rich"` and `inline: false` on the embeds it stores.
fn normalized_embed(embed: &Value) -> Value {
    let mut embed = embed.clone();
    if let Some(object) = embed.as_object_mut() {
        object.entry("type").or_insert_with(|| json!("rich"));
        if let Some(fields) = object.get_mut("fields").and_then(Value::as_array_mut) {
            for field in fields.iter_mut().filter_map(Value::as_object_mut) {
                field.entry("inline").or_insert(json!(false));
            }
        }
    }
    embed
}

/// A reply's `message_reference`, checked against the channel's messages; with
/// `fail_if_not_exists: false` a missing message makes a plain message instead.
fn resolve_reply(
    world: &World,
    channel_id: u64,
    reference: &Value,
) -> Result<Option<(Value, Value)>, DiscordError> {
    let wanted = reference["message_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| reference["message_id"].as_u64().map(|id| id.to_string()));
    let referenced = world.messages.iter().find(|message| {
        message.channel_id == channel_id && message.object["id"].as_str() == wanted.as_deref()
    });
    let guild_id = world.guild_of_channel(channel_id).map(|id| id.to_string());
    match referenced {
        Some(referenced) => Ok(Some((
            json!({
                "type": 0,
                "message_id": referenced.object["id"],
                "channel_id": channel_id.to_string(),
                "guild_id": guild_id,
            }),
            referenced.object.clone(),
        ))),
        None if reference["fail_if_not_exists"] == json!(false) => Ok(None),
        None => Err(DiscordError::invalid_form_body(
            &["message_reference"],
            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
            "Unknown message",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{Fixture, FixtureGuild};

    fn world() -> World {
        let fixture = Fixture::new(1, "hookbot")
            .guild(
                FixtureGuild::new(10, "Acme")
                    .channel(11, "deploys")
                    .role(12, "Deployer")
                    .member(13, "alice"),
            )
            .completed()
            .expect("valid fixture");
        World::new(fixture)
    }

    #[test]
    fn empty_allowed_mentions_pings_nobody() {
        let mut world = world();
        let body =
            json!({ "content": "<@13> <@&12> @everyone", "allowed_mentions": { "parse": [] } });
        let sent = create(&mut world, 11, &body).expect("sent");
        assert_eq!(sent.object["mentions"], json!([]));
        assert_eq!(sent.object["mention_roles"], json!([]));
        assert_eq!(sent.object["mention_everyone"], json!(false));
        assert!(!sent.description.contains("pings"), "{}", sent.description);
    }

    #[test]
    fn without_allowed_mentions_everything_mentioned_is_pinged() {
        let mut world = world();
        let sent =
            create(&mut world, 11, &json!({ "content": "<@!13> <@&12> @here" })).expect("sent");
        assert_eq!(sent.object["mentions"][0]["id"], json!("13"));
        assert_eq!(sent.object["mention_roles"], json!(["12"]));
        assert_eq!(sent.object["mention_everyone"], json!(true));
        assert!(
            sent.description
                .ends_with("(pings @alice, @Deployer, @here)"),
            "{}",
            sent.description
        );
    }

    #[test]
    fn parse_users_and_a_user_list_are_exclusive() {
        let mut world = world();
        let body =
            json!({ "content": "x", "allowed_mentions": { "parse": ["users"], "users": ["13"] } });
        let error = create(&mut world, 11, &body).err().expect("refused");
        assert_eq!(error.body["code"], json!(50035));
    }

    #[test]
    fn refuses_long_content_and_empty_messages() {
        let mut world = world();
        let long = json!({ "content": "x".repeat(2001) });
        let error = create(&mut world, 11, &long).err().expect("refused");
        assert_eq!(
            error.body["errors"]["content"]["_errors"][0]["code"],
            json!("BASE_TYPE_MAX_LENGTH")
        );
        let error = create(&mut world, 11, &json!({ "content": "" }))
            .err()
            .expect("refused");
        assert_eq!(error, DiscordError::empty_message());
    }

    #[test]
    fn a_repeated_enforced_nonce_returns_the_first_message() {
        let mut world = world();
        let body = json!({ "content": "once", "nonce": "run-1", "enforce_nonce": true });
        let first = create(&mut world, 11, &body).expect("sent");
        let again = create(&mut world, 11, &body).expect("answered");
        assert_eq!(first.object["id"], again.object["id"]);
        assert!(again.event.is_none());
        assert_eq!(world.messages.len(), 1);
        // Without enforce_nonce, a nonce is only echoed.
        let loose = json!({ "content": "once", "nonce": "run-1" });
        create(&mut world, 11, &loose).expect("sent");
        assert_eq!(world.messages.len(), 2);
    }
}
