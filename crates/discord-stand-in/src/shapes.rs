//! The JSON objects Discord sends (users, members, roles, channels, guilds, READY, messages),
//! written field for field so that serenity 0.12.5's model types accept every one of them.

use serde_json::{json, Value};

use crate::fixture::{
    ChannelKind, FixtureChannel, FixtureEmoji, FixtureMember, FixtureRole, FixtureUser,
};
use crate::state::{DmChannel, GuildState, StoredBan};

/// VIEW_CHANNEL | SEND_MESSAGES: enough for serenity's cache to let the bot post locally.
pub(crate) const EVERYONE_PERMISSIONS: &str = "3072";
/// SEND_MESSAGES, denied by a channel overwrite where the fixture says the bot cannot send.
const SEND_MESSAGES: &str = "2048";

pub(crate) fn user(user: &FixtureUser) -> Value {
    let mut object = json!({
        "id": user.id.to_string(),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": null,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "public_flags": 0,
    });
    if user.bot {
        object["bot"] = json!(true);
    }
    object
}

/// `GET /users/@me`: the user plus the account fields only its owner sees.
pub(crate) fn current_user(bot: &FixtureUser) -> Value {
    let mut object = user(bot);
    object["mfa_enabled"] = json!(false);
    object["locale"] = json!("en-US");
    object["verified"] = json!(true);
    object["email"] = json!(null);
    object["flags"] = json!(0);
    object["premium_type"] = json!(0);
    object
}

pub(crate) fn role(role: &FixtureRole) -> Value {
    let mut object = role_object(role.id, &role.name, role.position, &role.permissions, false);
    object["color"] = json!(role.color);
    object["colors"]["primary_color"] = json!(role.color);
    object["hoist"] = json!(role.hoist);
    object["mentionable"] = json!(role.mentionable);
    object
}

/// @everyone: its id is the guild's, it sits at position 0.
pub(crate) fn everyone_role(guild_id: u64) -> Value {
    role_object(guild_id, "@everyone", 0, EVERYONE_PERMISSIONS, false)
}

/// The role Discord makes for a bot when it joins: managed, named after the bot, holding
/// `permissions` (see `GuildState::bot_permissions`).
pub(crate) fn bot_role(role: &FixtureRole, bot_id: u64, permissions: u64) -> Value {
    let mut object = role_object(
        role.id,
        &role.name,
        role.position,
        &permissions.to_string(),
        true,
    );
    object["tags"] = json!({ "bot_id": bot_id.to_string() });
    object
}

fn role_object(id: u64, name: &str, position: u16, permissions: &str, managed: bool) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions,
        "managed": managed,
        "mentionable": false,
        "flags": 0,
    })
}

pub(crate) fn member(member: &FixtureMember, joined_at: &str) -> Value {
    json!({
        "user": user(&member.user),
        "nick": member.nick,
        "avatar": null,
        "banner": null,
        "roles": member.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": joined_at,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": member.communication_disabled_until,
    })
}

/// A guild channel or thread, with its position among the guild's channels.
pub(crate) fn channel_in(guild: &GuildState, channel: &FixtureChannel, bot_id: u64) -> Value {
    let position = guild
        .guild
        .channels
        .iter()
        .filter(|c| !c.kind.is_thread())
        .position(|c| c.id == channel.id)
        .unwrap_or(0);
    guild_channel(channel, guild.guild.id, position, bot_id)
}

