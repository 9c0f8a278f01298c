//! Answering an interaction as Discord holds a bot to it: the callback within 3 seconds
//! (Discord then forgets the interaction: 10062 Unknown interaction) and only once (40060);
//! its token then serves follow-ups and the original answer for 15 minutes (50027 Invalid
//! Webhook Token after).

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::describe::{announce, message_summary};
use crate::errors::DiscordError;
use crate::invoke::{APPLICATION_COMMAND, MESSAGE_COMPONENT};
use crate::messages::{self, Origin, EPHEMERAL, LOADING, SENDABLE_FLAGS};
use crate::shapes;
use crate::state::{Acknowledged, ChannelRef, Shared, StoredInteraction, World};
use crate::wire::Answer;

/// Discord's window for the first answer to an interaction.
pub const CALLBACK_WINDOW: Duration = Duration::from_secs(3);
/// How long an interaction's token serves follow-ups and the original answer.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Message types of an interaction's answer.
const CHAT_INPUT_COMMAND_MESSAGE: u64 = 20;

fn find_by_id<'a>(
    world: &'a mut World,
    interaction_id: &str,
    token: &str,
) -> Result<&'a mut StoredInteraction, DiscordError> {
    world
        .interactions
        .iter_mut()
        .find(|stored| stored.id.to_string() == interaction_id && stored.token == token)
        .ok_or_else(DiscordError::unknown_interaction)
}

fn record(world: &mut World, index: usize, route: &str, body: &Value, status: u16) {
    world.interactions[index]
        .answers
        .push(json!({ "route": route, "body": body, "status": status }));
}

fn message_fields(body: &Value) -> Map<String, Value> {
    body.as_object().cloned().unwrap_or_default()
}

/// `POST /interactions/{id}/{token}/callback`: the first and only answer, within 3 seconds.
pub(crate) fn callback(
    shared: &Shared,
    world: &mut World,
    interaction_id: &str,
    token: &str,
    body: &Value,
) -> Result<Answer, DiscordError> {
    let stored = find_by_id(world, interaction_id, token)?;
    let elapsed = stored.created.elapsed();
    if stored.acknowledged.is_some() {
        return Err(DiscordError::interaction_already_acknowledged());
    }
    if elapsed > CALLBACK_WINDOW {
        let line = format!(
            "refused the answer to {}: it came {} ms after the click, past Discord's 3 s (10062 Unknown interaction)",
            stored.label,
            elapsed.as_millis()
        );
        announce(&line);
        return Err(DiscordError::unknown_interaction());
    }
    let is_click = stored.clicked_message.is_some();
    let kind = body["type"].as_u64().unwrap_or(0);
    let acknowledged = match kind {
        4 => Acknowledged::Message,
        5 => Acknowledged::DeferredMessage,
        6 if is_click => Acknowledged::DeferredUpdate,
        7 if is_click => Acknowledged::UpdateMessage,
        _ => {
            return Err(DiscordError::invalid_form_body(
                &["type"],
                "INTERACTION_RESPONSE_TYPE_INVALID",
                "This response type is not valid for this interaction",
            ))
        }
    };
    let data = message_fields(&body["data"]);
    let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0);
    if matches!(
        acknowledged,
        Acknowledged::Message | Acknowledged::UpdateMessage
    ) {
        messages::validate(&data)?;
    }
    let index = world
        .interactions
        .iter()
        .position(|stored| stored.id.to_string() == interaction_id)
        .expect("found above");
    let (channel_id, label, user_id) = {
        let stored = &world.interactions[index];
        (stored.channel_id, stored.label.clone(), stored.user_id)
    };
    let user = world
        .user(user_id)
        .map_or_else(String::new, |u| u.username.clone());
    match acknowledged {
        Acknowledged::Message | Acknowledged::DeferredMessage => {
            let loading = acknowledged == Acknowledged::DeferredMessage;
            let shown = flags & (EPHEMERAL | SENDABLE_FLAGS) | if loading { LOADING } else { 0 };
            let message_body = if loading {
                json!({})
            } else {
                body["data"].clone()
            };
            let sent = answer_message(world, index, &message_body, shown)?;
            let stored = &mut world.interactions[index];
            stored.original = sent.object["id"].as_str().and_then(|id| id.parse().ok());
            stored.ephemeral = flags & EPHEMERAL != 0;
            if loading {
                announce(&format!(
                    "showed @{user} that the bot is thinking about their {label}"
                ));
            } else {
                announce(&format!("answered @{user}'s {label}: {}", sent.description));
            }
            if let Some((event, intent)) = sent.event {
                shared.dispatch("MESSAGE_CREATE", event, intent);
            }
        }
        Acknowledged::DeferredUpdate => {
            announce(&format!("acknowledged @{user}'s click on {label}"));
        }
        Acknowledged::UpdateMessage => {
            let message_id = world.interactions[index].clicked_message.unwrap_or(0);
            let edited = messages::edit(world, channel_id, message_id, &body["data"])?;
            announce(&format!(
                "answered @{user}'s {label} by editing the message: {}",
                edited.description
            ));
            if let Some((event, intent)) = edited.event {
                shared.dispatch("MESSAGE_UPDATE", event, intent);
            }
        }
    }
    let stored = &mut world.interactions[index];
    stored.acknowledged = Some(acknowledged);
    stored.acknowledged_after = Some(elapsed);
    record(world, index, "callback", body, 204);
    Ok(Answer::no_content())
}

