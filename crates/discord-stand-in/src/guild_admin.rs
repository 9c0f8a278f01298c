//! Guild administration: creating, editing and deleting roles; renaming, timing out, kicking
//! and banning members.

use serde_json::{json, Map, Value};

use crate::describe::{announce, quote, reason_suffix};
use crate::errors::DiscordError;
use crate::fixture::FixtureRole;
use crate::ids::{rfc3339_from_unix_millis, unix_millis_from_rfc3339, unix_millis_now};
use crate::shapes;
use crate::state::{intent, GuildState, Shared, StoredBan, World};
use crate::wire::Answer;

/// Discord's limits.
const MAX_ROLES: usize = 250;
const MAX_ROLE_NAME_CHARS: usize = 100;
const MAX_COLOR: u64 = 0xFF_FFFF;
const MAX_NICK_CHARS: usize = 32;
const MAX_TIMEOUT_MS: i64 = 28 * 24 * 60 * 60 * 1000;
const MAX_DELETE_MESSAGE_SECONDS: u64 = 7 * 24 * 60 * 60;

fn fields(body: &Value) -> Map<String, Value> {
    body.as_object().cloned().unwrap_or_default()
}

fn guild_mut(world: &mut World, guild_id: u64) -> Result<&mut GuildState, DiscordError> {
    world
        .guild_mut(guild_id)
        .ok_or_else(DiscordError::unknown_guild)
}

fn form_error(field: &str, code: &str, message: &str) -> DiscordError {
    DiscordError::invalid_form_body(&[field], code, message)
}

/// A string field of `min..=max` characters; `Ok(None)` when absent or null.
fn text_field(
    fields: &Map<String, Value>,
    name: &str,
    min: usize,
    max: usize,
) -> Result<Option<String>, DiscordError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let length = text.chars().count();
            if length < min || length > max {
                let message = if min == 0 {
                    format!("Must be {max} or fewer in length.")
                } else {
                    format!("Must be between {min} and {max} in length.")
                };
                let code = if min == 0 {
                    "BASE_TYPE_MAX_LENGTH"
                } else {
                    "BASE_TYPE_BAD_LENGTH"
                };
                return Err(form_error(name, code, &message));
            }
            Ok(Some(text.clone()))
        }
        Some(_) => Err(form_error(
            name,
            "BASE_TYPE_STRING",
            "Could not interpret value as string.",
        )),
    }
}

/// An integer field within `0..=max`; `Ok(None)` when absent or null.
pub(crate) fn int_field(
    fields: &Map<String, Value>,
    name: &str,
    max: u64,
) -> Result<Option<u64>, DiscordError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            if value.as_i64().is_some_and(|n| n < 0) {
                return Err(form_error(
                    name,
                    "NUMBER_TYPE_MIN",
                    "int value should be greater than or equal to 0.",
                ));
            }
            let number = value.as_u64().ok_or_else(|| {
                form_error(
                    name,
                    "NUMBER_TYPE_COERCE",
                    &format!("Value \"{}\" is not int.", value.as_str().unwrap_or("?")),
                )
            })?;
            if number > max {
                return Err(form_error(
                    name,
                    "NUMBER_TYPE_MAX",
                    &format!("int value should be less than or equal to {max}."),
                ));
            }
            Ok(Some(number))
        }
    }
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

/// The role fields of a create or edit body, checked.
struct RoleFields {
    name: Option<String>,
    color: Option<u32>,
    hoist: Option<bool>,
    mentionable: Option<bool>,
    permissions: Option<u64>,
}

