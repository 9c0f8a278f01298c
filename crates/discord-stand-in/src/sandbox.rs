//! The running stand-in: starting it, the addresses to give serenity, the knobs a test turns
//! (injected failures, a user's message, gateway closes), what the bot did as Discord would
//! answer it, and stopping it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{any, get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::{broadcast, oneshot, Notify};
use tokio::task::JoinHandle;

use crate::describe::LOG_TARGET;
use crate::failure::Failure;
use crate::fixture::Fixture;
use crate::rate_limits::RateLimits;
use crate::state::{ChannelRef, Shared, StoredMessage, World};
use crate::wire::{RecordedRequest, API_PREFIX};
use crate::{control, control_view, echo, gateway, message_actions, messages, rest, shapes};

/// How the stand-in runs; `Default` is what tests and `--sandbox` want.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Sent in HELLO. serenity first heartbeats one interval after IDENTIFY and reconnects if
    /// an ACK is late by a whole interval: 2 s shows heartbeats soon in tests while leaving a
    /// loaded machine ample time (Discord's own 41.25 s would hide them from any short test).
    pub heartbeat_interval: Duration,
    /// The loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// Discord's rate limits, enforced as Discord does (429s, `X-RateLimit-*` headers); `None`,
    /// the default, answers every request at once.
    pub rate_limits: Option<RateLimits>,
}

impl SandboxOptions {
    /// Enforces `limits` as Discord would; see [`RateLimits`].
    pub fn discord_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            heartbeat_interval: Duration::from_secs(2),
            port: 0,
            rate_limits: None,
        }
    }
}

/// A running Discord stand-in. Dropping it stops the server; `shutdown` does so gracefully.
#[derive(Debug)]
pub struct Sandbox {
    pub(crate) shared: Arc<Shared>,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts the stand-in on `127.0.0.1:0`, accepting `Bot <token>`.
    pub async fn start(fixture: Fixture, token: &str) -> io::Result<Sandbox> {
        Self::start_with(fixture, token, SandboxOptions::default()).await
    }