/// A message answering interaction `index`, with `flags` as given.
fn answer_message(
    world: &mut World,
    index: usize,
    body: &Value,
    flags: u64,
) -> Result<messages::Sent, DiscordError> {
    let stored = &world.interactions[index];
    let (channel_id, guild_id, user_id, id) = (
        stored.channel_id,
        stored.guild_id,
        stored.user_id,
        stored.id,
    );
    let clicked_message = stored.clicked_message;
    let is_click = clicked_message.is_some();
    let user = world.user(user_id).map(shapes::user).unwrap_or(Value::Null);
    let place = match world.channel(channel_id) {
        Some(ChannelRef::Guild(_, channel)) => format!("#{}", channel.name),
        _ => "a channel".to_owned(),
    };
    let mut metadata = json!({
        "id": id.to_string(),
        "type": if is_click { MESSAGE_COMPONENT } else { APPLICATION_COMMAND },
        "user": user,
        "authorizing_integration_owners": { "0": guild_id.to_string() },
    });
    // Discord names the clicked message in a click's metadata; serenity requires it.
    if let Some(clicked) = clicked_message {
        metadata["interacted_message_id"] = json!(clicked.to_string());
    }
    let kind = if is_click {
        0
    } else {
        CHAT_INPUT_COMMAND_MESSAGE
    };
    let origin = Origin {
        place,
        guild_id: Some(guild_id),
        flags,
        reply_to: None,
        interaction: Some((kind, metadata)),
    };
    messages::store(world, channel_id, body, origin)
}

/// The interaction whose token this is, checked: the application, acknowledged, not expired.
fn by_token(world: &World, application_id: &str, token: &str) -> Result<usize, DiscordError> {
    if application_id != world.bot.id.to_string() {
        return Err(DiscordError::unknown_webhook());
    }
    let index = world
        .interactions
        .iter()
        .position(|stored| stored.token == token)
        .ok_or_else(DiscordError::unknown_webhook)?;
    let stored = &world.interactions[index];
    if stored.acknowledged.is_none() {
        return Err(DiscordError::unknown_webhook());
    }
    if stored.created.elapsed() > TOKEN_LIFETIME {
        return Err(DiscordError::invalid_webhook_token());
    }
    Ok(index)
}

/// `POST /webhooks/{app}/{token}`: a follow-up message. After a deferred answer, the first
/// follow-up replaces the "thinking…" message, keeping its ephemerality, as on Discord.
pub(crate) fn follow_up(
    shared: &Shared,
    world: &mut World,
    application_id: &str,
    token: &str,
    body: &Value,
) -> Result<Answer, DiscordError> {
    let index = by_token(world, application_id, token)?;
    let fields = message_fields(body);
    messages::validate(&fields)?;
    let stored = &world.interactions[index];
    let (channel_id, label) = (stored.channel_id, stored.label.clone());
    let loading = stored
        .original
        .and_then(|id| world.message(channel_id, id))
        .filter(|message| message.object["flags"].as_u64().unwrap_or(0) & LOADING != 0)
        .map(|message| message.id());
    let object = match loading {
        Some(message_id) => {
            let object = finish_loading(shared, world, channel_id, message_id, body)?;
            announce(&format!("answered the {label}: {}", message_summary(body)));
            object
        }
        None => {
            let flags = fields.get("flags").and_then(Value::as_u64).unwrap_or(0)
                & (EPHEMERAL | SENDABLE_FLAGS);
            let sent = answer_message(world, index, body, flags)?;
            announce(&format!("followed up on the {label}: {}", sent.description));
            if let Some((event, intent)) = sent.event {
                shared.dispatch("MESSAGE_CREATE", event, intent);
            }
            sent.object
        }
    };
    record(world, index, "follow_up", body, 200);
    Ok(Answer::json(object))
}

