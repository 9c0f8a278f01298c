//! What each Discord REST route does to the stand-in's world, and what it answers.

use serde_json::{json, Value};

use crate::channels::{self, ThreadStart};
use crate::commands;
use crate::describe::{announce, quote};
use crate::errors::DiscordError;
use crate::guild_admin;
use crate::interactions;
use crate::message_actions;
use crate::messages;
use crate::shapes;
use crate::state::{intent, ChannelRef, DmChannel, GuildState, Shared, World};
use crate::wire::{Answer, Request};

pub(crate) fn route(
    shared: &Shared,
    world: &mut World,
    request: &Request<'_>,
    segments: &[&str],
) -> Result<Answer, DiscordError> {
    match (request.method, segments) {
        ("GET", ["gateway"]) => Ok(Answer::json(json!({ "url": shared.gateway_url }))),
        ("GET", ["gateway", "bot"]) => Ok(Answer::json(shapes::bot_gateway(
            &shared.gateway_url,
            world.gateway_sessions_started,
        ))),
        ("GET", ["users", "@me"]) => Ok(Answer::json(shapes::current_user(&world.bot))),
        ("GET", ["users", user_id]) => {
            let user_id = snowflake(user_id, "user_id")?;
            let user = world.user(user_id).ok_or_else(DiscordError::unknown_user)?;
            Ok(Answer::json(shapes::user(user)))
        }
        ("POST", ["users", "@me", "channels"]) => open_dm(world, request),
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            let owner = world
                .guilds
                .first()
                .and_then(|guild| world.user(guild.guild.owner_id));
            Ok(Answer::json(shapes::application(
                &world.bot,
                owner,
                world.application_flags(),
            )))
        }
        ("GET", ["channels", channel_id]) => {
            let channel_id = snowflake(channel_id, "channel_id")?;
            get_channel(world, channel_id)
        }
        (method, ["applications", app, "guilds", guild_id, "commands"]) => {
            let app = snowflake(app, "application_id")?;
            let guild_id = snowflake(guild_id, "guild_id")?;
            match method {
                "GET" => commands::list(world, app, guild_id),
                "PUT" => commands::overwrite(world, app, guild_id, &request.json()),
                "POST" => commands::upsert(world, app, guild_id, &request.json()),
                _ => Err(DiscordError::not_found()),
            }
        }
        ("DELETE", ["applications", app, "guilds", guild_id, "commands", command_id]) => {
            commands::delete(
                world,
                snowflake(app, "application_id")?,
                snowflake(guild_id, "guild_id")?,
                snowflake(command_id, "command_id")?,
            )
        }
        ("GET", ["applications", app, "commands"]) => {
            // hookbot registers guild commands only; the global list is empty.
            if snowflake(app, "application_id")? == world.bot.id {
                Ok(Answer::json(json!([])))
            } else {
                Err(DiscordError::unknown_application())
            }
        }
        ("POST", ["interactions", interaction_id, token, "callback"]) => {
            interactions::callback(shared, world, interaction_id, token, &request.json())
        }
        ("POST", ["webhooks", app, token]) => {
            interactions::follow_up(shared, world, app, token, &request.json())
        }
        (method @ ("GET" | "PATCH" | "DELETE"), ["webhooks", app, token, "messages", which]) => {
            interactions::answer_message_route(
                shared,
                world,
                method,
                app,
                token,
                which,
                &request.json(),
            )
        }
        ("POST", ["channels", channel_id, "messages"]) => {
            let channel_id = snowflake(channel_id, "channel_id")?;
            let sent = messages::create(world, channel_id, &request.json())?;
            announce(&sent.description);
            if let Some((event, intent)) = sent.event {
                shared.dispatch("MESSAGE_CREATE", event, intent);
            }
            Ok(Answer::json(sent.object))
        }
        ("GET", ["channels", channel_id, "messages"]) => {
            let channel_id = snowflake(channel_id, "channel_id")?;
            list_messages(world, request, channel_id)
        }
        ("GET", ["channels", channel_id, "pins"]) => {
            message_actions::list_pins(world, snowflake(channel_id, "channel_id")?, false)
        }
        ("GET", ["channels", channel_id, "messages", "pins"]) => {
            message_actions::list_pins(world, snowflake(channel_id, "channel_id")?, true)
        }
        (
            method @ ("PUT" | "DELETE"),
            ["channels", channel_id, "pins", message_id]
            | ["channels", channel_id, "messages", "pins", message_id],
        ) => message_actions::pin(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            snowflake(message_id, "message_id")?,
            method == "PUT",
            request.audit_log_reason().as_deref(),
        ),
        ("PATCH", ["channels", channel_id, "messages", message_id]) => message_actions::edit(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            snowflake(message_id, "message_id")?,
            &request.json(),
        ),
        ("DELETE", ["channels", channel_id, "messages", message_id]) => message_actions::delete(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            snowflake(message_id, "message_id")?,
            request.audit_log_reason().as_deref(),
        ),
        (
            method @ ("PUT" | "DELETE"),
            ["channels", channel_id, "messages", message_id, "reactions", emoji, "@me"],
        ) => message_actions::react(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            snowflake(message_id, "message_id")?,
            emoji,
            method == "PUT",
        ),
        ("POST", ["channels", channel_id, "messages", message_id, "crosspost"]) => {
            message_actions::crosspost(
                shared,
                world,
                snowflake(channel_id, "channel_id")?,
                snowflake(message_id, "message_id")?,
            )
        }
        ("POST", ["channels", channel_id, "messages", message_id, "threads"]) => {
            let start = ThreadStart {
                channel_id: snowflake(channel_id, "channel_id")?,
                message_id: Some(snowflake(message_id, "message_id")?),
            };
            let reason = request.audit_log_reason();
            channels::create_thread(shared, world, &start, &request.json(), reason.as_deref())
        }
        ("POST", ["channels", channel_id, "threads"]) => {
            let start = ThreadStart {
                channel_id: snowflake(channel_id, "channel_id")?,
                message_id: None,
            };
            let reason = request.audit_log_reason();
            channels::create_thread(shared, world, &start, &request.json(), reason.as_deref())
        }
        ("PATCH", ["channels", channel_id]) => channels::edit_channel(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("DELETE", ["channels", channel_id]) => channels::delete_channel(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            request.audit_log_reason().as_deref(),
        ),
        ("POST", ["channels", channel_id, "invites"]) => channels::create_invite(
            shared,
            world,
            snowflake(channel_id, "channel_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("GET", ["channels", channel_id, "invites"]) => {
            channels::list_invites(world, snowflake(channel_id, "channel_id")?)
        }
        ("POST", ["guilds", guild_id, "channels"]) => channels::create_channel(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("POST", ["guilds", guild_id, "roles"]) => guild_admin::create_role(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("PATCH", ["guilds", guild_id, "roles", role_id]) => guild_admin::edit_role(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            snowflake(role_id, "role_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("DELETE", ["guilds", guild_id, "roles", role_id]) => guild_admin::delete_role(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            snowflake(role_id, "role_id")?,
            request.audit_log_reason().as_deref(),
        ),
        ("PATCH", ["guilds", guild_id, "members", "@me"]) => {
            // Only the nickname can be changed this way here.
            let mut body = request.json();
            if let Some(fields) = body.as_object_mut() {
                fields.retain(|key, _| key == "nick");
            }
            let user_id = world.bot.id;
            guild_admin::edit_member(
                shared,
                world,
                snowflake(guild_id, "guild_id")?,
                user_id,
                &body,
                request.audit_log_reason().as_deref(),
            )
        }
        ("PATCH", ["guilds", guild_id, "members", user_id]) => guild_admin::edit_member(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            snowflake(user_id, "user_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("DELETE", ["guilds", guild_id, "members", user_id]) => guild_admin::kick(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            snowflake(user_id, "user_id")?,
            request.audit_log_reason().as_deref(),
        ),
        ("PUT", ["guilds", guild_id, "bans", user_id]) => guild_admin::ban(
            shared,
            world,
            request.query_param("delete_message_seconds"),
            snowflake(guild_id, "guild_id")?,
            snowflake(user_id, "user_id")?,
            &request.json(),
            request.audit_log_reason().as_deref(),
        ),
        ("DELETE", ["guilds", guild_id, "bans", user_id]) => guild_admin::unban(
            shared,
            world,
            snowflake(guild_id, "guild_id")?,
            snowflake(user_id, "user_id")?,
            request.audit_log_reason().as_deref(),
        ),
        ("GET", ["guilds", guild_id, "bans", user_id]) => guild_admin::get_bans(
            world,
            snowflake(guild_id, "guild_id")?,
            Some(snowflake(user_id, "user_id")?),
        ),
        ("GET", ["guilds", guild_id, "bans"]) => {
            guild_admin::get_bans(world, snowflake(guild_id, "guild_id")?, None)
        }
        ("GET", ["channels", channel_id, "messages", message_id]) => {
            let channel_id = snowflake(channel_id, "channel_id")?;
            let message_id = snowflake(message_id, "message_id")?.to_string();
            world
                .channel(channel_id)
                .ok_or_else(DiscordError::unknown_channel)?;
            world
                .messages
                .iter()
                .find(|m| m.channel_id == channel_id && m.object["id"] == json!(message_id))
                .map(|m| Answer::json(m.object.clone()))
                .ok_or_else(DiscordError::unknown_message)
        }
        ("GET", ["guilds", guild_id]) => {
            let guild = find_guild(world, guild_id)?;
            let mut object = shapes::guild(guild, world.bot.id);
            if request.query_param("with_counts").as_deref() == Some("true") {
                object["approximate_member_count"] = json!(guild.guild.members.len());
                // Nobody is online in the stand-in but the bot.
                object["approximate_presence_count"] = json!(1);
            }
            Ok(Answer::json(object))
        }
        ("GET", ["guilds", guild_id, "channels"]) => {
            let guild = find_guild(world, guild_id)?;
            Ok(Answer::json(json!(shapes::guild_channels(
                guild,
                world.bot.id
            ))))
        }
        ("GET", ["guilds", guild_id, "roles"]) => {
            let guild = find_guild(world, guild_id)?;
            Ok(Answer::json(json!(shapes::guild_roles(
                guild,
                world.bot.id
            ))))
        }
        ("GET", ["guilds", guild_id, "members"]) => list_members(world, request, guild_id),
        ("GET", ["guilds", guild_id, "members", "search"]) => {
            search_members(world, request, guild_id)
        }
        ("GET", ["guilds", guild_id, "members", user_id]) => {
            let guild = find_guild(world, guild_id)?;
            let member = guild
                .member(snowflake(user_id, "user_id")?)
                .ok_or_else(DiscordError::unknown_member)?;
            Ok(Answer::json(shapes::member(member, &world.joined_at)))
        }
        (
            method @ ("PUT" | "DELETE"),
            ["guilds", guild_id, "members", user_id, "roles", role_id],
        ) => {
            let change = RoleChange {
                guild_id: snowflake(guild_id, "guild_id")?,
                user_id: snowflake(user_id, "user_id")?,
                role_id: snowflake(role_id, "role_id")?,
                add: method == "PUT",
            };
            change_role(shared, world, &change, request.audit_log_reason())
        }
        _ => Err(DiscordError::not_found()),
    }
}

/// A path id, or Discord's 50035 for a value that is not a snowflake.
pub(crate) fn snowflake(segment: &str, field: &str) -> Result<u64, DiscordError> {
    segment
        .parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .ok_or_else(|| {
            DiscordError::invalid_form_body(
                &[field],
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{segment}\" is not snowflake."),
            )
        })
}

pub(crate) fn find_guild<'a>(
    world: &'a World,
    guild_id: &str,
) -> Result<&'a GuildState, DiscordError> {
    let guild_id = snowflake(guild_id, "guild_id")?;
    world
        .guild(guild_id)
        .ok_or_else(DiscordError::unknown_guild)
}

/// A numeric query parameter within Discord's bounds, with its default.
fn bounded_param(
    request: &Request<'_>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, DiscordError> {
    let Some(raw) = request.query_param(name) else {
        return Ok(default);
    };
    let value: u64 = raw.parse().map_err(|_| {
        DiscordError::invalid_form_body(
            &[name],
            "NUMBER_TYPE_COERCE",
            &format!("Value \"{raw}\" is not int."),
        )
    })?;
    if value == 0 || value > max {
        let (code, message) = if value == 0 {
            (
                "NUMBER_TYPE_MIN",
                "int value should be greater than or equal to 1.".to_owned(),
            )
        } else {
            (
                "NUMBER_TYPE_MAX",
                format!("int value should be less than or equal to {max}."),
            )
        };
        return Err(DiscordError::invalid_form_body(&[name], code, &message));
    }
    Ok(value)
}

fn get_channel(world: &World, channel_id: u64) -> Result<Answer, DiscordError> {
    match world.channel(channel_id) {
        Some(ChannelRef::Guild(guild, channel)) => Ok(Answer::json(shapes::channel_in(
            guild,
            channel,
            world.bot.id,
        ))),
        Some(ChannelRef::Dm(dm)) => {
            let recipient = world
                .user(dm.recipient_id)
                .ok_or_else(DiscordError::unknown_channel)?;
            Ok(Answer::json(shapes::dm_channel(dm, recipient)))
        }
        None => Err(DiscordError::unknown_channel()),
    }
}

/// `POST /users/@me/channels`: Discord keeps one DM channel per user and hands it back again.
fn open_dm(world: &mut World, request: &Request<'_>) -> Result<Answer, DiscordError> {
    let body = request.json();
    let recipient = &body["recipient_id"];
    let recipient_id = recipient
        .as_str()
        .map(str::to_owned)
        .or_else(|| recipient.as_u64().map(|id| id.to_string()))
        .ok_or_else(|| {
            DiscordError::invalid_form_body(
                &["recipient_id"],
                "BASE_TYPE_REQUIRED",
                "This field is required",
            )
        })?;
    let recipient_id = snowflake(&recipient_id, "recipient_id")?;
    let recipient = world
        .user(recipient_id)
        .cloned()
        .ok_or_else(DiscordError::unknown_user)?;
    let channel = match world.dm_channel_with(recipient_id) {
        Some(channel) => channel.clone(),
        None => {
            let channel = DmChannel {
                id: world.snowflakes.next(),
                recipient_id,
            };
            world.dm_channels.push(channel.clone());
            announce(&format!("opened a DM channel with @{}", recipient.username));
            channel
        }
    };
    Ok(Answer::json(shapes::dm_channel(&channel, &recipient)))
}

/// `GET /channels/{id}/messages`: newest first, `limit` 1-100 (default 50), `before`/`after`.
fn list_messages(
    world: &World,
    request: &Request<'_>,
    channel_id: u64,
) -> Result<Answer, DiscordError> {
    world
        .channel(channel_id)
        .ok_or_else(DiscordError::unknown_channel)?;
    let limit = bounded_param(request, "limit", 50, 100)? as usize;
    let before = request
        .query_param("before")
        .and_then(|id| id.parse::<u64>().ok());
    let after = request
        .query_param("after")
        .and_then(|id| id.parse::<u64>().ok());
    let listed: Vec<Value> = world
        .messages
        .iter()
        .rev()
        .filter(|message| message.channel_id == channel_id)
        .filter(|message| {
            let id = message.object["id"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok());
            before.map_or(true, |before| id < Some(before))
                && after.map_or(true, |after| id > Some(after))
        })
        .take(limit)
        .map(|message| message.object.clone())
        .collect();
    Ok(Answer::json(json!(listed)))
}

/// `GET /guilds/{id}/members`: by ascending user id after `after`, `limit` 1-1000 (default 1).
fn list_members(
    world: &World,
    request: &Request<'_>,
    guild_id: &str,
) -> Result<Answer, DiscordError> {
    let guild = find_guild(world, guild_id)?;
    let limit = bounded_param(request, "limit", 1, 1000)? as usize;
    let after = request
        .query_param("after")
        .and_then(|id| id.parse::<u64>().ok())
        .unwrap_or(0);
    let mut members: Vec<_> = guild
        .guild
        .members
        .iter()
        .filter(|member| member.user.id > after)
        .collect();
    members.sort_by_key(|member| member.user.id);
    let listed: Vec<Value> = members
        .into_iter()
        .take(limit)
        .map(|member| shapes::member(member, &world.joined_at))
        .collect();
    Ok(Answer::json(json!(listed)))
}

/// `GET /guilds/{id}/members/search`: `query` (required) is a case-insensitive prefix of the
/// username, global name or nickname; `limit` 1-1000, default 1.
fn search_members(
    world: &World,
    request: &Request<'_>,
    guild_id: &str,
) -> Result<Answer, DiscordError> {
    let guild = find_guild(world, guild_id)?;
    let query = request.query_param("query").ok_or_else(|| {
        DiscordError::invalid_form_body(&["query"], "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    let limit = bounded_param(request, "limit", 1, 1000)? as usize;
    let prefix = query.to_lowercase();
    let found: Vec<Value> = guild
        .guild
        .members
        .iter()
        .filter(|member| {
            [
                Some(&member.user.username),
                member.user.global_name.as_ref(),
                member.nick.as_ref(),
            ]
            .into_iter()
            .flatten()
            .any(|name| name.to_lowercase().starts_with(&prefix))
        })
        .take(limit)
        .map(|member| shapes::member(member, &world.joined_at))
        .collect();
    Ok(Answer::json(json!(found)))
}

struct RoleChange {
    guild_id: u64,
    user_id: u64,
    role_id: u64,
    add: bool,
}

/// `PUT`/`DELETE /guilds/{g}/members/{u}/roles/{r}`: 204 whether or not the member already
/// had (or lacked) the role, as Discord does.
fn change_role(
    shared: &Shared,
    world: &mut World,
    change: &RoleChange,
    reason: Option<String>,
) -> Result<Answer, DiscordError> {
    let joined_at = world.joined_at.clone();
    let guild = world
        .guild_mut(change.guild_id)
        .ok_or_else(DiscordError::unknown_guild)?;
    guild
        .member(change.user_id)
        .ok_or_else(DiscordError::unknown_member)?;
    let role = guild
        .role(change.role_id)
        .cloned()
        .ok_or_else(DiscordError::unknown_role)?;
    if !role.bot_can_manage || !guild.guild.bot_can_manage_roles {
        return Err(DiscordError::missing_permissions());
    }
    let member = guild
        .member_mut(change.user_id)
        .expect("the member was found above");
    let held = member.roles.contains(&change.role_id);
    if change.add && !held {
        member.roles.push(change.role_id);
    } else if !change.add && held {
        member.roles.retain(|role_id| *role_id != change.role_id);
    }
    let username = member.user.username.clone();
    let update = shapes::guild_member_update(member, change.guild_id, &joined_at);
    if change.add != held {
        shared.dispatch("GUILD_MEMBER_UPDATE", update, intent::GUILD_MEMBERS);
    }

    let action = match (change.add, held) {
        (true, false) => format!("added role @{} to @{username}", role.name),
        (true, true) => format!("added role @{} to @{username} (already had it)", role.name),
        (false, true) => format!("removed role @{} from @{username}", role.name),
        (false, false) => format!(
            "removed role @{} from @{username} (did not have it)",
            role.name
        ),
    };
    let reason = reason
        .map(|reason| format!(" (reason: {})", quote(&reason)))
        .unwrap_or_default();
    announce(&format!("{action}{reason}"));
    Ok(Answer::no_content())
}
