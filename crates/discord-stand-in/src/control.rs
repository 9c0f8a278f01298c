//! The control API a person uses from a second terminal (`hookbot sandbox …`): act as a member
//! of the stand-in's servers — say something, join, leave, react, use a slash command, click a
//! button — naming people, channels and servers as they appear (`alice`, `#general`). Served at
//! `/control/…` on the stand-in's loopback port, for the bot's own token only.
//!
//! Every request is a JSON object; every answer is `{"ok": true, "done": "<what happened, in
//! words>", …}` or `{"ok": false, "message": "<what to fix>"}` with a 4xx status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::components;
use crate::describe::{announce, quote};
use crate::fixture::FixtureUser;
use crate::state::{intent, ChannelRef, Shared, World};
use crate::{interactions, invoke, messages, people};

/// The path every control route lives under.
pub(crate) const CONTROL_PREFIX: &str = "/control";
/// A request body larger than this is refused: the control API takes a line of text.
const MAX_BODY_BYTES: usize = 16 * 1024;

type Refusal = (StatusCode, String);

fn refuse(message: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, message.into())
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Bot {}", shared.token);
    headers.get("authorization").map(|v| v.as_bytes()) == Some(expected.as_bytes())
}

fn answer(result: Result<Value, Refusal>) -> Response {
    match result {
        Ok(mut done) => {
            done["ok"] = json!(true);
            Json(done).into_response()
        }
        Err((status, message)) => {
            (status, Json(json!({ "ok": false, "message": message }))).into_response()
        }
    }
}

/// `POST /control/{action}`.
pub(crate) async fn act(
    State(shared): State<Arc<Shared>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(&shared, &headers) {
        return answer(Err((
            StatusCode::UNAUTHORIZED,
            "the control API takes the bot's token as `Authorization: Bot <token>`".into(),
        )));
    }
    if body.len() > MAX_BODY_BYTES {
        return answer(Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        )));
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return answer(Err(refuse("the body must be a JSON object")));
    };
    let result = {
        let mut world = shared.world();
        match action.as_str() {
            "say" => say(&mut world, &request),
            "join" => join(&mut world, &request),
            "leave" => leave(&mut world, &request),
            "react" => react(&mut world, &request),
            "command" => command(&mut world, &request),
            "click" => click(&mut world, &request),
            other => Err((StatusCode::NOT_FOUND, format!("no control action {other:?}; there are say, join, leave, react, command and click"))),
        }
    };
    let result = result.map(|(done, event)| {
        if let Some((name, data, needed)) = event {
            shared.dispatch(name, data, needed);
        }
        shared.changed.notify_waiters();
        done
    });
    answer(result)
}

/// `GET /control/interactions/{id}`: what the bot answered so far.
pub(crate) async fn interaction(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers) {
        return answer(Err((
            StatusCode::UNAUTHORIZED,
            "the control API takes the bot's token".into(),
        )));
    }
    let described = interactions::describe(&shared.world(), id);
    answer(described.ok_or_else(|| (StatusCode::NOT_FOUND, format!("no interaction {id}"))))
}

type Acted = Result<(Value, Option<people::Event>), Refusal>;

fn text<'a>(request: &'a Value, key: &str) -> Option<&'a str> {
    request[key]
        .as_str()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn required<'a>(request: &'a Value, key: &str) -> Result<&'a str, Refusal> {
    text(request, key).ok_or_else(|| refuse(format!("say {key:?}")))
}

/// The server named by `server` (an id or a name), or the only one.
fn server(world: &World, request: &Value) -> Result<u64, Refusal> {
    let ids: Vec<String> = world
        .guilds
        .iter()
        .map(|g| g.guild.id.to_string())
        .collect();
    match text(request, "server") {
        Some(wanted) => world
            .guilds
            .iter()
            .find(|g| g.guild.id.to_string() == wanted || g.guild.name == wanted)
            .map(|g| g.guild.id)
            .ok_or_else(|| {
                refuse(format!(
                    "no server {wanted:?}; the servers are {}",
                    ids.join(", ")
                ))
            }),
        None if world.guilds.len() == 1 => Ok(world.guilds[0].guild.id),
        None => Err(refuse(format!(
            "there are several servers; say which: {}",
            ids.join(", ")
        ))),
    }
}