/// A deferred answer's message edited into the real one: content, embeds and components from
/// `body`, the LOADING flag gone.
fn finish_loading(
    shared: &Shared,
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    body: &Value,
) -> Result<Value, DiscordError> {
    let mut fields = message_fields(body);
    fields.remove("flags");
    let edited = messages::edit(world, channel_id, message_id, &Value::Object(fields))?;
    let stored = world
        .message_mut(channel_id, message_id)
        .expect("just edited");
    let flags = stored.object["flags"].as_u64().unwrap_or(0) & !LOADING;
    stored.object["flags"] = json!(flags);
    stored.object["edited_timestamp"] = Value::Null;
    let object = stored.object.clone();
    if flags & EPHEMERAL == 0 {
        if let Some((mut event, intent)) = edited.event {
            event["flags"] = json!(flags);
            shared.dispatch("MESSAGE_UPDATE", event, intent);
        }
    }
    Ok(object)
}

/// `GET`, `PATCH` and `DELETE /webhooks/{app}/{token}/messages/{@original | id}`.
pub(crate) fn answer_message_route(
    shared: &Shared,
    world: &mut World,
    method: &str,
    application_id: &str,
    token: &str,
    which: &str,
    body: &Value,
) -> Result<Answer, DiscordError> {
    let index = by_token(world, application_id, token)?;
    let stored = &world.interactions[index];
    let channel_id = stored.channel_id;
    let message_id = match which {
        "@original" => stored.original.ok_or_else(DiscordError::unknown_message)?,
        id => id.parse().map_err(|_| DiscordError::unknown_message())?,
    };
    let object = world
        .message(channel_id, message_id)
        .map(|message| message.object.clone())
        .ok_or_else(DiscordError::unknown_message)?;
    let answered_by_this =
        object["interaction_metadata"]["id"] == json!(world.interactions[index].id.to_string());
    if !answered_by_this {
        return Err(DiscordError::unknown_message());
    }
    match method {
        "GET" => Ok(Answer::json(object)),
        "PATCH" => {
            let fields = message_fields(body);
            let edited = finish_loading(
                shared,
                world,
                channel_id,
                message_id,
                &Value::Object(fields),
            )?;
            announce(&format!(
                "edited the answer to the {}: {}",
                world.interactions[index].label,
                message_summary(body)
            ));
            record(world, index, "edit", body, 200);
            Ok(Answer::json(edited))
        }
        "DELETE" => {
            world
                .messages
                .retain(|m| !(m.channel_id == channel_id && m.id() == message_id));
            if object["flags"].as_u64().unwrap_or(0) & EPHEMERAL == 0 {
                let data = json!({
                    "id": message_id.to_string(),
                    "channel_id": channel_id.to_string(),
                    "guild_id": world.interactions[index].guild_id.to_string(),
                });
                shared.dispatch("MESSAGE_DELETE", data, crate::state::intent::GUILD_MESSAGES);
            }
            announce(&format!(
                "deleted the answer to the {}",
                world.interactions[index].label
            ));
            record(world, index, "delete", &Value::Null, 204);
            Ok(Answer::no_content())
        }
        _ => Err(DiscordError::not_found()),
    }
}

/// An interaction and what the bot answered, for tests and the sandbox's control API.
pub(crate) fn describe(world: &World, interaction_id: u64) -> Option<Value> {
    let stored = world
        .interactions
        .iter()
        .find(|stored| stored.id == interaction_id)?;
    let original = stored
        .original
        .and_then(|id| world.message(stored.channel_id, id))
        .map(|message| message.object.clone());
    let follow_ups: Vec<Value> = world
        .messages
        .iter()
        .filter(|m| m.object["interaction_metadata"]["id"] == json!(stored.id.to_string()))
        .filter(|m| Some(m.id()) != stored.original)
        .map(|m| m.object.clone())
        .collect();
    Some(json!({
        "id": stored.id.to_string(),
        "label": stored.label,
        "acknowledged": stored.acknowledged.map(|a| format!("{a:?}")),
        "acknowledged_after_ms": stored.acknowledged_after.map(|d| d.as_millis() as u64),
        "ephemeral": stored.ephemeral,
        "original": original,
        "follow_ups": follow_ups,
        "answers": stored.answers,
    }))
}
