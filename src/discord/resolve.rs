//! The serenity client: the `api_url` proxy, intents, cache, the bot's identity, and finding
//! channels, roles and users of a server by id, mention or name.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::Message;
use serenity::all::{
    Cache, Channel, ChannelId, ChannelType, ClientBuilder, Context, EmojiId, EventHandler,
    GatewayIntents, GuildChannel, GuildId, Http, HttpBuilder, Member, Ready, RoleId, ShardManager,
    UserId,
};
use serenity::async_trait;
use serenity::http::{HttpError, LightMethod, Request, Route};
use tokio::sync::watch;

/// Only non-privileged intents: the cache needs servers, channels and roles; users are found by
/// id or through the member search endpoint.
const INTENTS: GatewayIntents = GatewayIntents::GUILDS;
/// How long stopping the shards may take before hookbot exits anyway.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for READY when the bot's identity must come from the gateway.
const IDENTITY_TIMEOUT: Duration = Duration::from_secs(15);

/// Why starting the Discord side failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("Discord refused the bot token (401); check discord.token or HOOKBOT_DISCORD_TOKEN")]
    BadToken,
    #[error("cannot reach Discord at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cannot start the Discord client: {0}")]
    Client(serenity::Error),
}

/// Why a call to Discord did not do what an action asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// Discord answered with an error; `message` is Discord's own (`Missing Permissions`).
    #[error("Discord answered {status}: {message} (code {code})")]
    Discord {
        status: u16,
        code: i64,
        message: String,
        /// For a 429: how long Discord asked to wait, when the answer said (`retry_after`
        /// or `Retry-After`). serenity's own calls drop it; hookbot's raw calls keep it.
        retry_after_ms: Option<u64>,
    },
    /// A name did not match anything in the server.
    #[error("{0}")]
    NotFound(String),
    /// A rendered value cannot be used (not an id, not a colour, an empty message …).
    #[error("{0}")]
    Invalid(String),
    /// The request did not get an answer (connection refused, timeout …).
    #[error("{0}")]
    Transport(String),
    /// hookbot's own outbound governor held the call back (a route Discord rate-limited, or
    /// the breaker after many refusals); nothing was sent. Try again after `retry_after_ms`.
    #[error("{message}")]
    Paused {
        message: String,
        retry_after_ms: u64,
    },
}

impl CallError {
    /// What `{error.code}` shows: Discord's own code (`50013`), else the HTTP status (`404`),
    /// else a short word: `not_found`, `invalid`, `timeout` or `unreachable`.
    pub fn code(&self) -> String {
        match self {
            CallError::Discord { code, .. } if *code != 0 => code.to_string(),
            CallError::Discord { status, .. } => status.to_string(),
            CallError::NotFound(_) => "not_found".to_owned(),
            CallError::Invalid(_) => "invalid".to_owned(),
            CallError::Paused { .. } => "paused".to_owned(),
            CallError::Transport(message) => {
                let lower = message.to_lowercase();
                if lower.contains("timed out")
                    || lower.contains("timeout")
                    || lower.contains("did not answer")
                {
                    "timeout".to_owned()
                } else {
                    "unreachable".to_owned()
                }
            }
        }
    }

    /// The words of the error without the status and code around them, for `{error.message}`.
    pub fn message(&self) -> String {
        match self {
            CallError::Discord { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<serenity::Error> for CallError {
    fn from(error: serenity::Error) -> Self {
        match error {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
                let mut message = response.error.message;
                for detail in &response.error.errors {
                    message.push_str(&format!(" ({}: {})", detail.path, detail.message));
                }
                CallError::Discord {
                    status: response.status_code.as_u16(),
                    code: response.error.code as i64,
                    message,
                    retry_after_ms: None,
                }
            }
            serenity::Error::Http(HttpError::Request(e)) => CallError::Transport(e.to_string()),
            other => CallError::Invalid(other.to_string()),
        }
    }
}

/// The connected bot: REST client, cache, and the shards' manager.
pub struct Discord {
    pub http: Arc<Http>,
    /// For the calls hookbot makes itself (message sends) when serenity's ratelimiter is off:
    /// it keeps Discord's whole error answer, `retry_after` included.
    raw: reqwest::Client,
    pub cache: Arc<Cache>,
    bot_id: UserId,
    bot_name: String,
    shard_manager: Arc<ShardManager>,
    gateway: watch::Receiver<GatewayState>,
    /// Set when serenity gave up on the gateway (e.g. Discord closed it with 4004): its shard
    /// table then still says "connected".
    gateway_ended: Arc<std::sync::atomic::AtomicBool>,
}

/// A channel as an action found it: its id and, when known, its name for messages and logs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRef {
    pub id: ChannelId,
    pub name: Option<String>,
}

impl std::fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "#{name}"),
            None => write!(f, "channel {}", self.id),
        }
    }
}

