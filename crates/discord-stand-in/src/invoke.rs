//! A member starting an interaction, as Discord's client sends it: a registered slash command
//! with options typed and resolved (users, channels, roles), or a click on a button of a
//! message; each recorded with its token and the moment it began.

use serde_json::{json, Map, Value};

use crate::components;
use crate::describe::quote;
use crate::shapes;
use crate::state::{ChannelRef, GuildState, StoredInteraction, World};

/// Interaction types (Discord's numbers).
pub(crate) const APPLICATION_COMMAND: u64 = 2;
pub(crate) const MESSAGE_COMPONENT: u64 = 3;
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