impl RoleFields {
    fn parse(body: &Value, bot_permissions: u64) -> Result<RoleFields, DiscordError> {
        let fields = fields(body);
        let name = text_field(&fields, "name", 1, MAX_ROLE_NAME_CHARS)?;
        let color = int_field(&fields, "color", MAX_COLOR)?.map(|color| color as u32);
        let permissions = match fields.get("permissions") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let bits = value
                    .as_str()
                    .and_then(|bits| bits.parse::<u64>().ok())
                    .or_else(|| value.as_u64())
                    .ok_or_else(|| {
                        form_error(
                            "permissions",
                            "NUMBER_TYPE_COERCE",
                            &format!("Value \"{}\" is not int.", value.as_str().unwrap_or("?")),
                        )
                    })?;
                // A bot can only hand out permissions it holds itself.
                if bits & !bot_permissions != 0 {
                    return Err(DiscordError::missing_permissions());
                }
                Some(bits)
            }
        };
        Ok(RoleFields {
            name,
            color,
            hoist: bool_field(&fields, "hoist")?,
            mentionable: bool_field(&fields, "mentionable")?,
            permissions,
        })
    }

    /// Applies the fields; the plain words for what changed.
    fn apply(self, role: &mut FixtureRole) -> Vec<String> {
        let mut changes = Vec::new();
        if let Some(name) = self.name.filter(|name| *name != role.name) {
            changes.push(format!("name {}", quote(&name)));
            role.name = name;
        }
        if let Some(color) = self.color.filter(|color| *color != role.color) {
            changes.push(format!("color #{color:06x}"));
            role.color = color;
        }
        if let Some(hoist) = self.hoist.filter(|hoist| *hoist != role.hoist) {
            changes.push(
                if hoist {
                    "shown apart"
                } else {
                    "not shown apart"
                }
                .to_owned(),
            );
            role.hoist = hoist;
        }
        if let Some(mentionable) = self.mentionable.filter(|m| *m != role.mentionable) {
            changes.push(
                if mentionable {
                    "mentionable"
                } else {
                    "not mentionable"
                }
                .to_owned(),
            );
            role.mentionable = mentionable;
        }
        if let Some(bits) = self.permissions.map(|bits| bits.to_string()) {
            if bits != role.permissions {
                changes.push(format!("permissions {bits}"));
                role.permissions = bits;
            }
        }
        changes
    }
}