/// What the gateway has told hookbot so far.
#[derive(Debug, Clone, Default)]
struct GatewayState {
    /// The bot's user id and name, from READY.
    identity: Option<(UserId, String)>,
    /// Every server in READY has arrived in the cache (or READY named none: serenity then never
    /// says "cache ready").
    cache_ready: bool,
}

struct GatewayHandler {
    state: watch::Sender<GatewayState>,
}

#[async_trait]
impl EventHandler for GatewayHandler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(
            bot = %ready.user.name,
            id = %ready.user.id,
            servers = ready.guilds.len(),
            "connected to the Discord gateway"
        );
        let identity = (ready.user.id, ready.user.name.clone());
        let no_servers = ready.guilds.is_empty();
        self.state.send_modify(|s| {
            s.identity = Some(identity);
            s.cache_ready |= no_servers;
        });
    }

    async fn cache_ready(&self, _ctx: Context, guilds: Vec<GuildId>) {
        tracing::info!(servers = guilds.len(), "Discord cache ready");
        self.state.send_modify(|s| s.cache_ready = true);
    }
}

impl Discord {
    /// Starts the gateway (autosharded) in the background and learns the bot's identity. With
    /// `api_url` set, every request goes there and serenity's ratelimiter is off, because it
    /// would ignore the proxy and talk to discord.com directly.
    pub async fn connect(token: &str, api_url: Option<&str>) -> Result<Discord, ConnectError> {
        let http = match api_url {
            Some(url) => HttpBuilder::new(token)
                .proxy(url)
                .ratelimiter_disabled(true)
                .build(),
            None => HttpBuilder::new(token).build(),
        };
        let (state_tx, gateway) = watch::channel(GatewayState::default());
        let mut client = ClientBuilder::new_with_http(http, INTENTS)
            .event_handler(GatewayHandler { state: state_tx })
            .await
            .map_err(ConnectError::Client)?;
        let http = client.http.clone();
        let cache = client.cache.clone();
        let shard_manager = client.shard_manager.clone();
        let gateway_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ended = gateway_ended.clone();
        tokio::spawn(async move {
            if let Err(error) = client.start_autosharded().await {
                tracing::error!(%error, "the Discord gateway connection ended");
            }
            ended.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let (bot_id, bot_name) = match learn_identity(&http, &gateway, api_url).await {
            Ok(identity) => identity,
            Err(error) => {
                shard_manager.shutdown_all().await;
                return Err(error);
            }
        };
        Ok(Discord {
            http,
            raw: reqwest::Client::new(),
            cache,
            bot_id,
            bot_name,
            shard_manager,
            gateway,
            gateway_ended,
        })
    }

    pub fn bot_id(&self) -> u64 {
        self.bot_id.get()
    }

    pub fn bot_name(&self) -> &str {
        &self.bot_name
    }

    /// Why the gateway is not usable now, or `None` when READY came and every shard is
    /// connected (`/readyz`). Cheap: reads the watch and the shard manager's runner table.
    pub async fn gateway_problem(&self) -> Option<String> {
        if self
            .gateway_ended
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Some(
                "the Discord gateway connection ended and is not retried (the log says why); restart hookbot"
                    .to_owned(),
            );
        }
        if self.gateway.borrow().identity.is_none() {
            return Some("the Discord gateway has not said READY yet".to_owned());
        }
        let runners = self.shard_manager.runners.lock().await;
        if runners.is_empty() {
            return Some("no Discord gateway connection is running".to_owned());
        }
        runners
            .iter()
            .find(|(_, info)| info.stage != serenity::gateway::ConnectionStage::Connected)
            .map(|(id, info)| format!("Discord gateway shard {} is {}", id.0, info.stage))
    }

    /// Waits for READY, at most `timeout`; true when it came.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        wait_for_gateway(&self.gateway, timeout, |s| s.identity.is_some())
            .await
            .is_some()
    }

    /// Waits until the cache holds every server of READY, at most `timeout`; true when it does.
    pub async fn wait_cache_ready(&self, timeout: Duration) -> bool {
        wait_for_gateway(&self.gateway, timeout, |s| s.cache_ready)
            .await
            .is_some()
    }

