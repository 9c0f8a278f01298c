//! The gateway websocket: HELLO, IDENTIFY → READY and one GUILD_CREATE per guild, heartbeat
//! ACKs, RESUME → RESUMED, and the events REST calls cause, with Discord's close codes.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::describe::announce;
use crate::errors::DiscordError;
use crate::shapes;
use crate::state::{intent, Dispatch, Shared};

/// Gateway opcodes (Discord's numbers).
mod op {
    pub const DISPATCH: u64 = 0;
    pub const HEARTBEAT: u64 = 1;
    pub const IDENTIFY: u64 = 2;
    pub const PRESENCE_UPDATE: u64 = 3;
    pub const VOICE_STATE_UPDATE: u64 = 4;
    pub const RESUME: u64 = 6;
    pub const REQUEST_GUILD_MEMBERS: u64 = 8;
    pub const INVALID_SESSION: u64 = 9;
    pub const HELLO: u64 = 10;
    pub const HEARTBEAT_ACK: u64 = 11;
}

/// Close codes Discord uses, with its reasons.
mod close {
    pub const UNKNOWN_OPCODE: (u16, &str) = (4001, "Unknown opcode.");
    pub const DECODE_ERROR: (u16, &str) = (4002, "Error while decoding payload.");
    pub const NOT_AUTHENTICATED: (u16, &str) = (4003, "Not authenticated.");
    pub const AUTHENTICATION_FAILED: (u16, &str) = (4004, "Authentication failed.");
    pub const ALREADY_AUTHENTICATED: (u16, &str) = (4005, "Already authenticated.");
    pub const INVALID_SHARD: (u16, &str) = (4010, "Invalid shard.");
    pub const INVALID_INTENTS: (u16, &str) = (4013, "Invalid intent(s).");
    pub const DISALLOWED_INTENTS: (u16, &str) = (4014, "Disallowed intent(s).");
}

/// Every intent bit Discord defines (0 to 25, some unused): asking for another is 4013.
const KNOWN_INTENTS: u64 = (1 << 26) - 1;

pub(crate) async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    // During an outage Discord's edge answers the upgrade request with an error status, so the
    // client sees a failed handshake rather than a websocket that never speaks.
    let outage = shared.world().outage;
    if let Some(status) = outage {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (
            status,
            axum::Json(DiscordError::generic_body(status.as_u16())),
        )
            .into_response();
    }
    ws.on_upgrade(move |socket| Connection::new(shared, socket).run())
}

/// What the connection does after handling one payload.
enum Next {
    Continue,
    Close((u16, &'static str)),
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.session.is_some() {
            self.shared.world().gateway_sessions_live -= 1;
        }
    }
}

/// A session that identified (or resumed) on this connection.
struct Session {
    id: String,
    intents: u64,
}

struct Connection {
    shared: Arc<Shared>,
    socket: WebSocket,
    session: Option<Session>,
    /// The last sequence number sent in this session.
    seq: u64,
}

impl Connection {
    fn new(shared: Arc<Shared>, socket: WebSocket) -> Self {
        Connection {
            shared,
            socket,
            session: None,
            seq: 0,
        }
    }

    /// Counts this connection's session as live (once), and the most ever live at once.
    fn session_began(&self) {
        if self.session.is_none() {
            let mut world = self.shared.world();
            world.gateway_sessions_live += 1;
            world.gateway_sessions_peak =
                world.gateway_sessions_peak.max(world.gateway_sessions_live);
        }
    }