/// `POST /guilds/{g}/roles`: the new role goes just above @everyone, as on Discord.
pub(crate) fn create_role(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let id = world.snowflakes.next();
    let guild = guild_mut(world, guild_id)?;
    if !guild.guild.bot_can_manage_roles {
        return Err(DiscordError::missing_permissions());
    }
    if guild.guild.roles.len() >= MAX_ROLES {
        return Err(DiscordError::max_roles());
    }
    let fields = RoleFields::parse(body, guild.bot_permissions())?;
    let mut role = FixtureRole::new(id, "new role");
    let mut changes = fields.apply(&mut role);
    // The name is in the line already.
    changes.retain(|change| !change.starts_with("name "));
    for other in &mut guild.guild.roles {
        other.position += 1;
    }
    guild.bot_role.position += 1;
    guild.guild.roles.push(role.clone());
    let object = shapes::role(&role);
    let data = json!({ "guild_id": guild_id.to_string(), "role": object });
    shared.dispatch("GUILD_ROLE_CREATE", data, intent::GUILDS);
    let details = if changes.is_empty() {
        String::new()
    } else {
        format!(" ({})", changes.join(", "))
    };
    announce(&format!(
        "created role @{} in {}{details}{}",
        role.name,
        guild.guild.name,
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

/// The role, if the bot may manage it: 10011 if unknown, 50013 if above the bot or managed.
fn manageable_role(guild: &GuildState, role_id: u64) -> Result<&FixtureRole, DiscordError> {
    if role_id == guild.guild.id {
        // @everyone exists but cannot be deleted, and the stand-in does not edit it.
        return Err(DiscordError::missing_permissions());
    }
    let role = guild.role(role_id).ok_or_else(DiscordError::unknown_role)?;
    if !role.bot_can_manage || !guild.guild.bot_can_manage_roles {
        return Err(DiscordError::missing_permissions());
    }
    Ok(role)
}

/// `PATCH /guilds/{g}/roles/{r}`.
pub(crate) fn edit_role(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    role_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let guild = guild_mut(world, guild_id)?;
    let old_name = manageable_role(guild, role_id)?.name.clone();
    let fields = RoleFields::parse(body, guild.bot_permissions())?;
    let role = guild.role_mut(role_id).expect("checked above");
    let changes = fields.apply(role);
    let object = shapes::role(role);
    let data = json!({ "guild_id": guild_id.to_string(), "role": object });
    shared.dispatch("GUILD_ROLE_UPDATE", data, intent::GUILDS);
    let details = if changes.is_empty() {
        "nothing changed".to_owned()
    } else {
        changes.join(", ")
    };
    announce(&format!(
        "edited role @{old_name} in {}: {details}{}",
        guild.guild.name,
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

/// `DELETE /guilds/{g}/roles/{r}`: the role also leaves every member who had it.
pub(crate) fn delete_role(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    role_id: u64,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let guild = guild_mut(world, guild_id)?;
    let name = manageable_role(guild, role_id)?.name.clone();
    guild.guild.roles.retain(|role| role.id != role_id);
    let mut holders = 0;
    for member in &mut guild.guild.members {
        let before = member.roles.len();
        member.roles.retain(|id| *id != role_id);
        holders += before - member.roles.len();
    }
    let data = json!({ "guild_id": guild_id.to_string(), "role_id": role_id.to_string() });
    shared.dispatch("GUILD_ROLE_DELETE", data, intent::GUILDS);
    let held = match holders {
        0 => String::new(),
        1 => " (1 member had it)".to_owned(),
        n => format!(" ({n} members had it)"),
    };
    announce(&format!(
        "deleted role @{name} from {}{held}{}",
        guild.guild.name,
        reason_suffix(reason)
    ));
    Ok(Answer::no_content())
}

/// 50013 unless the bot may moderate `user_id` in `guild`: never the owner or itself, never a
/// protected member, and only with the guild's moderation permissions.
fn check_moderatable(guild: &GuildState, user_id: u64, bot_id: u64) -> Result<(), DiscordError> {
    let protected = guild
        .member(user_id)
        .is_some_and(|member| !member.bot_can_moderate);
    if user_id == guild.guild.owner_id || user_id == bot_id || protected {
        return Err(DiscordError::missing_permissions());
    }
    if !guild.guild.bot_can_moderate {
        return Err(DiscordError::missing_permissions());
    }
    Ok(())
}

/// `PATCH /guilds/{g}/members/{u}` (`me` false) and `PATCH /guilds/{g}/members/@me` (`me`
/// true, only `nick`): nickname, timeout and roles.
pub(crate) fn edit_member(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    user_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let bot_id = world.bot.id;
    let joined_at = world.joined_at.clone();
    let fields = fields(body);
    let guild = guild_mut(world, guild_id)?;
    let member = guild
        .member(user_id)
        .ok_or_else(DiscordError::unknown_member)?;
    let is_bot = user_id == bot_id;

    let nick = if fields.contains_key("nick") {
        Some(text_field(&fields, "nick", 0, MAX_NICK_CHARS)?.filter(|nick| !nick.is_empty()))
    } else {
        None
    };
    let timeout = match fields.get("communication_disabled_until") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value) => {
            let invalid = || {
                form_error(
                    "communication_disabled_until",
                    "INVALID_COMMUNICATION_DISABLED_TIMESTAMP",
                    "Invalid communication disabled timestamp",
                )
            };
            let until = value
                .as_str()
                .and_then(unix_millis_from_rfc3339)
                .ok_or_else(invalid)?;
            if until > unix_millis_now() + MAX_TIMEOUT_MS {
                return Err(invalid());
            }
            Some(Some(rfc3339_from_unix_millis(until.max(0) as u64)))
        }
    };
    let roles = match fields.get("roles") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => {
            let mut wanted = Vec::new();
            for id in ids {
                let id = id
                    .as_str()
                    .and_then(|id| id.parse::<u64>().ok())
                    .or_else(|| id.as_u64())
                    .ok_or_else(|| {
                        form_error("roles", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                    })?;
                guild.role(id).ok_or_else(DiscordError::unknown_role)?;
                if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            Some(wanted)
        }
        Some(_) => return Err(form_error("roles", "BASE_TYPE_ARRAY", "Must be an array.")),
    };

    // Renaming others and timeouts need moderation rights over the member.
    let renames_other = nick.is_some() && !is_bot;
    if renames_other || timeout.is_some() {
        check_moderatable(guild, user_id, bot_id)?;
    }
    if let Some(wanted) = &roles {
        let changed = wanted
            .iter()
            .filter(|id| !member.roles.contains(id))
            .chain(member.roles.iter().filter(|id| !wanted.contains(id)));
        for role_id in changed {
            manageable_role(guild, *role_id)?;
        }
    }

    let guild_name = guild.guild.name.clone();
    let member = guild.member_mut(user_id).expect("found above");
    let username = member.user.username.clone();
    let mut changes = Vec::new();
    if let Some(nick) = nick {
        changes.push(match &nick {
            Some(nick) => format!("nickname {}", quote(nick)),
            None => "nickname cleared".to_owned(),
        });
        member.nick = nick;
    }
    if let Some(timeout) = timeout {
        changes.push(match &timeout {
            Some(until) => format!("timed out until {until}"),
            None => "timeout removed".to_owned(),
        });
        member.communication_disabled_until = timeout;
    }
    if let Some(wanted) = roles {
        if wanted != member.roles {
            changes.push(format!("{} role(s)", wanted.len()));
            member.roles = wanted;
        }
    }
    let object = shapes::member(member, &joined_at);
    let update = shapes::guild_member_update(member, guild_id, &joined_at);
    shared.dispatch("GUILD_MEMBER_UPDATE", update, intent::GUILD_MEMBERS);
    let details = if changes.is_empty() {
        "nothing changed".to_owned()
    } else {
        changes.join(", ")
    };
    announce(&format!(
        "edited @{username} in {guild_name}: {details}{}",
        reason_suffix(reason)
    ));
    Ok(Answer::json(object))
}

/// Takes a member out of a guild (kick or ban), remembering the user and telling the gateway.
fn remove_member(shared: &Shared, world: &mut World, guild_id: u64, user_id: u64) {
    let Some(guild) = world.guild_mut(guild_id) else {
        return;
    };
    let Some(index) = guild
        .guild
        .members
        .iter()
        .position(|m| m.user.id == user_id)
    else {
        return;
    };
    let member = guild.guild.members.remove(index);
    let data = json!({ "guild_id": guild_id.to_string(), "user": shapes::user(&member.user) });
    shared.dispatch("GUILD_MEMBER_REMOVE", data, intent::GUILD_MEMBERS);
    world.remember_user(member.user);
}

/// `DELETE /guilds/{g}/members/{u}`: a kick.
pub(crate) fn kick(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    user_id: u64,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let bot_id = world.bot.id;
    let guild = guild_mut(world, guild_id)?;
    let member = guild
        .member(user_id)
        .ok_or_else(DiscordError::unknown_member)?;
    check_moderatable(guild, user_id, bot_id)?;
    let line = format!(
        "kicked @{} from {}{}",
        member.user.username,
        guild.guild.name,
        reason_suffix(reason)
    );
    remove_member(shared, world, guild_id, user_id);
    announce(&line);
    Ok(Answer::no_content())
}

/// `PUT /guilds/{g}/bans/{u}`: bans a member or any known user, deleting their messages of the
/// last `delete_message_seconds` (body or query; 0..=604800) or `delete_message_days` (0..=7).
pub(crate) fn ban(
    shared: &Shared,
    world: &mut World,
    request_query: Option<String>,
    guild_id: u64,
    user_id: u64,
    body: &Value,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let mut fields = fields(body);
    if let Some(seconds) = request_query {
        // serenity 0.12 sends it in the query; Discord still accepts that.
        let value = seconds
            .parse::<i64>()
            .map_or_else(|_| json!(seconds), |seconds| json!(seconds));
        fields.entry("delete_message_seconds").or_insert(value);
    }
    let seconds = int_field(
        &fields,
        "delete_message_seconds",
        MAX_DELETE_MESSAGE_SECONDS,
    )?;
    let days = int_field(&fields, "delete_message_days", 7)?;
    let seconds = seconds.or(days.map(|days| days * 86_400)).unwrap_or(0);

    let bot_id = world.bot.id;
    world
        .guild(guild_id)
        .ok_or_else(DiscordError::unknown_guild)?;
    let user = world
        .user(user_id)
        .cloned()
        .ok_or_else(DiscordError::unknown_user)?;
    let guild = guild_mut(world, guild_id)?;
    check_moderatable(guild, user_id, bot_id)?;
    let guild_name = guild.guild.name.clone();
    let already = guild.ban(user_id).is_some();
    if !already {
        guild.bans.push(StoredBan {
            user: user.clone(),
            reason: reason.map(str::to_owned),
        });
    }
    let channels: Vec<u64> = guild.guild.channels.iter().map(|c| c.id).collect();
    remove_member(shared, world, guild_id, user_id);
    if !already {
        let data = json!({ "guild_id": guild_id.to_string(), "user": shapes::user(&user) });
        shared.dispatch("GUILD_BAN_ADD", data, intent::GUILD_MODERATION);
    }

    let window = std::time::Duration::from_secs(seconds);
    let doomed: Vec<(u64, u64)> = world
        .messages
        .iter()
        .filter(|m| channels.contains(&m.channel_id) && m.author_id() == user_id)
        .filter(|m| m.created.elapsed() < window)
        .map(|m| (m.channel_id, m.id()))
        .collect();
    for (channel_id, message_id) in &doomed {
        world
            .messages
            .retain(|m| !(m.channel_id == *channel_id && m.id() == *message_id));
        let data = json!({
            "id": message_id.to_string(),
            "channel_id": channel_id.to_string(),
            "guild_id": guild_id.to_string(),
        });
        shared.dispatch("MESSAGE_DELETE", data, intent::GUILD_MESSAGES);
    }
    let deleted = match doomed.len() {
        0 => String::new(),
        1 => ", deleting 1 of their messages".to_owned(),
        n => format!(", deleting {n} of their messages"),
    };
    let note = if already { " (already banned)" } else { "" };
    announce(&format!(
        "banned @{} from {guild_name}{deleted}{note}{}",
        user.username,
        reason_suffix(reason)
    ));
    Ok(Answer::no_content())
}

/// `DELETE /guilds/{g}/bans/{u}`.
pub(crate) fn unban(
    shared: &Shared,
    world: &mut World,
    guild_id: u64,
    user_id: u64,
    reason: Option<&str>,
) -> Result<Answer, DiscordError> {
    let guild = guild_mut(world, guild_id)?;
    if !guild.guild.bot_can_moderate {
        return Err(DiscordError::missing_permissions());
    }
    let index = guild
        .bans
        .iter()
        .position(|ban| ban.user.id == user_id)
        .ok_or_else(DiscordError::unknown_ban)?;
    let ban = guild.bans.remove(index);
    let data = json!({ "guild_id": guild_id.to_string(), "user": shapes::user(&ban.user) });
    shared.dispatch("GUILD_BAN_REMOVE", data, intent::GUILD_MODERATION);
    announce(&format!(
        "unbanned @{} from {}{}",
        ban.user.username,
        guild.guild.name,
        reason_suffix(reason)
    ));
    Ok(Answer::no_content())
}

/// `GET /guilds/{g}/bans/{u}` (`Some`) or `GET /guilds/{g}/bans` (`None`); needs BAN_MEMBERS.
pub(crate) fn get_bans(
    world: &World,
    guild_id: u64,
    user_id: Option<u64>,
) -> Result<Answer, DiscordError> {
    let guild = world
        .guild(guild_id)
        .ok_or_else(DiscordError::unknown_guild)?;
    if !guild.guild.bot_can_moderate {
        return Err(DiscordError::missing_permissions());
    }
    match user_id {
        Some(user_id) => guild
            .ban(user_id)
            .map(|ban| Answer::json(shapes::ban(ban)))
            .ok_or_else(DiscordError::unknown_ban),
        None => Ok(Answer::json(json!(guild
            .bans
            .iter()
            .map(shapes::ban)
            .collect::<Vec<_>>()))),
    }
}