    /// Closes every shard's connection.
    pub async fn shutdown(&self) {
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.shard_manager.shutdown_all())
            .await
            .is_err()
        {
            tracing::warn!("the Discord gateway did not close in time");
        }
    }

    /// `POST /channels/{channel}/messages` with `body` as given (a `nonce` in it included).
    /// Unlike serenity's `send_message`, an error keeps Discord's `retry_after`. With
    /// serenity's ratelimiter on, the call goes through it (it waits out 429s itself).
    pub async fn post_message(
        &self,
        channel: ChannelId,
        body: &serde_json::Value,
    ) -> Result<Message, CallError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CallError::Invalid(e.to_string()))?;
        let request = Request::new(
            Route::ChannelMessages {
                channel_id: channel,
            },
            LightMethod::Post,
        )
        .body(Some(bytes));
        let response = match &self.http.ratelimiter {
            Some(ratelimiter) => ratelimiter.perform(request).await?,
            None => {
                let built = request
                    .build(&self.raw, self.http.token(), self.http.proxy.as_deref())?
                    .build()
                    .map_err(|e| CallError::Transport(root_cause(&e)))?;
                self.raw
                    .execute(built)
                    .await
                    .map_err(|e| CallError::Transport(root_cause(&e)))?
            }
        };
        let status = response.status().as_u16();
        let header = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::Transport(root_cause(&e)))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| {
                CallError::Invalid(format!(
                    "Discord's answer to a message send did not parse: {e}"
                ))
            });
        }
        Err(discord_error(status, &body, header))
    }

    /// The server's name, from the cache, else from Discord.
    pub async fn server_name(&self, guild: GuildId) -> Option<String> {
        let cached = self.cache.guild(guild).map(|g| g.name.clone());
        match cached {
            Some(name) => Some(name),
            None => self.http.get_guild(guild).await.ok().map(|g| g.name),
        }
    }

    /// `123`, `<#123>`, `#name` or `name` → a channel (or thread) of `guild`. An id must belong
    /// to `guild`: a caller's variable cannot send into another server the bot is in.
    pub async fn resolve_channel(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<ChannelRef, CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<#"], ">") {
            return self.channel_of(guild, ChannelId::new(id)).await;
        }
        let wanted = reference.strip_prefix('#').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "channel {reference:?} is neither a channel id nor a #name"
            )));
        }
        let cached = self.cache.guild(guild).map(|g| {
            let channels = g.channels.values().map(|c| (c.id, c.name.clone()));
            let threads = g.threads.iter().map(|t| (t.id, t.name.clone()));
            channels.chain(threads).collect()
        });
        let fetch = || async {
            let channels = guild.channels(&self.http).await?;
            Ok(channels.into_values().map(|c| (c.id, c.name)).collect())
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok(ChannelRef {
                id,
                name: Some(name),
            }),
            None => Err(CallError::NotFound(format!(
                "no channel named #{wanted} in server {guild}"
            ))),
        }
    }

    /// The channel `id` if it is one of `guild`'s, from the cache or else from Discord.
    async fn channel_of(&self, guild: GuildId, id: ChannelId) -> Result<ChannelRef, CallError> {
        let cached = self.cache.guild(guild).and_then(|g| {
            g.channels.get(&id).map(|c| c.name.clone()).or_else(|| {
                g.threads
                    .iter()
                    .find(|t| t.id == id)
                    .map(|t| t.name.clone())
            })
        });
        if let Some(name) = cached {
            return Ok(ChannelRef {
                id,
                name: Some(name),
            });
        }
        match self.http.get_channel(id).await? {
            Channel::Guild(channel) if channel.guild_id == guild => Ok(ChannelRef {
                id,
                name: Some(channel.name),
            }),
            _ => Err(CallError::NotFound(format!(
                "channel {id} is not in server {guild}, the server this event runs in"
            ))),
        }
    }

    /// `123`, `<@&123>`, `@name` or `name` → a role of `guild`, with its name.
    pub async fn resolve_role(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<(RoleId, String), CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<@&"], ">") {
            let id = RoleId::new(id);
            let name = self
                .cache
                .guild(guild)
                .and_then(|g| g.roles.get(&id).map(|r| r.name.clone()))
                .unwrap_or_else(|| id.to_string());
            return Ok((id, name));
        }
        let wanted = reference.strip_prefix('@').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "role {reference:?} is neither a role id nor a role name"
            )));
        }
        let cached = self
            .cache
            .guild(guild)
            .map(|g| g.roles.values().map(|r| (r.id, r.name.clone())).collect());
        let fetch = || async {
            let roles = guild.roles(&self.http).await?;
            Ok(roles.into_values().map(|r| (r.id, r.name)).collect())
        };
        find_by_name(cached, fetch, wanted).await?.ok_or_else(|| {
            CallError::NotFound(format!("no role named {wanted:?} in server {guild}"))
        })
    }

    /// `123`, `<@123>`, `<@!123>`, `@name` or `name` (user name, display name or nickname of a
    /// member of `guild`) → a user.
    pub async fn resolve_user(&self, guild: GuildId, reference: &str) -> Result<UserId, CallError> {
        self.resolve_user_named(guild, reference)
            .await
            .map(|(id, _)| id)
    }

    /// As [`resolve_user`](Self::resolve_user), with the name the user goes by when the cache
    /// or the look-up told it (no extra request is made for it).
    pub async fn resolve_user_named(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<(UserId, Option<String>), CallError> {
        let reference = reference.trim();
        if let Some(id) = parse_id(reference, &["<@!", "<@"], ">") {
            let id = UserId::new(id);
            return Ok((id, self.cached_user_name(guild, id)));
        }
        let wanted = reference.strip_prefix('@').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "user {reference:?} is neither a user id nor a user name"
            )));
        }
        // The cache holds members only when the gateway sent them; otherwise Discord's member
        // search (no privileged intent needed) finds them.
        let cached = self
            .cache
            .guild(guild)
            .map(|g| g.members.values().flat_map(member_names).collect());
        let fetch = || async {
            let members = guild.search_members(&self.http, wanted, Some(100)).await?;
            Ok(members.iter().flat_map(member_names).collect())
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok((id, Some(name))),
            None => Err(CallError::NotFound(format!(
                "no member named {wanted:?} in server {guild}"
            ))),
        }
    }

    /// The name a user goes by in `guild` (nickname, display name, user name), from the cache.
    pub fn cached_user_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        if let Some(name) = self.cache.guild(guild).and_then(|g| {
            g.members
                .get(&user)
                .map(|m| m.nick.clone().unwrap_or_else(|| m.user.name.clone()))
        }) {
            return Some(name);
        }
        if user == self.bot_id {
            return Some(self.bot_name.clone());
        }
        self.cache.user(user).map(|u| u.name.clone())
    }

    /// The name a user goes by in `guild`: from the cache, else asking Discord for the member,
    /// else for the user. `None` when neither knows them (read-only look-ups only).
    pub async fn user_name(&self, guild: GuildId, user: UserId) -> Option<String> {
        if let Some(name) = self.cached_user_name(guild, user) {
            return Some(name);
        }
        if let Ok(member) = self.http.get_member(guild, user).await {
            return Some(member.nick.unwrap_or(member.user.name));
        }
        self.http.get_user(user).await.ok().map(|u| u.name)
    }

    /// `123`, `<#123>`, `#name` or `name` → a category of `guild`, with its name.
    pub async fn resolve_category(
        &self,
        guild: GuildId,
        reference: &str,
    ) -> Result<ChannelRef, CallError> {
        let reference = reference.trim();
        let categories = |channels: Vec<GuildChannel>| -> Vec<(ChannelId, String)> {
            channels
                .into_iter()
                .filter(|c| c.kind == ChannelType::Category)
                .map(|c| (c.id, c.name))
                .collect()
        };
        if let Some(id) = parse_id(reference, &["<#"], ">") {
            let id = ChannelId::new(id);
            let cached = self
                .cache
                .guild(guild)
                .and_then(|g| g.channels.get(&id).map(|c| (c.kind, c.name.clone())));
            let (kind, name) = match cached {
                Some(found) => found,
                None => match self.http.get_channel(id).await? {
                    Channel::Guild(c) if c.guild_id == guild => (c.kind, c.name),
                    _ => {
                        return Err(CallError::NotFound(format!(
                            "channel {id} is not in server {guild}, the server this event runs in"
                        )))
                    }
                },
            };
            if kind != ChannelType::Category {
                return Err(CallError::Invalid(format!(
                    "#{name} ({id}) is not a category"
                )));
            }
            return Ok(ChannelRef {
                id,
                name: Some(name),
            });
        }
        let wanted = reference.strip_prefix('#').unwrap_or(reference);
        if wanted.is_empty() {
            return Err(CallError::Invalid(format!(
                "category {reference:?} is neither a channel id nor a name"
            )));
        }
        let cached = self
            .cache
            .guild(guild)
            .map(|g| categories(g.channels.values().cloned().collect()));
        let fetch = || async {
            let channels = guild.channels(&self.http).await?;
            Ok(categories(channels.into_values().collect()))
        };
        match find_by_name(cached, fetch, wanted).await? {
            Some((id, name)) => Ok(ChannelRef {
                id,
                name: Some(name),
            }),
            None => Err(CallError::NotFound(format!(
                "no category named {wanted:?} in server {guild}"
            ))),
        }
    }

    /// What the cache says of a channel of `guild`: `Some(true)` for a thread, `Some(false)` for
    /// another channel, `None` when it does not know.
    pub fn cached_is_thread(&self, guild: GuildId, channel: ChannelId) -> Option<bool> {
        let g = self.cache.guild(guild)?;
        if g.threads.iter().any(|t| t.id == channel) {
            return Some(true);
        }
        g.channels.get(&channel).map(|c| {
            matches!(
                c.kind,
                ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
            )
        })
    }

    /// A custom emoji of `guild` by name: `(id, name, animated)`, from the cache, else Discord.
    pub async fn find_emoji(
        &self,
        guild: GuildId,
        name: &str,
    ) -> Result<(EmojiId, String, bool), CallError> {
        let cached: Option<Vec<(EmojiId, String)>> = self
            .cache
            .guild(guild)
            .map(|g| g.emojis.values().map(|e| (e.id, e.name.clone())).collect());
        let animated_in_cache = |id: EmojiId| {
            self.cache
                .guild(guild)
                .and_then(|g| g.emojis.get(&id).map(|e| e.animated))
        };
        if let Some((id, found)) = cached.and_then(|items| pick_by_name(items, name)) {
            let animated = animated_in_cache(id).unwrap_or(false);
            return Ok((id, found, animated));
        }
        let emojis = self.http.get_emojis(guild).await?;
        let items = emojis.iter().map(|e| (e.id, e.name.clone())).collect();
        match pick_by_name(items, name) {
            Some((id, found)) => {
                let animated = emojis.iter().any(|e| e.id == id && e.animated);
                Ok((id, found, animated))
            }
            None => Err(CallError::NotFound(format!(
                "no custom emoji named {name:?} in server {guild}"
            ))),
        }
    }
}

