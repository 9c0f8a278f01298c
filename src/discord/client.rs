//! The connected bot: starting the gateway through the `api_url` proxy, learning the bot's
//! identity, readiness for `/readyz`, and closing the shards.

use std::sync::Arc;
use std::time::Duration;

use serenity::all::{
    Cache, ClientBuilder, Context, EventHandler, GatewayIntents, GuildId, Http, HttpBuilder, Ready,
    ShardManager, UserId,
};
use serenity::async_trait;
use tokio::sync::watch;

use super::error::{http_status, root_cause, ConnectError};

/// Only non-privileged intents: the cache needs servers, channels and roles; users are found by
/// id or through the member search endpoint.
const INTENTS: GatewayIntents = GatewayIntents::GUILDS;
/// How long stopping the shards may take before hookbot exits anyway.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for READY when the bot's identity must come from the gateway.
const IDENTITY_TIMEOUT: Duration = Duration::from_secs(15);

/// The connected bot: REST client, cache, and the shards' manager.
pub struct Discord {
    /// serenity's REST client: only `discord/` calls it (reads in `resolve`, writes in `write`,
    /// through the pacer).
    pub(super) http: Arc<Http>,
    /// For the calls hookbot makes itself (message sends) when serenity's ratelimiter is off:
    /// it keeps Discord's whole error answer, `retry_after` included.
    pub(super) raw: reqwest::Client,
    /// What the gateway told: servers, channels, roles, members it sent.
    pub cache: Arc<Cache>,
    pub(super) bot_id: UserId,
    pub(super) bot_name: String,
    shard_manager: Arc<ShardManager>,
    gateway: watch::Receiver<GatewayState>,
    /// Set when serenity gave up on the gateway (e.g. Discord closed it with 4004): its shard
    /// table then still says "connected".
    gateway_ended: Arc<std::sync::atomic::AtomicBool>,
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