pub(crate) fn guild_channel(
    channel: &FixtureChannel,
    guild_id: u64,
    position: usize,
    bot_id: u64,
) -> Value {
    let overwrites = if channel.bot_can_send {
        json!([])
    } else {
        json!([{ "id": bot_id.to_string(), "type": 1, "allow": "0", "deny": SEND_MESSAGES }])
    };
    if let Some(thread) = &channel.thread {
        return json!({
            "id": channel.id.to_string(),
            "type": channel.kind.discord_type(),
            "guild_id": guild_id.to_string(),
            "parent_id": channel.parent_id.map(|id| id.to_string()),
            "owner_id": thread.owner_id.to_string(),
            "name": channel.name,
            "last_message_id": null,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": thread.archived,
                "archive_timestamp": thread.archive_timestamp,
                "auto_archive_duration": thread.auto_archive_duration,
                "locked": thread.locked,
                "create_timestamp": thread.create_timestamp,
                "invitable": thread.invitable,
            },
        });
    }
    let mut object = json!({
        "id": channel.id.to_string(),
        "type": channel.kind.discord_type(),
        "guild_id": guild_id.to_string(),
        "name": channel.name,
        "position": position,
        "permission_overwrites": overwrites,
        "parent_id": channel.parent_id.map(|id| id.to_string()),
        "nsfw": false,
        "flags": 0,
    });
    match channel.kind {
        ChannelKind::Text | ChannelKind::Announcement => {
            object["topic"] = json!(channel.topic);
            object["last_message_id"] = json!(null);
            object["rate_limit_per_user"] = json!(0);
        }
        ChannelKind::Voice => {
            object["last_message_id"] = json!(null);
            object["bitrate"] = json!(64000);
            object["user_limit"] = json!(0);
            object["rtc_region"] = json!(null);
            object["rate_limit_per_user"] = json!(0);
        }
        ChannelKind::Category
        | ChannelKind::AnnouncementThread
        | ChannelKind::PublicThread
        | ChannelKind::PrivateThread => {}
    }
    object
}

pub(crate) fn dm_channel(channel: &DmChannel, recipient: &FixtureUser) -> Value {
    json!({
        "id": channel.id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user(recipient)],
    })
}

pub(crate) fn guild_roles(guild: &GuildState, bot_id: u64) -> Vec<Value> {
    let mut roles = vec![everyone_role(guild.guild.id)];
    roles.extend(guild.guild.roles.iter().map(role));
    roles.push(bot_role(&guild.bot_role, bot_id, guild.bot_permissions()));
    roles
}

/// `GET /guilds/{id}/channels`: every channel but threads, which Discord lists elsewhere.
pub(crate) fn guild_channels(guild: &GuildState, bot_id: u64) -> Vec<Value> {
    guild
        .guild
        .channels
        .iter()
        .filter(|channel| !channel.kind.is_thread())
        .enumerate()
        .map(|(position, channel)| guild_channel(channel, guild.guild.id, position, bot_id))
        .collect()
}

/// The threads that are not archived, as GUILD_CREATE lists them.
pub(crate) fn active_threads(guild: &GuildState, bot_id: u64) -> Vec<Value> {
    guild
        .guild
        .channels
        .iter()
        .filter(|channel| channel.thread.as_ref().is_some_and(|t| !t.archived))
        .map(|channel| guild_channel(channel, guild.guild.id, 0, bot_id))
        .collect()
}

pub(crate) fn emoji(emoji: &FixtureEmoji) -> Value {
    json!({
        "id": emoji.id.to_string(),
        "name": emoji.name,
        "roles": [],
        "require_colons": true,
        "managed": false,
        "animated": emoji.animated,
        "available": true,
    })
}

/// `GET /guilds/{g}/bans/{u}`.
pub(crate) fn ban(ban: &StoredBan) -> Value {
    json!({ "reason": ban.reason, "user": user(&ban.user) })
}

/// The guild as an invite shows it.
pub(crate) fn invite_guild(guild: &GuildState) -> Value {
    json!({
        "id": guild.guild.id.to_string(),
        "name": guild.guild.name,
        "splash": null,
        "banner": null,
        "description": null,
        "icon": guild.guild.icon,
        "features": [],
        "verification_level": 0,
        "vanity_url_code": null,
        "nsfw_level": 0,
        "premium_subscription_count": 0,
    })
}