/// Every name a member answers to: user name, display name, server nickname.
fn member_names(member: &Member) -> Vec<(UserId, String)> {
    [
        Some(member.user.name.clone()),
        member.user.global_name.clone(),
        member.nick.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|name| (member.user.id, name))
    .collect()
}

/// Looks `wanted` up in what the cache knows, then in what Discord says.
async fn find_by_name<I, Fetch, Fut>(
    cached: Option<Vec<(I, String)>>,
    fetch: Fetch,
    wanted: &str,
) -> Result<Option<(I, String)>, CallError>
where
    I: Copy,
    Fetch: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<(I, String)>, serenity::Error>>,
{
    if let Some(found) = cached.and_then(|items| pick_by_name(items, wanted)) {
        return Ok(Some(found));
    }
    Ok(pick_by_name(fetch().await?, wanted))
}

/// Discord's error answer as a [`CallError`]: its code and words, and for a 429 how long to
/// wait (the body's `retry_after`, else the `Retry-After` header, in seconds).
pub fn discord_error(status: u16, body: &[u8], retry_after_header: Option<f64>) -> CallError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = json
        .get("code")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    let message = json
        .get("message")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let seconds = json
        .get("retry_after")
        .and_then(serde_json::Value::as_f64)
        .or(retry_after_header)
        .filter(|s| s.is_finite() && *s >= 0.0);
    CallError::Discord {
        status,
        code,
        message,
        retry_after_ms: seconds.map(|s| (s * 1000.0).ceil() as u64),
    }
}