    async fn run(mut self) {
        // Subscribe before HELLO so no event caused after the client identifies is missed.
        let mut dispatches = self.shared.dispatches.subscribe();
        let mut closes = self.shared.gateway_closes.subscribe();
        let hello = json!({ "op": op::HELLO, "d": { "heartbeat_interval": self.shared.heartbeat_interval_ms } });
        if self.send(&hello).await.is_err() {
            return;
        }
        loop {
            let next = tokio::select! {
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => self.handle_payload(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Next::Close(close::DECODE_ERROR),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Continue,
                    Some(Ok(Message::Close(_))) => {
                        // tungstenite queued the close reply; flushing it completes the handshake
                        // the client waits for, as Discord does.
                        let _ = futures::SinkExt::close(&mut self.socket).await;
                        return;
                    }
                    Some(Err(_)) | None => return,
                },
                dispatch = dispatches.recv() => match dispatch {
                    Ok(dispatch) => self.forward(dispatch).await,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(target: crate::describe::LOG_TARGET, "a gateway connection missed {missed} events");
                        Next::Continue
                    }
                    Err(RecvError::Closed) => return,
                },
                code = closes.recv() => match code {
                    Ok(code) => Next::Close((code, "Closed by the sandbox.")),
                    Err(RecvError::Lagged(_)) => Next::Continue,
                    Err(RecvError::Closed) => return,
                },
            };
            match next {
                Next::Continue => {}
                Next::Close((code, reason)) => {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = self.socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }

    async fn handle_payload(&mut self, text: &str) -> Next {
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            return Next::Close(close::DECODE_ERROR);
        };
        let Some(opcode) = payload["op"].as_u64() else {
            return Next::Close(close::DECODE_ERROR);
        };
        let data = &payload["d"];
        match opcode {
            op::HEARTBEAT => {
                self.shared.world().heartbeats_acked += 1;
                self.send_or_close(&json!({ "op": op::HEARTBEAT_ACK }))
                    .await
            }
            op::IDENTIFY => self.identify(data).await,
            op::RESUME => self.resume(data).await,
            op::PRESENCE_UPDATE | op::VOICE_STATE_UPDATE | op::REQUEST_GUILD_MEMBERS
                if self.session.is_none() =>
            {
                Next::Close(close::NOT_AUTHENTICATED)
            }
            // Accepted and ignored: the stand-in has no presences, voice or member chunks.
            op::PRESENCE_UPDATE | op::VOICE_STATE_UPDATE | op::REQUEST_GUILD_MEMBERS => {
                Next::Continue
            }
            _ => Next::Close(close::UNKNOWN_OPCODE),
        }
    }

    fn token_is_valid(&self, token: &Value) -> bool {
        // serenity sends the token as `Bot <token>`; Discord also takes it bare.
        token
            .as_str()
            .is_some_and(|token| token.strip_prefix("Bot ").unwrap_or(token) == self.shared.token)
    }

    async fn identify(&mut self, data: &Value) -> Next {
        if self.session.is_some() {
            return Next::Close(close::ALREADY_AUTHENTICATED);
        }
        if !self.token_is_valid(&data["token"]) {
            announce("refused a gateway IDENTIFY: wrong token (closed with 4004)");
            return Next::Close(close::AUTHENTICATION_FAILED);
        }
        if !data["shard"].is_null() && data["shard"] != json!([0, 1]) {
            return Next::Close(close::INVALID_SHARD);
        }
        let Some(intents) = data["intents"].as_u64().filter(|i| i & !KNOWN_INTENTS == 0) else {
            return Next::Close(close::INVALID_INTENTS);
        };
        let disallowed = {
            let mut world = self.shared.world();
            world.last_identify_intents = Some(intents);
            intents & world.disallowed_intents
        };
        if disallowed != 0 {
            announce(&format!(
                "refused a gateway IDENTIFY: it asks for {}, which the developer portal does not enable (closed with 4014)",
                privileged_names(disallowed)
            ));
            return Next::Close(close::DISALLOWED_INTENTS);
        }

        let session_id = format!("{:032x}", rand::random::<u128>());
        let (ready, guild_creates, bot_name) = {
            let world = self.shared.world();
            let guild_ids: Vec<u64> = world.guilds.iter().map(|guild| guild.guild.id).collect();
            let ready = shapes::ready(
                &world.bot,
                &guild_ids,
                &session_id,
                &self.shared.gateway_url,
            );
            let all_members = intents & intent::GUILD_PRESENCES != 0;
            let guild_creates: Vec<Value> = world
                .guilds
                .iter()
                .map(|guild| {
                    shapes::guild_create(guild, world.bot.id, &world.joined_at, all_members)
                })
                .collect();
            (ready, guild_creates, world.bot.username.clone())
        };
        self.session_began();
        self.session = Some(Session {
            id: session_id,
            intents,
        });
        self.seq = 0;
        let server_count = guild_creates.len();
        if self.dispatch("READY", ready).await.is_err() {
            return Next::Close(close::DECODE_ERROR);
        }
        for guild_create in guild_creates {
            if self.dispatch("GUILD_CREATE", guild_create).await.is_err() {
                return Next::Close(close::DECODE_ERROR);
            }
        }
        self.shared.world().gateway_sessions_started += 1;
        let noun = if server_count == 1 {
            "server"
        } else {
            "servers"
        };
        announce(&format!(
            "@{bot_name} connected to the gateway and sees {server_count} {noun}"
        ));
        Next::Continue
    }

    async fn resume(&mut self, data: &Value) -> Next {
        if !self.token_is_valid(&data["token"]) {
            return Next::Close(close::AUTHENTICATION_FAILED);
        }
        let session_id = data["session_id"].as_str().unwrap_or_default().to_owned();
        let known = self.shared.world().sessions.get(&session_id).copied();
        let Some(record) = known else {
            // Not resumable: the client must identify anew.
            return self
                .send_or_close(&json!({ "op": op::INVALID_SESSION, "d": false }))
                .await;
        };
        self.session_began();
        self.session = Some(Session {
            id: session_id,
            intents: record.intents,
        });
        self.seq = record.seq;
        if self.dispatch("RESUMED", json!({})).await.is_err() {
            return Next::Close(close::DECODE_ERROR);
        }
        {
            let mut world = self.shared.world();
            world.gateway_sessions_started += 1;
            world.gateway_resumes += 1;
        }
        announce("the bot resumed its gateway session");
        Next::Continue
    }

    /// Forwards an event REST caused, if this session identified with its intent.
    async fn forward(&mut self, dispatch: Dispatch) -> Next {
        let Some(intents) = self.session.as_ref().map(|session| session.intents) else {
            return Next::Continue;
        };
        let wanted = dispatch.intent == intent::NONE || intents & dispatch.intent != 0;
        if !wanted {
            return Next::Continue;
        }
        let mut data = dispatch.data;
        if intents & intent::MESSAGE_CONTENT == 0 {
            let bot_id = self.shared.world().bot.id;
            hide_content(dispatch.event, &mut data, bot_id);
        }
        if self.dispatch(dispatch.event, data).await.is_err() {
            return Next::Close(close::DECODE_ERROR);
        }
        Next::Continue
    }

    /// Sends `{"op":0,"s":…,"t":…,"d":…}` with the session's next sequence number.
    async fn dispatch(&mut self, event: &str, data: Value) -> Result<(), axum::Error> {
        self.seq += 1;
        if let Some(session) = &self.session {
            self.shared
                .world()
                .record_session(&session.id, self.seq, session.intents);
        }
        let payload = json!({ "op": op::DISPATCH, "s": self.seq, "t": event, "d": data });
        self.send(&payload).await
    }

    async fn send_or_close(&mut self, payload: &Value) -> Next {
        match self.send(payload).await {
            Ok(()) => Next::Continue,
            Err(_) => Next::Close(close::DECODE_ERROR),
        }
    }

    async fn send(&mut self, payload: &Value) -> Result<(), axum::Error> {
        let result = self
            .socket
            .send(Message::Text(payload.to_string().into()))
            .await;
        self.shared.changed.notify_waiters();
        result
    }
}

/// Without MESSAGE_CONTENT, Discord sends a guild message's content, embeds, attachments and
/// components empty, except the bot's own messages and messages that mention it.
fn hide_content(event: &str, data: &mut Value, bot_id: u64) {
    if !matches!(event, "MESSAGE_CREATE" | "MESSAGE_UPDATE") || data["guild_id"].is_null() {
        return;
    }
    let bot = bot_id.to_string();
    let from_bot = data["author"]["id"].as_str() == Some(bot.as_str());
    let mentions_bot = data["mentions"].as_array().is_some_and(|users| {
        users
            .iter()
            .any(|user| user["id"].as_str() == Some(bot.as_str()))
    });
    if from_bot || mentions_bot {
        return;
    }
    for (field, empty) in [
        ("content", json!("")),
        ("embeds", json!([])),
        ("attachments", json!([])),
        ("components", json!([])),
    ] {
        if data.get(field).is_some() {
            data[field] = empty;
        }
    }
}

/// `GUILD_MEMBERS and MESSAGE_CONTENT`, the portal's names for privileged intent bits.
fn privileged_names(bits: u64) -> String {
    let names: Vec<&str> = [
        (
            intent::GUILD_MEMBERS,
            "GUILD_MEMBERS (Server Members Intent)",
        ),
        (intent::GUILD_PRESENCES, "GUILD_PRESENCES (Presence Intent)"),
        (
            intent::MESSAGE_CONTENT,
            "MESSAGE_CONTENT (Message Content Intent)",
        ),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| name)
    .collect();
    names.join(" and ")
}
