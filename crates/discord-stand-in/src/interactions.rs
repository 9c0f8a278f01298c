//! Interactions as Discord runs them: a member uses a registered slash command (with options,
//! typed and resolved as Discord's client does) or clicks a button, the bot gets
//! INTERACTION_CREATE, and must answer the callback within 3 seconds (Discord then forgets the
//! interaction: 10062 Unknown interaction) and only once (40060); its token then serves
//! follow-ups and the original answer for 15 minutes (50027 Invalid Webhook Token after).

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::components;
use crate::describe::{announce, message_summary, quote};
use crate::errors::DiscordError;
use crate::messages::{self, Origin, EPHEMERAL, LOADING, SENDABLE_FLAGS};
use crate::shapes;
use crate::state::{Acknowledged, ChannelRef, GuildState, Shared, StoredInteraction, World};
use crate::wire::Answer;

/// Discord's window for the first answer to an interaction.
pub const CALLBACK_WINDOW: Duration = Duration::from_secs(3);
/// How long an interaction's token serves follow-ups and the original answer.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Interaction types (Discord's numbers).
const APPLICATION_COMMAND: u64 = 2;
const MESSAGE_COMPONENT: u64 = 3;
/// Message types of an interaction's answer.
const CHAT_INPUT_COMMAND_MESSAGE: u64 = 20;
/// Option types (Discord's numbers).
mod option {
    pub const STRING: u64 = 3;
    pub const INTEGER: u64 = 4;
    pub const BOOLEAN: u64 = 5;
    pub const USER: u64 = 6;
    pub const CHANNEL: u64 = 7;
    pub const ROLE: u64 = 8;
    pub const MENTIONABLE: u64 = 9;
    pub const NUMBER: u64 = 10;
}

/// Where a member acts: a guild channel that holds messages, and the member.
fn acting_member(
    world: &World,
    channel_id: u64,
    user_id: u64,
) -> Result<(&GuildState, Value), String> {
    let Some(ChannelRef::Guild(guild, channel)) = world.channel(channel_id) else {
        return Err(format!("there is no server channel with id {channel_id}"));
    };
    if !channel.kind.holds_messages() {
        return Err(format!("#{} holds no messages", channel.name));
    }
    let member = guild
        .member(user_id)
        .ok_or_else(|| format!("user {user_id} is not a member of {}", guild.guild.name))?;
    let mut object = shapes::member(member, &world.joined_at);
    object["permissions"] = json!(member_permissions(guild, user_id));
    let channel_object = json!({
        "id": channel.id.to_string(),
        "name": channel.name,
        "type": channel.kind.discord_type(),
        "guild_id": guild.guild.id.to_string(),
        "permissions": member_permissions(guild, user_id),
    });
    Ok((
        guild,
        json!({ "member": object, "channel": channel_object }),
    ))
}

/// What a member may do: everything for the owner (ADMINISTRATOR), else @everyone's.
fn member_permissions(guild: &GuildState, user_id: u64) -> String {
    if guild.guild.owner_id == user_id {
        "2251799813685247".to_owned()
    } else {
        shapes::EVERYONE_PERMISSIONS.to_owned()
    }
}

/// The fields every INTERACTION_CREATE carries, for a new interaction recorded in `world`.
fn begin(
    world: &mut World,
    kind: u64,
    channel_id: u64,
    user_id: u64,
    label: String,
) -> Result<(Value, u64), String> {
    let (guild, acting) = acting_member(world, channel_id, user_id)?;
    let guild_id = guild.guild.id;
    let app_permissions = guild.bot_permissions().to_string();
    let id = world.snowflakes.next();
    let token = format!("interaction-token.{id}.{:032x}", rand::random::<u128>());
    let payload = json!({
        "id": id.to_string(),
        "application_id": world.bot.id.to_string(),
        "type": kind,
        "guild_id": guild_id.to_string(),
        "channel_id": channel_id.to_string(),
        "channel": acting["channel"],
        "member": acting["member"],
        "token": token,
        "version": 1,
        "app_permissions": app_permissions,
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": { "0": guild_id.to_string() },
        "context": 0,
        "attachment_size_limit": 10_485_760,
    });
    world.interactions.push(StoredInteraction {
        id,
        token,
        guild_id,
        channel_id,
        user_id,
        label,
        created: tokio::time::Instant::now(),
        acknowledged: None,
        acknowledged_after: None,
        ephemeral: false,
        original: None,
        clicked_message: None,
        answers: Vec::new(),
    });
    Ok((payload, id))
}