/// The HTTP status of a serenity error, when Discord answered.
fn http_status(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => Some(r.status_code.as_u16()),
        _ => None,
    }
}

/// The gateway state once `done` holds, or `None` after `timeout`.
async fn wait_for_gateway(
    gateway: &watch::Receiver<GatewayState>,
    timeout: Duration,
    done: impl Fn(&GatewayState) -> bool,
) -> Option<GatewayState> {
    let mut gateway = gateway.clone();
    let state = tokio::time::timeout(timeout, gateway.wait_for(|s| done(s)))
        .await
        .ok()?
        .ok()?
        .clone();
    Some(state)
}

/// The bot's user id and name: from `GET /users/@me`, or, when Discord answers that with an
/// error other than 401 (a minimal proxy or stand-in), from the gateway's READY.
async fn learn_identity(
    http: &Http,
    gateway: &watch::Receiver<GatewayState>,
    api_url: Option<&str>,
) -> Result<(UserId, String), ConnectError> {
    let error = match http.get_current_user().await {
        Ok(me) => return Ok((me.id, me.name.clone())),
        Err(error) => error,
    };
    let reason = root_cause(&error);
    match http_status(&error) {
        Some(401) => Err(ConnectError::BadToken),
        Some(_) => {
            tracing::warn!(
                %reason,
                "GET /users/@me failed; waiting for the gateway's READY to learn the bot's id"
            );
            let ready = wait_for_gateway(gateway, IDENTITY_TIMEOUT, |s| s.identity.is_some()).await;
            ready
                .and_then(|state| state.identity)
                .ok_or_else(|| unreachable(api_url, reason))
        }
        None => Err(unreachable(api_url, reason)),
    }
}