/// The channel named by `channel` (`#name`, `name` or an id) in the server, or its first text
/// channel (`#general` in the sandbox).
fn channel(world: &World, request: &Value) -> Result<u64, Refusal> {
    let guild_id = server(world, request)?;
    let guild = world.guild(guild_id).expect("found above");
    let channels = || {
        guild
            .guild
            .channels
            .iter()
            .filter(|c| c.kind.holds_messages())
    };
    match text(request, "channel") {
        Some(wanted) => {
            let name = wanted.trim_start_matches('#');
            channels()
                .find(|c| c.name == name || c.id.to_string() == name)
                .map(|c| c.id)
                .ok_or_else(|| {
                    let names: Vec<String> = channels().map(|c| format!("#{}", c.name)).collect();
                    refuse(format!(
                        "no channel {wanted:?}; the channels are {}",
                        names.join(", ")
                    ))
                })
        }
        None => channels()
            .find(|c| c.name == "general")
            .or_else(|| channels().next())
            .map(|c| c.id)
            .ok_or_else(|| refuse("the server has no channel to write in")),
    }
}

/// A member of the server named by `user` (a username or an id).
fn member(world: &World, guild_id: u64, request: &Value) -> Result<u64, Refusal> {
    let wanted = required(request, "user")?.trim_start_matches('@');
    let guild = world.guild(guild_id).expect("found above");
    guild
        .guild
        .members
        .iter()
        .filter(|m| m.user.id != world.bot.id)
        .find(|m| m.user.username.eq_ignore_ascii_case(wanted) || m.user.id.to_string() == wanted)
        .map(|m| m.user.id)
        .ok_or_else(|| {
            let names: Vec<&str> = guild
                .guild
                .members
                .iter()
                .filter(|m| m.user.id != world.bot.id)
                .map(|m| m.user.username.as_str())
                .collect();
            refuse(format!(
                "{wanted:?} is not a member; the members are {}",
                names.join(", ")
            ))
        })
}

fn guild_of(world: &World, channel_id: u64) -> u64 {
    world.guild_of_channel(channel_id).unwrap_or(0)
}

fn channel_name(world: &World, channel_id: u64) -> String {
    match world.channel(channel_id) {
        Some(ChannelRef::Guild(_, channel)) => format!("#{}", channel.name),
        _ => channel_id.to_string(),
    }
}

fn username(world: &World, user_id: u64) -> String {
    world
        .user(user_id)
        .map_or_else(|| user_id.to_string(), |u| u.username.clone())
}

fn say(world: &mut World, request: &Value) -> Acted {
    let channel_id = channel(world, request)?;
    let user_id = member(world, guild_of(world, channel_id), request)?;
    announce(&format!(
        "@{} says {}",
        username(world, user_id),
        quote(request["content"].as_str().unwrap_or(""))
    ));
    let content = required(request, "content")?;
    let (event, needed) = messages::from_user(world, channel_id, user_id, content)
        .ok_or_else(|| refuse("that member cannot write there"))?;
    let id = event["id"].clone();
    let done = format!(
        "said {content:?} in {} (message {})",
        channel_name(world, channel_id),
        id.as_str().unwrap_or("")
    );
    Ok((
        json!({ "done": done, "message": id }),
        Some(("MESSAGE_CREATE", event, needed)),
    ))
}