/// A member uses the guild's slash command `name` with `options` given as text, as a person
/// types them (`billing`, `42`, `true`, `@alice` or `alice`, `#deploys`, `Deployer`): the
/// INTERACTION_CREATE payload and the interaction's id, or what Discord's client would refuse.
pub(crate) fn use_command(
    world: &mut World,
    channel_id: u64,
    user_id: u64,
    name: &str,
    options: &[(String, String)],
) -> Result<(Value, u64), String> {
    let guild_id = world
        .guild_of_channel(channel_id)
        .ok_or_else(|| format!("there is no server channel with id {channel_id}"))?;
    let command = world
        .commands
        .iter()
        .find(|command| command.guild_id == guild_id && command.name() == name)
        .map(|command| command.object.clone())
        .ok_or_else(|| {
            let known: Vec<String> = world
                .commands
                .iter()
                .filter(|command| command.guild_id == guild_id)
                .map(|command| format!("/{}", command.name()))
                .collect();
            if known.is_empty() {
                format!("the bot has registered no slash command in this server (no /{name})")
            } else {
                format!(
                    "no slash command /{name} here; the bot registered {}",
                    known.join(", ")
                )
            }
        })?;
    let declared = command["options"].as_array().cloned().unwrap_or_default();
    for (given, _) in options {
        if !declared
            .iter()
            .any(|option| option["name"] == given.as_str())
        {
            let names: Vec<&str> = declared.iter().filter_map(|o| o["name"].as_str()).collect();
            return Err(format!(
                "/{name} has no option {given:?}; its options: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    let guild = world.guild(guild_id).expect("the channel's guild exists");
    let mut resolved = Resolved::default();
    let mut data_options = Vec::new();
    for option in &declared {
        let option_name = option["name"].as_str().unwrap_or("");
        let given = options.iter().find(|(given, _)| given == option_name);
        let Some((_, text)) = given else {
            if option["required"].as_bool() == Some(true) {
                return Err(format!("/{name} needs the option {option_name:?}"));
            }
            continue;
        };
        let kind = option["type"].as_u64().unwrap_or(option::STRING);
        let value = typed_value(world, guild, kind, text, &mut resolved)
            .map_err(|why| format!("option {option_name:?}: {why}"))?;
        if let Some(choices) = option["choices"].as_array().filter(|c| !c.is_empty()) {
            if !choices.iter().any(|choice| choice["value"] == value) {
                let allowed: Vec<String> = choices.iter().map(|c| c["value"].to_string()).collect();
                return Err(format!(
                    "option {option_name:?} must be one of {}",
                    allowed.join(", ")
                ));
            }
        }
        data_options.push(json!({ "name": option_name, "type": kind, "value": value }));
    }
    let mut data = json!({
        "id": command["id"],
        "name": name,
        "type": 1,
        "guild_id": guild_id.to_string(),
        "options": data_options,
    });
    if !resolved.is_empty() {
        data["resolved"] = resolved.into_value();
    }
    let label = format!("/{name}");
    let (mut payload, id) = begin(world, APPLICATION_COMMAND, channel_id, user_id, label)?;
    payload["data"] = data;
    Ok((payload, id))
}

/// What a command's user, channel and role options resolve to.
#[derive(Default)]
struct Resolved {
    users: Map<String, Value>,
    members: Map<String, Value>,
    channels: Map<String, Value>,
    roles: Map<String, Value>,
}

impl Resolved {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.channels.is_empty() && self.roles.is_empty()
    }

    fn into_value(self) -> Value {
        let mut value = json!({});
        for (key, map) in [
            ("users", self.users),
            ("members", self.members),
            ("channels", self.channels),
            ("roles", self.roles),
        ] {
            if !map.is_empty() {
                value[key] = Value::Object(map);
            }
        }
        value
    }
}

/// An option's text as Discord's client would send it for an option of type `kind`.
fn typed_value(
    world: &World,
    guild: &GuildState,
    kind: u64,
    text: &str,
    resolved: &mut Resolved,
) -> Result<Value, String> {
    let text = text.trim();
    let id_in = |text: &str| -> Option<u64> {
        text.trim_start_matches(['<', '@', '#', '&', '!'])
            .trim_end_matches('>')
            .parse()
            .ok()
    };
    match kind {
        option::STRING => Ok(json!(text)),
        option::INTEGER => text
            .parse::<i64>()
            .map(|n| json!(n))
            .map_err(|_| format!("{text:?} is not a whole number")),
        option::NUMBER => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| json!(n))
            .ok_or_else(|| format!("{text:?} is not a number")),
        option::BOOLEAN => match text.to_lowercase().as_str() {
            "true" | "yes" => Ok(json!(true)),
            "false" | "no" => Ok(json!(false)),
            _ => Err(format!("{text:?} is not true or false")),
        },
        option::USER | option::MENTIONABLE => {
            let wanted = text.trim_start_matches('@');
            let member = guild
                .guild
                .members
                .iter()
                .find(|m| {
                    Some(m.user.id) == id_in(text) || m.user.username.eq_ignore_ascii_case(wanted)
                })
                .ok_or_else(|| format!("no member {text:?} in {}", guild.guild.name))?;
            let id = member.user.id.to_string();
            let mut partial = shapes::member(member, &world.joined_at);
            if let Some(partial) = partial.as_object_mut() {
                partial.remove("user");
            }
            partial["permissions"] = json!(member_permissions(guild, member.user.id));
            resolved
                .users
                .insert(id.clone(), shapes::user(&member.user));
            resolved.members.insert(id.clone(), partial);
            Ok(json!(id))
        }
        option::CHANNEL => {
            let wanted = text.trim_start_matches('#');
            let channel = guild
                .guild
                .channels
                .iter()
                .find(|c| Some(c.id) == id_in(text) || c.name == wanted)
                .ok_or_else(|| format!("no channel {text:?} in {}", guild.guild.name))?;
            let id = channel.id.to_string();
            resolved.channels.insert(
                id.clone(),
                json!({
                    "id": id,
                    "name": channel.name,
                    "type": channel.kind.discord_type(),
                    "permissions": shapes::EVERYONE_PERMISSIONS,
                }),
            );
            Ok(json!(id))
        }
        option::ROLE => {
            let wanted = text.trim_start_matches('@');
            let role = guild
                .guild
                .roles
                .iter()
                .find(|r| Some(r.id) == id_in(text) || r.name.eq_ignore_ascii_case(wanted))
                .ok_or_else(|| format!("no role {text:?} in {}", guild.guild.name))?;
            let id = role.id.to_string();
            resolved.roles.insert(id.clone(), shapes::role(role));
            Ok(json!(id))
        }
        other => Err(format!("options of type {other} cannot be typed here")),
    }
}

/// A member clicks a button of a message: `button` is its custom_id or its label. The
/// INTERACTION_CREATE payload and the interaction's id, or why the click cannot happen.
pub(crate) fn click(
    world: &mut World,
    channel_id: u64,
    message_id: u64,
    user_id: u64,
    button: &str,
) -> Result<(Value, u64), String> {
    let message = world
        .message(channel_id, message_id)
        .map(|message| message.object.clone())
        .ok_or_else(|| format!("no message {message_id} in that channel"))?;
    let buttons = components::clickable_buttons(&message);
    let (custom_id, label) = buttons
        .iter()
        .find(|(custom_id, _)| custom_id == button)
        .or_else(|| {
            buttons
                .iter()
                .find(|(_, label)| label.eq_ignore_ascii_case(button))
        })
        .cloned()
        .ok_or_else(|| {
            let labels: Vec<String> = buttons.iter().map(|(_, label)| quote(label)).collect();
            if labels.is_empty() {
                format!("message {message_id} has no button to click")
            } else {
                format!(
                    "message {message_id} has no button {button:?}; its buttons: {}",
                    labels.join(", ")
                )
            }
        })?;
    let label = format!("button {}", quote(&label));
    let (mut payload, id) = begin(world, MESSAGE_COMPONENT, channel_id, user_id, label)?;
    payload["data"] = json!({ "custom_id": custom_id, "component_type": 2 });
    payload["message"] = message;
    if let Some(stored) = world.interactions.last_mut() {
        stored.clicked_message = Some(message_id);
    }
    Ok((payload, id))
}

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
    let is_click = stored.clicked_message.is_some();
    let user = world.user(user_id).map(shapes::user).unwrap_or(Value::Null);
    let place = match world.channel(channel_id) {
        Some(ChannelRef::Guild(_, channel)) => format!("#{}", channel.name),
        _ => "a channel".to_owned(),
    };
    let metadata = json!({
        "id": id.to_string(),
        "type": if is_click { MESSAGE_COMPONENT } else { APPLICATION_COMMAND },
        "user": user,
        "authorizing_integration_owners": { "0": guild_id.to_string() },
    });
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