fn unreachable(api_url: Option<&str>, reason: String) -> ConnectError {
    ConnectError::Unreachable {
        url: api_url.unwrap_or("https://discord.com").to_owned(),
        reason,
    }
}

/// The innermost error's words: serenity and reqwest repeat themselves at every layer.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// Exact name first, then the only case-insensitive match.
fn pick_by_name<I: Copy>(items: Vec<(I, String)>, wanted: &str) -> Option<(I, String)> {
    if let Some(found) = items.iter().find(|(_, name)| name == wanted) {
        return Some(found.clone());
    }
    let wanted = wanted.to_lowercase();
    let mut folded = items
        .into_iter()
        .filter(|(_, name)| name.to_lowercase() == wanted);
    let first = folded.next()?;
    folded.next().is_none().then_some(first)
}

/// A snowflake written bare or inside one of the mention forms.
fn parse_id(text: &str, prefixes: &[&str], suffix: &str) -> Option<u64> {
    let inner = prefixes
        .iter()
        .find_map(|p| {
            text.strip_prefix(p)
                .and_then(|rest| rest.strip_suffix(suffix))
        })
        .unwrap_or(text);
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok().filter(|id| *id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_mentions() {
        assert_eq!(parse_id("123", &["<#"], ">"), Some(123));
        assert_eq!(parse_id("<#123>", &["<#"], ">"), Some(123));
        assert_eq!(parse_id("<@!42>", &["<@!", "<@"], ">"), Some(42));
        assert_eq!(parse_id("<@42>", &["<@!", "<@"], ">"), Some(42));
        assert_eq!(parse_id("#general", &["<#"], ">"), None);
        assert_eq!(parse_id("0", &["<#"], ">"), None);
        assert_eq!(parse_id("99999999999999999999999", &["<#"], ">"), None);
    }

    #[test]
    fn a_429_keeps_retry_after_from_the_body_else_the_header() {
        let body =
            br#"{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}"#;
        assert_eq!(
            discord_error(429, body, Some(9.0)),
            CallError::Discord {
                status: 429,
                code: 0,
                message: "You are being rate limited.".into(),
                retry_after_ms: Some(1500),
            }
        );
        let no_body_value = discord_error(429, b"{}", Some(2.0));
        assert!(matches!(
            no_body_value,
            CallError::Discord {
                retry_after_ms: Some(2000),
                ..
            }
        ));
        let refused = discord_error(
            403,
            br#"{"code": 50013, "message": "Missing Permissions"}"#,
            None,
        );
        assert_eq!(refused.code(), "50013");
        assert!(matches!(
            discord_error(502, b"<html>bad gateway</html>", None),
            CallError::Discord {
                status: 502,
                retry_after_ms: None,
                ..
            }
        ));
    }

    #[test]
    fn names_match_exactly_then_unambiguously_ignoring_case() {
        let items = vec![
            (1, "Deploys".to_owned()),
            (2, "deploys".to_owned()),
            (3, "Ops".to_owned()),
        ];
        assert_eq!(
            pick_by_name(items.clone(), "deploys"),
            Some((2, "deploys".to_owned()))
        );
        assert_eq!(pick_by_name(items.clone(), "DEPLOYS"), None, "ambiguous");
        assert_eq!(
            pick_by_name(items.clone(), "ops"),
            Some((3, "Ops".to_owned()))
        );
        assert_eq!(pick_by_name(items, "nope"), None);
    }
}