    /// Starts the stand-in with `options` (the port, the heartbeat interval, rate limits).
    pub async fn start_with(
        fixture: Fixture,
        token: &str,
        options: SandboxOptions,
    ) -> io::Result<Sandbox> {
        let fixture = fixture.completed()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let address = listener.local_addr()?;
        let (dispatches, _) = broadcast::channel(1024);
        let (gateway_closes, _) = broadcast::channel(16);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::with_rate_limits(fixture, options.rate_limits)),
            token: token.to_owned(),
            // serenity appends `?v=10` itself, so the URL must have no query.
            gateway_url: format!("ws://{address}/gateway"),
            heartbeat_interval_ms: options.heartbeat_interval.as_millis() as u64,
            dispatches,
            gateway_closes,
            changed: Notify::new(),
            last_dispatches: Mutex::default(),
        });
        let router = Router::new()
            .route("/gateway", get(gateway::upgrade))
            .route(echo::ECHO_PATH, any(echo::handle))
            .route(
                &format!("{}/interactions/{{id}}", control::CONTROL_PREFIX),
                get(control::interaction),
            )
            .route(
                &format!("{}/{{action}}", control::CONTROL_PREFIX),
                post(control::act),
            )
            .route(
                &format!("{}/world", control::CONTROL_PREFIX),
                get(control_view::world),
            )
            .route(
                &format!("{}/channels/{{id}}/messages", control::CONTROL_PREFIX),
                get(control_view::messages),
            )
            .fallback(rest::handle)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(target: LOG_TARGET, "the Discord stand-in stopped: {error}");
            }
        });
        tracing::debug!(target: LOG_TARGET, "Discord stand-in listening on http://{address}");
        Ok(Sandbox {
            shared,
            address,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`: give it to serenity as the proxy (it replaces
    /// `https://discord.com`), so REST paths arrive as `/api/v10/…`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `ws://127.0.0.1:PORT/gateway`, what `GET /gateway` answers.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// `http://127.0.0.1:PORT/control`: where a person acts as a member from another terminal
    /// (`POST /control/say`, `join`, `leave`, `react`, `command`, `click`; `GET
    /// /control/interactions/{id}`) and reads what a member sees (`GET /control/world`, `GET
    /// /control/channels/{id}/messages?limit=N`), with the bot's token as `Authorization: Bot
    /// <token>`.
    pub fn control_url(&self) -> String {
        format!("http://{}{}", self.address, control::CONTROL_PREFIX)
    }

    /// `http://127.0.0.1:PORT/echo`: the HTTP echo. Send a bot's calls to other services there,
    /// the URL each meant to call in the [`ECHO_URL_HEADER`](crate::ECHO_URL_HEADER) header, and
    /// nothing leaves the machine: each is recorded ([`echoed`](Self::echoed)), logged in plain
    /// words and answered 200 with what arrived.
    pub fn echo_url(&self) -> String {
        format!("http://{}{}", self.address, echo::ECHO_PATH)
    }

    /// Every call the HTTP echo answered, in order: `path` is the URL the caller meant to call
    /// (scheme, host and path), `query` its query.
    pub fn echoed(&self) -> Vec<RecordedRequest> {
        self.shared.world().echoed.clone()
    }

    /// Every REST request so far, in order, with the status it got.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.world().requests.clone()
    }

    /// The messages created in a channel (guild or DM), oldest first: Discord's message object
    /// plus the fields the bot sent that Discord does not echo (`allowed_mentions`, …).
    pub fn messages_in(&self, channel_id: u64) -> Vec<Value> {
        self.shared
            .world()
            .messages
            .iter()
            .filter(|message| message.channel_id == channel_id)
            .map(StoredMessage::with_sent_fields)
            .collect()
    }

    /// When each message created in a channel arrived, oldest first.
    pub fn message_times(&self, channel_id: u64) -> Vec<Instant> {
        self.timed_messages(channel_id)
            .into_iter()
            .map(|(arrived, _)| arrived)
            .collect()
    }

    /// The messages created in a channel with the moment each arrived, oldest first, as
    /// [`messages_in`](Self::messages_in) gives them: for latency measurements.
    pub fn timed_messages(&self, channel_id: u64) -> Vec<(Instant, Value)> {
        self.shared
            .world()
            .messages
            .iter()
            .filter(|message| message.channel_id == channel_id)
            .map(|message| (message.created, message.with_sent_fields()))
            .collect()
    }

    /// How many requests were answered 429 (by the enforced rate limits or an injected failure).
    pub fn rate_limited_count(&self) -> usize {
        self.shared.world().rate_limited
    }

    /// How many REST requests the stand-in answered, without copying them.
    pub fn request_count(&self) -> usize {
        self.shared.world().requests.len()
    }

    /// The DMs the bot sent to a user, oldest first.
    pub fn dms_to(&self, user_id: u64) -> Vec<Value> {
        let channel_id = self
            .shared
            .world()
            .dm_channel_with(user_id)
            .map(|channel| channel.id);
        channel_id.map_or_else(Vec::new, |channel_id| self.messages_in(channel_id))
    }

    /// A member's role ids now, or `None` if the guild or member is unknown.
    pub fn member_roles(&self, guild_id: u64, user_id: u64) -> Option<Vec<u64>> {
        let world = self.shared.world();
        let member = world.guild(guild_id)?.member(user_id)?;
        Some(member.roles.clone())
    }

    /// The name of a guild or DM channel (`deploys`, or `@alice` for a DM), for messages.
    pub fn channel_name(&self, channel_id: u64) -> Option<String> {
        let world = self.shared.world();
        match world.channel(channel_id)? {
            ChannelRef::Guild(_, channel) => Some(channel.name.clone()),
            ChannelRef::Dm(dm) => world
                .user(dm.recipient_id)
                .map(|u| format!("@{}", u.username)),
        }
    }

    /// A message as it is now (after edits, with its reactions and `pinned`), plus the sent
    /// fields Discord does not echo; `None` if it never existed or was deleted.
    pub fn message(&self, channel_id: u64, message_id: u64) -> Option<Value> {
        let world = self.shared.world();
        world
            .message(channel_id, message_id)
            .map(StoredMessage::with_sent_fields)
    }

    /// The bot's reactions on a message, in the order added: `👍` for a unicode emoji,
    /// `name:id` for a custom one.
    pub fn reactions(&self, channel_id: u64, message_id: u64) -> Vec<String> {
        let world = self.shared.world();
        let Some(message) = world.message(channel_id, message_id) else {
            return Vec::new();
        };
        message.object["reactions"]
            .as_array()
            .map(|reactions| {
                reactions
                    .iter()
                    .map(|reaction| message_actions::emoji_text(&reaction["emoji"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ids of a channel's pinned messages, oldest pin first.
    pub fn pinned(&self, channel_id: u64) -> Vec<u64> {
        self.shared
            .world()
            .pins
            .iter()
            .filter(|(channel, _, _)| *channel == channel_id)
            .map(|(_, message, _)| *message)
            .collect()
    }

    /// A guild's roles as `GET /guilds/{id}/roles` answers them (@everyone first, the bot's
    /// own role last); empty for an unknown guild.
    pub fn roles(&self, guild_id: u64) -> Vec<Value> {
        let world = self.shared.world();
        world
            .guild(guild_id)
            .map(|guild| shapes::guild_roles(guild, world.bot.id))
            .unwrap_or_default()
    }

    /// Adds a role to a guild the way a change the gateway has not reported yet looks: REST
    /// answers with it, the bot's cache does not know it (no `GUILD_ROLE_CREATE` is sent).
    pub fn add_role_unannounced(&self, guild_id: u64, id: u64, name: &str) {
        let mut world = self.shared.world();
        if let Some(guild) = world.guild_mut(guild_id) {
            // The lowest place, so the bot may manage it.
            let role = crate::fixture::FixtureRole::new(id, name).position(1);
            guild.guild.roles.push(role);
        }
    }

    /// The role with this exact name, as Discord's role object.
    pub fn role_named(&self, guild_id: u64, name: &str) -> Option<Value> {
        self.roles(guild_id)
            .into_iter()
            .find(|role| role["name"] == name)
    }

    /// A member as `GET /guilds/{g}/members/{u}` answers (nick, roles,
    /// communication_disabled_until, …); `None` once kicked or banned.
    pub fn member(&self, guild_id: u64, user_id: u64) -> Option<Value> {
        let world = self.shared.world();
        let member = world.guild(guild_id)?.member(user_id)?;
        Some(shapes::member(member, &world.joined_at))
    }

    /// A user's ban (`{"reason", "user"}`), or `None` if they are not banned.
    pub fn ban(&self, guild_id: u64, user_id: u64) -> Option<Value> {
        let world = self.shared.world();
        world.guild(guild_id)?.ban(user_id).map(shapes::ban)
    }

    /// A guild channel or thread as `GET /channels/{id}` answers it; `None` once deleted (and
    /// for DM channels).
    pub fn channel(&self, channel_id: u64) -> Option<Value> {
        let world = self.shared.world();
        match world.channel(channel_id)? {
            ChannelRef::Guild(guild, channel) => {
                Some(shapes::channel_in(guild, channel, world.bot.id))
            }
            ChannelRef::Dm(_) => None,
        }
    }

    /// The guild's channel or thread with this exact name (`release-notes`: Discord
    /// lower-cases text channel names and turns spaces into dashes).
    pub fn channel_named(&self, guild_id: u64, name: &str) -> Option<Value> {
        let world = self.shared.world();
        let guild = world.guild(guild_id)?;
        let channel = guild.guild.channels.iter().find(|c| c.name == name)?;
        Some(shapes::channel_in(guild, channel, world.bot.id))
    }

    /// The invites created for a channel, oldest first, as Discord's invite objects.
    pub fn invites(&self, channel_id: u64) -> Vec<Value> {
        self.shared
            .world()
            .invites
            .iter()
            .filter(|invite| invite.channel_id == channel_id)
            .map(|invite| invite.object.clone())
            .collect()
    }

    /// Every audit-log reason sent, in order: (`PUT /guilds/1/bans/2`, the decoded reason).
    pub fn audit_reasons(&self) -> Vec<(String, String)> {
        self.shared
            .world()
            .requests
            .iter()
            .filter_map(|request| {
                let reason = request.audit_log_reason()?;
                let path = request
                    .path
                    .strip_prefix(API_PREFIX)
                    .unwrap_or(&request.path);
                Some((format!("{} {path}", request.method), reason))
            })
            .collect()
    }

    /// Makes a user write a message (a guild member in a guild channel, or the recipient in
    /// their DM channel with the bot), dispatching MESSAGE_CREATE; its id, or `None` if the
    /// user cannot write there.
    pub fn post_as(&self, channel_id: u64, user_id: u64, content: &str) -> Option<u64> {
        let mut world = self.shared.world();
        let (event, intent) = messages::from_user(&mut world, channel_id, user_id, content)?;
        let id = event["id"].as_str().and_then(|id| id.parse().ok());
        drop(world);
        self.shared.dispatch("MESSAGE_CREATE", event, intent);
        self.shared.changed.notify_waiters();
        id
    }

    /// Makes matching requests fail; see [`Failure`].
    pub fn inject(&self, failure: Failure) {
        self.shared.world().failures.push(failure);
    }

    /// Starts a Discord outage: from now until [`end_outage`](Self::end_outage), every REST
    /// request (whatever its route, before the token is checked) is answered `status` with
    /// Discord's generic error body, and every new gateway connection is refused with `status`
    /// before the websocket upgrade. Gateway connections already open stay open; close them
    /// with [`close_gateway_connections`](Self::close_gateway_connections) for an outage that
    /// drops them too. Refused requests are recorded like any other.
    pub fn begin_outage(&self, status: u16) {
        self.shared.world().outage = Some(status);
    }

    /// Ends the outage [`begin_outage`](Self::begin_outage) started: requests are answered
    /// normally again.
    pub fn end_outage(&self) {
        self.shared.world().outage = None;
        self.shared.changed.notify_waiters();
    }

    /// How many IDENTIFYs and RESUMEs the gateway answered.
    pub fn gateway_identified(&self) -> usize {
        self.shared.world().gateway_sessions_started
    }

    /// How many RESUMEs the gateway answered (included in `gateway_identified`).
    pub fn gateway_resumes(&self) -> usize {
        self.shared.world().gateway_resumes
    }

    /// How many gateway connections hold an identified (or resumed) session now.
    pub fn gateway_sessions_live(&self) -> usize {
        self.shared.world().gateway_sessions_live
    }

    /// The most gateway sessions that were ever live at once.
    pub fn gateway_sessions_peak(&self) -> usize {
        self.shared.world().gateway_sessions_peak
    }

    /// How many heartbeats the gateway acknowledged.
    pub fn heartbeats_acked(&self) -> usize {
        self.shared.world().heartbeats_acked
    }

    /// Closes every live gateway connection with `code`; 4000 makes serenity reconnect and
    /// RESUME, 4004 makes it give up.
    pub fn close_gateway_connections(&self, code: u16) {
        let _ = self.shared.gateway_closes.send(code);
    }

    /// Polls `condition` until it holds or `timeout` passes; true if it held. It is checked
    /// whenever a request or gateway payload is handled, and at least every 50 ms.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Sandbox) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if condition(self) {
                return true;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return false;
            }
            let pause = (deadline - now).min(Duration::from_millis(50));
            let _ = tokio::time::timeout(pause, changed).await;
        }
    }

    /// Closes the gateway connections (code 1001, going away) and stops the server, waiting
    /// up to 5 s for open requests.
    pub async fn shutdown(mut self) {
        self.close_gateway_connections(1001);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.close_gateway_connections(1001);
            server.abort();
        }
    }
}