fn join(world: &mut World, request: &Value) -> Acted {
    let guild_id = server(world, request)?;
    let wanted = required(request, "user")?.trim_start_matches('@');
    let user = world
        .user(wanted.parse().unwrap_or(0))
        .cloned()
        .or_else(|| {
            world
                .loose_users
                .iter()
                .find(|u| u.username.eq_ignore_ascii_case(wanted))
                .cloned()
        })
        .unwrap_or_else(|| FixtureUser::new(world.snowflakes.next(), wanted));
    let id = user.id;
    let event = people::join(world, guild_id, user).map_err(refuse)?;
    Ok((
        json!({ "done": format!("@{wanted} joined (user {id})"), "user": id.to_string() }),
        Some(event),
    ))
}

fn leave(world: &mut World, request: &Value) -> Acted {
    let guild_id = server(world, request)?;
    let user_id = member(world, guild_id, request)?;
    let event = people::leave(world, guild_id, user_id).map_err(refuse)?;
    Ok((
        json!({ "done": format!("user {user_id} left") }),
        Some(event),
    ))
}

/// The message named by `message` (an id) in the channel, or the newest one `fits`.
fn message(
    world: &World,
    channel_id: u64,
    request: &Value,
    fits: impl Fn(&Value) -> bool,
    what: &str,
) -> Result<u64, Refusal> {
    match text(request, "message") {
        Some(id) => id
            .parse()
            .map_err(|_| refuse(format!("{id:?} is not a message id"))),
        None => world
            .messages
            .iter()
            .rev()
            .filter(|m| m.channel_id == channel_id && fits(&m.object))
            .map(|m| m.id())
            .next()
            .ok_or_else(|| {
                refuse(format!(
                    "{} has no {what}; say which message",
                    channel_name(world, channel_id)
                ))
            }),
    }
}

fn react(world: &mut World, request: &Value) -> Acted {
    let channel_id = channel(world, request)?;
    let user_id = member(world, guild_of(world, channel_id), request)?;
    let message_id = message(world, channel_id, request, |_| true, "message")?;
    let emoji = required(request, "emoji")?;
    let add = request["remove"].as_bool() != Some(true);
    let event =
        people::react(world, channel_id, message_id, user_id, emoji, add).map_err(refuse)?;
    let verb = if add {
        "reacted"
    } else {
        "took back the reaction"
    };
    Ok((
        json!({ "done": format!("{verb} {emoji} on message {message_id}") }),
        Some(event),
    ))
}

fn command(world: &mut World, request: &Value) -> Acted {
    let channel_id = channel(world, request)?;
    let user_id = member(world, guild_of(world, channel_id), request)?;
    let name = required(request, "name")?.trim_start_matches('/');
    let options: Vec<(String, String)> = request["options"]
        .as_object()
        .map(|options| {
            options
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let (payload, id) =
        invoke::use_command(world, channel_id, user_id, name, &options).map_err(refuse)?;
    announce(&format!("@{} used /{name}", username(world, user_id)));
    let done = format!("used /{name} in {}", channel_name(world, channel_id));
    Ok((
        json!({ "done": done, "interaction": id.to_string() }),
        Some(("INTERACTION_CREATE", payload, intent::NONE)),
    ))
}

fn click(world: &mut World, request: &Value) -> Acted {
    let channel_id = channel(world, request)?;
    let user_id = member(world, guild_of(world, channel_id), request)?;
    let has_buttons = |object: &Value| !components::clickable_buttons(object).is_empty();
    let message_id = message(
        world,
        channel_id,
        request,
        has_buttons,
        "message with a button",
    )?;
    let button = required(request, "button")?;
    let (payload, id) =
        invoke::click(world, channel_id, message_id, user_id, button).map_err(refuse)?;
    announce(&format!("@{} clicked {button:?}", username(world, user_id)));
    let done = format!("clicked {button:?} on message {message_id}");
    Ok((
        json!({ "done": done, "interaction": id.to_string() }),
        Some(("INTERACTION_CREATE", payload, intent::NONE)),
    ))
}