/// `GET /guilds/{id}`: the guild without the gateway-only fields.
pub(crate) fn guild(guild: &GuildState, bot_id: u64) -> Value {
    json!({
        "id": guild.guild.id.to_string(),
        "name": guild.guild.name,
        "icon": guild.guild.icon,
        "icon_hash": guild.guild.icon,
        "splash": null,
        "discovery_splash": null,
        "owner_id": guild.guild.owner_id.to_string(),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": guild_roles(guild, bot_id),
        "emojis": guild.guild.emojis.iter().map(emoji).collect::<Vec<_>>(),
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500_000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
    })
}

/// GUILD_CREATE: the guild plus its channels, members and the other gateway-only fields.
///
/// Like Discord, it lists every member only to a bot that asked for GUILD_PRESENCES; otherwise
/// just the bot itself (nobody sits in voice here), so a bot that needs other members must fetch
/// them, here as in production.
pub(crate) fn guild_create(
    guild: &GuildState,
    bot_id: u64,
    joined_at: &str,
    all_members: bool,
) -> Value {
    let members: Vec<Value> = guild
        .guild
        .members
        .iter()
        .filter(|member| all_members || member.user.id == bot_id)
        .map(|member| self::member(member, joined_at))
        .collect();
    let mut object = self::guild(guild, bot_id);
    object["joined_at"] = json!(joined_at);
    object["large"] = json!(false);
    object["unavailable"] = json!(false);
    object["member_count"] = json!(guild.guild.members.len());
    object["voice_states"] = json!([]);
    object["members"] = json!(members);
    object["channels"] = json!(guild_channels(guild, bot_id));
    object["threads"] = json!(active_threads(guild, bot_id));
    object["presences"] = json!([]);
    object["stage_instances"] = json!([]);
    object["guild_scheduled_events"] = json!([]);
    object["soundboard_sounds"] = json!([]);
    object
}

pub(crate) fn ready(
    bot: &FixtureUser,
    guild_ids: &[u64],
    session_id: &str,
    resume_gateway_url: &str,
) -> Value {
    let guilds: Vec<Value> = guild_ids
        .iter()
        .map(|id| json!({ "id": id.to_string(), "unavailable": true }))
        .collect();
    json!({
        "v": 10,
        "user": current_user(bot),
        "guilds": guilds,
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "shard": [0, 1],
        "application": { "id": bot.id.to_string(), "flags": 0 },
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["local"],
        "user_settings": {},
        "auth": {},
    })
}

/// `GET /oauth2/applications/@me`: the bot's application, owned by `owner`, with `flags`
/// (the privileged intents the portal grants among them).
pub(crate) fn application(bot: &FixtureUser, owner: Option<&FixtureUser>, flags: u64) -> Value {
    json!({
        "id": bot.id.to_string(),
        "name": bot.username,
        "icon": null,
        "description": "",
        "summary": "",
        "type": null,
        "bot": user(bot),
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "0".repeat(64),
        "owner": owner.map(user),
        "team": null,
        "flags": flags,
        "rpc_origins": [],
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "role_connections_verification_url": null,
        "tags": [],
        "approximate_guild_count": 0,
        "hook": true,
        "is_monetized": false,
    })
}

/// GUILD_MEMBER_UPDATE, sent when a member's roles change.
pub(crate) fn guild_member_update(member: &FixtureMember, guild_id: u64, joined_at: &str) -> Value {
    let mut object = self::member(member, joined_at);
    object["guild_id"] = json!(guild_id.to_string());
    object
}

/// `GET /gateway/bot`: one shard, and a session-start budget as generous as Discord's.
pub(crate) fn bot_gateway(gateway_url: &str, sessions_started: usize) -> Value {
    json!({
        "url": gateway_url,
        "shards": 1,
        "session_start_limit": {
            "total": 1000,
            "remaining": 1000 - sessions_started.min(1000),
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        },
    })
}
