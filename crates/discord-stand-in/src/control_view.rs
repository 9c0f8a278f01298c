//! What the control API shows of the world, for a person's view of the sandbox (hookbot's web
//! console): `GET /control/world` (servers with their channels, members and the slash commands
//! the bot registered) and `GET /control/channels/{id}/messages` (a channel's newest messages as
//! Discord's message objects: content, embeds, buttons, reactions). Read-only; the bot's token
//! as for the rest of the control API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::state::{ChannelRef, GuildState, Shared, World};

/// How many messages one read answers at most, newest last: a page's worth.
pub(crate) const MAX_MESSAGES: usize = 100;
/// How many when the request does not say.
const DEFAULT_MESSAGES: usize = 50;

fn refused(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "ok": false, "message": message }))).into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Bot {}", shared.token);
    headers.get("authorization").map(|v| v.as_bytes()) == Some(expected.as_bytes())
}

/// `GET /control/world`.
pub(crate) async fn world(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "the control API takes the bot's token".into(),
        );
    }
    let mut described = describe_world(&shared.world());
    described["ok"] = json!(true);
    Json(described).into_response()
}

/// `GET /control/channels/{id}/messages?limit=N`.
pub(crate) async fn messages(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "the control API takes the bot's token".into(),
        );
    }
    let limit = match query.get("limit").map(|limit| limit.parse::<usize>()) {
        None => DEFAULT_MESSAGES,
        Some(Ok(limit)) if (1..=MAX_MESSAGES).contains(&limit) => limit,
        Some(_) => {
            return refused(
                StatusCode::BAD_REQUEST,
                format!("limit is a number from 1 to {MAX_MESSAGES}"),
            )
        }
    };
    let world = shared.world();
    match channel_id
        .parse()
        .ok()
        .and_then(|id| channel_messages(&world, id, limit))
    {
        Some(mut described) => {
            described["ok"] = json!(true);
            Json(described).into_response()
        }
        None => refused(
            StatusCode::NOT_FOUND,
            format!("no channel {channel_id} in the sandbox's servers"),
        ),
    }
}

/// The servers, each with its channels (in order), its members (the bot and the owner marked) and the
/// slash commands the bot registered there.
pub(crate) fn describe_world(world: &World) -> Value {
    let servers: Vec<Value> = world
        .guilds
        .iter()
        .map(|guild| describe_guild(world, guild))
        .collect();
    json!({
        "bot": { "id": world.bot.id.to_string(), "username": world.bot.username },
        "servers": servers,
    })
}

fn describe_guild(world: &World, guild: &GuildState) -> Value {
    let channels: Vec<Value> = guild
        .guild
        .channels
        .iter()
        .map(|channel| {
            json!({
                "id": channel.id.to_string(),
                "name": channel.name,
                "type": channel.kind.discord_type(),
                "holds_messages": channel.kind.holds_messages(),
            })
        })
        .collect();
    let members: Vec<Value> = guild
        .guild
        .members
        .iter()
        .map(|member| {
            json!({
                "id": member.user.id.to_string(),
                "username": member.user.username,
                "bot": member.user.bot || member.user.id == world.bot.id,
                "owner": member.user.id == guild.guild.owner_id,
            })
        })
        .collect();
    let commands: Vec<Value> = world
        .commands
        .iter()
        .filter(|command| command.guild_id == guild.guild.id)
        .map(|command| {
            json!({
                "name": command.name(),
                "description": command.object["description"],
                "options": command.object["options"].as_array().cloned().unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "id": guild.guild.id.to_string(),
        "name": guild.guild.name,
        "channels": channels,
        "members": members,
        "commands": commands,
    })
}

/// A guild channel's newest `limit` messages, oldest first; `None` for a channel no server has.
pub(crate) fn channel_messages(world: &World, channel_id: u64, limit: usize) -> Option<Value> {
    let Some(ChannelRef::Guild(guild, channel)) = world.channel(channel_id) else {
        return None;
    };
    let in_channel: Vec<&Value> = world
        .messages
        .iter()
        .filter(|message| message.channel_id == channel_id)
        .map(|message| &message.object)
        .collect();
    let newest = &in_channel[in_channel.len().saturating_sub(limit)..];
    Some(json!({
        "channel": {
            "id": channel.id.to_string(),
            "name": channel.name,
            "server": guild.guild.id.to_string(),
        },
        "total": in_channel.len(),
        "messages": newest,
    }))
}
