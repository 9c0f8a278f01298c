//! The connected bot: reaching Discord through the `api_url` proxy (and reaching it again,
//! with backoff, while it is down), learning the bot's identity, readiness for `/readyz`, and
//! closing the shards.
//!
//! Starting never waits for Discord: [`Discord::start`] returns at once and a background task
//! asks Discord who the bot is and where the gateway is, then starts the shards. While Discord
//! cannot be reached it tries again after [`RECONNECT_FIRST`], doubling up to [`RECONNECT_CAP`];
//! only a token Discord refuses (401, or the gateway's 4004) ends the attempts, since no retry
//! can fix it. Once the shards are started, serenity keeps them connected itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Backoff;
use futures::StreamExt;
use serenity::all::{
    Cache, Context, EventHandler, GatewayIntents, GuildId, Http, HttpBuilder, Ready, ShardManager,
    UserId,
};
use serenity::async_trait;
use serenity::gateway::{GatewayError, PresenceData, ShardManagerOptions};
use serenity::http::{RatelimitInfo, Ratelimiter};
use serenity::prelude::TypeMap;
use tokio::sync::{watch, Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use super::error::{http_status, root_cause, ConnectError};
use super::pacer::Pacer;

/// Only non-privileged intents: the cache needs servers, channels and roles; users are found by
/// id or through the member search endpoint.
const INTENTS: GatewayIntents = GatewayIntents::GUILDS;
/// How long stopping the shards may take before hookbot exits anyway.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for READY when the bot's identity must come from the gateway.
const IDENTITY_TIMEOUT: Duration = Duration::from_secs(15);
/// The wait after the first failed attempt to reach Discord; each further wait is twice as long.
pub const RECONNECT_FIRST: Duration = Duration::from_secs(1);
/// No wait between two attempts to reach Discord is longer than this (before jitter).
pub const RECONNECT_CAP: Duration = Duration::from_secs(30);
/// One attempt (the identity and the gateway look-up) that Discord has not answered by then
/// counts as failed, so a connection that hangs cannot stall the attempts.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether [`Discord`] keeps trying while Discord cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// `hookbot run`: try again with backoff until Discord answers or refuses the token.
    UntilReached,
    /// One-shot commands (`hookbot event test`): the first failure is the answer.
    Once,
}

/// The connected bot: REST client, cache, and the shards' manager.
pub struct Discord {
    /// serenity's REST client: only `discord/` calls it (reads in `resolve`, writes in `write`,
    /// through the pacer).
    pub(super) http: Arc<Http>,
    /// The outbound governor every write asks first: one per bot, shared by every run, and told
    /// of serenity's own ratelimiter's waits when that is on.
    pub pacer: Arc<Pacer>,
    /// For the calls hookbot makes itself (message sends) when serenity's ratelimiter is off:
    /// it keeps Discord's whole error answer, `retry_after` included.
    pub(super) raw: reqwest::Client,
    /// What the gateway told: servers, channels, roles, members it sent.
    pub cache: Arc<Cache>,
    /// The bot's id as known before Discord answered (the token, or an earlier start).
    known_bot_id: Option<UserId>,
    shard_manager: Arc<ShardManager>,
    gateway: watch::Receiver<GatewayState>,
    /// Set when serenity gave up on the gateway (e.g. Discord closed it with 4014): its shard
    /// table then still says "connected".
    gateway_ended: Arc<AtomicBool>,
    /// Stops the attempts to reach Discord at shutdown.
    stop: CancellationToken,
}

/// How far hookbot has got in reaching Discord.
#[derive(Debug, Clone)]
enum Link {
    /// The first attempt is under way.
    Connecting,
    /// An attempt failed and another follows.
    Retrying {
        attempt: u32,
        reason: String,
        retry_in: Duration,
    },
    /// Discord answered and the shards are started; serenity keeps them connected from here.
    Up,
    /// No more attempts: Discord refused the token (or, with [`Reconnect::Once`], the one
    /// attempt failed).
    Failed(ConnectError),
}

/// What Discord has told hookbot so far.
#[derive(Debug, Clone)]
struct GatewayState {
    link: Link,
    /// The bot's user id and name, from `GET /users/@me`.
    me: Option<(UserId, String)>,
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

/// What the background task needs to reach Discord and start the shards.
struct Connector {
    http: Arc<Http>,
    shard_manager: Arc<ShardManager>,
    shard_results: futures::channel::mpsc::UnboundedReceiver<Result<(), GatewayError>>,
    ws_url: Arc<Mutex<String>>,
    state: watch::Sender<GatewayState>,
    gateway_ended: Arc<AtomicBool>,
    reconnect: Reconnect,
    api_url: Option<String>,
    stop: CancellationToken,
}

/// Why one attempt to reach Discord failed.
enum Attempt {
    /// Worth another attempt: Discord is down, overloaded or unreachable.
    Transient(String),
    /// No attempt can fix it.
    Fatal(ConnectError),
}

/// The `Authorization` value serenity's ratelimiter sends: the token with its `Bot ` prefix (as
/// serenity's `HttpBuilder` makes it).
fn bot_authorization(token: &str) -> String {
    let token = token.trim();
    if token.starts_with("Bot ") || token.starts_with("Bearer ") {
        token.to_owned()
    } else {
        format!("Bot {token}")
    }
}

impl Discord {
    /// Starts reaching Discord in the background and returns at once; see the module's text.
    /// `known_bot_id` is the bot's id when it is known without Discord (from the token or an
    /// earlier start), so webhooks can be checked before Discord answers. With `api_url` set,
    /// every request goes there and serenity's ratelimiter is off, because it would ignore the
    /// proxy and talk to discord.com directly.
    pub fn start(
        token: &str,
        api_url: Option<&str>,
        known_bot_id: Option<u64>,
        reconnect: Reconnect,
    ) -> Discord {
        let pacer = Arc::new(Pacer::new());
        let http = Arc::new(match api_url {
            Some(url) => HttpBuilder::new(token)
                .proxy(url)
                .ratelimiter_disabled(true)
                .build(),
            None => {
                // serenity's ratelimiter, told to report each wait it makes to the pacer: the
                // route is held back there too, so queued runs park instead of piling up in
                // serenity's sleep, and nothing is waited twice.
                let client = reqwest::Client::new();
                let mut ratelimiter = Ratelimiter::new(client.clone(), bot_authorization(token));
                let reports = Arc::downgrade(&pacer);
                ratelimiter.set_ratelimit_callback(Box::new(move |info: RatelimitInfo| {
                    if let Some(pacer) = reports.upgrade() {
                        let method = info.method.reqwest_method();
                        pacer.serenity_waits(
                            method.as_str(),
                            &info.path,
                            info.timeout,
                            info.global,
                        );
                    }
                }));
                HttpBuilder::new(token)
                    .client(client)
                    .ratelimiter(ratelimiter)
                    .build()
            }
        });
        let (state, gateway) = watch::channel(GatewayState {
            link: Link::Connecting,
            me: None,
            identity: None,
            cache_ready: false,
        });
        let cache = Arc::new(Cache::new());
        // The gateway's URL is filled in once Discord has said it. The shard manager is built
        // here rather than through serenity's `ClientBuilder`, whose await asks Discord for the
        // gateway at once and, when that fails, silently falls back to wss://gateway.discord.gg
        // (never the stand-in, nor a proxy).
        let ws_url = Arc::new(Mutex::new(String::new()));
        let (shard_manager, shard_results) = ShardManager::new(ShardManagerOptions {
            data: Arc::new(RwLock::new(TypeMap::new())),
            event_handlers: vec![Arc::new(GatewayHandler {
                state: state.clone(),
            })],
            raw_event_handlers: Vec::new(),
            shard_index: 0,
            shard_init: 0,
            shard_total: 0,
            ws_url: ws_url.clone(),
            cache: cache.clone(),
            http: http.clone(),
            intents: INTENTS,
            presence: Some(PresenceData::default()),
        });
        let gateway_ended = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let connector = Connector {
            http: http.clone(),
            shard_manager: shard_manager.clone(),
            shard_results,
            ws_url,
            state,
            gateway_ended: gateway_ended.clone(),
            reconnect,
            api_url: api_url.map(str::to_owned),
            stop: stop.clone(),
        };
        tokio::spawn(connector.run());
        Discord {
            http,
            pacer,
            raw: reqwest::Client::new(),
            cache,
            known_bot_id: known_bot_id.and_then(|id| (id != 0).then(|| UserId::new(id))),
            shard_manager,
            gateway,
            gateway_ended,
            stop,
        }
    }

    /// Reaches Discord once and learns the bot's identity, or says why it could not: for
    /// one-shot commands and tests, which should fail rather than wait for an outage to end.
    pub async fn connect(token: &str, api_url: Option<&str>) -> Result<Discord, ConnectError> {
        let discord = Discord::start(token, api_url, None, Reconnect::Once);
        let outcome = match discord.wait_link().await {
            Err(error) => Err(error),
            Ok(()) => {
                let ready = wait_for_gateway(&discord.gateway, IDENTITY_TIMEOUT, |s| {
                    s.me.is_some() || s.identity.is_some()
                })
                .await;
                match ready {
                    Some(_) => Ok(()),
                    None => Err(ConnectError::Unreachable {
                        url: api_url.unwrap_or("https://discord.com").to_owned(),
                        reason: "the gateway did not say READY, and GET /users/@me failed".into(),
                    }),
                }
            }
        };
        match outcome {
            Ok(()) => Ok(discord),
            Err(error) => {
                discord.shutdown().await;
                Err(error)
            }
        }
    }

    /// The bot's user id: as known at start, else as Discord said it; `None` before then.
    pub fn bot_id(&self) -> Option<u64> {
        self.known_bot_id
            .or_else(|| self.identity().map(|(id, _)| id))
            .map(UserId::get)
    }

    /// The bot's user name, once Discord has said it.
    pub fn bot_name(&self) -> Option<String> {
        self.identity().map(|(_, name)| name)
    }

    /// The bot's id and name as Discord said them (`GET /users/@me`, else READY).
    fn identity(&self) -> Option<(UserId, String)> {
        let state = self.gateway.borrow();
        state.me.clone().or_else(|| state.identity.clone())
    }

    /// Whether `user` is this bot.
    pub(super) fn is_bot(&self, user: UserId) -> bool {
        self.bot_id() == Some(user.get())
    }

    /// Waits until Discord has said who the bot is, and returns its id; or the reason it never
    /// will (the token was refused).
    pub async fn learned_bot_id(&self) -> Result<u64, ConnectError> {
        let mut gateway = self.gateway.clone();
        let state = gateway
            .wait_for(|s| {
                s.me.is_some() || s.identity.is_some() || matches!(s.link, Link::Failed(_))
            })
            .await
            .map_err(|_| ConnectError::Client("the Discord connection task stopped".into()))?;
        match (&state.me, &state.identity, &state.link) {
            (Some((id, _)), _, _) | (None, Some((id, _)), _) => Ok(id.get()),
            (None, None, Link::Failed(error)) => Err(error.clone()),
            (None, None, _) => unreachable!("wait_for returned before its condition held"),
        }
    }

    /// Waits until Discord answered and the shards are started, or for the reason it will not
    /// be (a refused token).
    pub async fn wait_link(&self) -> Result<(), ConnectError> {
        let mut gateway = self.gateway.clone();
        let state = gateway
            .wait_for(|s| matches!(s.link, Link::Up | Link::Failed(_)))
            .await
            .map_err(|_| ConnectError::Client("the Discord connection task stopped".into()))?;
        match &state.link {
            Link::Failed(error) => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// Resolves when hookbot will never reach Discord (the token was refused), with the reason;
    /// never while Discord is merely down.
    pub async fn refused(&self) -> ConnectError {
        let mut gateway = self.gateway.clone();
        let failed = gateway
            .wait_for(|s| matches!(s.link, Link::Failed(_)))
            .await
            .ok()
            .and_then(|state| match &state.link {
                Link::Failed(error) => Some(error.clone()),
                _ => None,
            });
        match failed {
            Some(error) => error,
            // The connection task is gone only when this handle is; nothing more will come.
            None => std::future::pending().await,
        }
    }

    /// Why Discord is not usable now, or `None` when READY came and every shard is connected
    /// (`/readyz`). Cheap: reads the watch and the shard manager's runner table.
    pub async fn gateway_problem(&self) -> Option<String> {
        let link = self.gateway.borrow().link.clone();
        match link {
            Link::Connecting => {
                return Some("connecting to Discord; the gateway is not connected yet".to_owned())
            }
            Link::Retrying {
                attempt,
                reason,
                retry_in,
            } => {
                return Some(format!(
                    "cannot reach Discord ({reason}); attempt {attempt} failed, trying again in {} s; webhooks are accepted and delivered once it answers",
                    retry_in.as_secs().max(1)
                ))
            }
            Link::Failed(error) => return Some(error.to_string()),
            Link::Up => {}
        }
        if self.gateway_ended.load(Ordering::Relaxed) {
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

    /// Stops the attempts to reach Discord and closes every shard's connection.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.shard_manager.shutdown_all())
            .await
            .is_err()
        {
            tracing::warn!("the Discord gateway did not close in time");
        }
    }
}

impl Drop for Discord {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Connector {
    /// Reaches Discord (again and again while it is down, with [`Reconnect::UntilReached`]),
    /// starts the shards, then watches how serenity's shards end.
    async fn run(mut self) {
        let mut attempt = 0u32;
        let shards = loop {
            attempt += 1;
            let outcome = tokio::select! {
                outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt()) => outcome,
                _ = self.stop.cancelled() => return,
            };
            let reason = match outcome {
                Ok(Ok(shards)) => break shards,
                Ok(Err(Attempt::Fatal(error))) => return self.fail(error),
                Ok(Err(Attempt::Transient(reason))) => reason,
                Err(_) => format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            };
            if self.reconnect == Reconnect::Once {
                let url = self.api_url.as_deref().unwrap_or("https://discord.com");
                let error = ConnectError::Unreachable {
                    url: url.to_owned(),
                    reason,
                };
                return self.fail(error);
            }
            let retry_in = reconnect_backoff(attempt, rand::random_range(-1.0..=1.0));
            tracing::warn!(
                attempt,
                %reason,
                retry_in_ms = retry_in.as_millis() as u64,
                "cannot reach Discord; webhooks are still accepted and wait in the queue; trying again"
            );
            self.state.send_modify(|s| {
                s.link = Link::Retrying {
                    attempt,
                    reason,
                    retry_in,
                }
            });
            tokio::select! {
                _ = tokio::time::sleep(retry_in) => {}
                _ = self.stop.cancelled() => return,
            }
        };
        self.shard_manager.set_shards(0, shards, shards).await;
        if let Err(error) = self.shard_manager.initialize() {
            return self.fail(ConnectError::Client(error.to_string()));
        }
        if attempt > 1 {
            tracing::info!(
                attempts = attempt,
                "Discord answers again; delivering queued runs"
            );
        }
        self.state.send_modify(|s| s.link = Link::Up);
        // serenity reports here when the shards end for good: a shutdown, or Discord refusing
        // the token or the intents.
        let ended = tokio::select! {
            ended = self.shard_results.next() => ended,
            _ = self.stop.cancelled() => return,
        };
        match ended {
            Some(Err(GatewayError::InvalidAuthentication)) => {
                self.gateway_ended.store(true, Ordering::Relaxed);
                self.fail(ConnectError::BadToken);
            }
            Some(Err(error)) => {
                tracing::error!(%error, "the Discord gateway connection ended");
                self.gateway_ended.store(true, Ordering::Relaxed);
            }
            Some(Ok(())) | None => {}
        }
    }

    /// One attempt: who the bot is (`GET /users/@me`) and where the gateway is and how many
    /// shards it wants (`GET /gateway/bot`).
    async fn attempt(&self) -> Result<u32, Attempt> {
        if self.state.borrow().me.is_none() {
            match self.http.get_current_user().await {
                Ok(me) => self
                    .state
                    .send_modify(|s| s.me = Some((me.id, me.name.clone()))),
                // A minimal proxy or stand-in may not serve it: READY says who the bot is.
                Err(error) if !is_outage(&error) && http_status(&error) != Some(401) => {
                    tracing::warn!(
                        reason = %root_cause(&error),
                        "GET /users/@me failed; the gateway's READY will say the bot's id"
                    );
                }
                Err(error) => return Err(classify("GET /users/@me", &error)),
            }
        }
        let gateway = self
            .http
            .get_bot_gateway()
            .await
            .map_err(|error| classify("GET /gateway/bot", &error))?;
        *self.ws_url.lock().await = gateway.url;
        Ok(gateway.shards.max(1))
    }

    fn fail(self, error: ConnectError) {
        tracing::error!(%error, "giving up on Discord");
        self.state.send_modify(|s| s.link = Link::Failed(error));
    }
}

/// What a failed call says about reaching Discord: a refused token (401) is fatal, since no
/// retry can fix it; anything else (a 5xx, a 429, no answer, even another 4xx from a proxy
/// being set up) is worth another attempt, and `/readyz` shows it meanwhile.
fn classify(call: &str, error: &serenity::Error) -> Attempt {
    match http_status(error) {
        Some(401) => Attempt::Fatal(ConnectError::BadToken),
        Some(status) => {
            Attempt::Transient(format!("{call} answered {status}: {}", root_cause(error)))
        }
        None => Attempt::Transient(format!("{call}: {}", root_cause(error))),
    }
}

/// Whether a failed call looks like Discord being down rather than refusing the request: a
/// 5xx, a 429, or no answer at all.
fn is_outage(error: &serenity::Error) -> bool {
    match http_status(error) {
        Some(status) => status == 429 || status >= 500,
        None => true,
    }
}

/// The wait before attempt `attempt + 1`: [`RECONNECT_FIRST`] doubled for each failed attempt,
/// at most [`RECONNECT_CAP`], moved by up to a fifth either way (`jitter` from -1 to 1) so many
/// bots do not all come back at the same instant after an outage.
pub fn reconnect_backoff(attempt: u32, jitter: f64) -> Duration {
    Backoff {
        first: RECONNECT_FIRST,
        cap: RECONNECT_CAP,
    }
    .wait(attempt, jitter)
}

/// The bot's user id read from its token, whose first part is the id in base64; `None` for a
/// token of another shape (a stand-in's).
pub fn bot_id_from_token(token: &str) -> Option<u64> {
    use base64::Engine;
    let first = token.trim().trim_start_matches("Bot ").split('.').next()?;
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(first.trim_end_matches('='))
        .ok()?;
    std::str::from_utf8(&decoded)
        .ok()?
        .parse()
        .ok()
        .filter(|id| *id != 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_id_comes_from_the_token() {
        // "123456789012345678" in base64, as Discord puts it in front of a token.
        let token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz";
        assert_eq!(bot_id_from_token(token), Some(123456789012345678));
        assert_eq!(
            bot_id_from_token(&format!("Bot {token}")),
            Some(123456789012345678)
        );
        assert_eq!(bot_id_from_token("not a token"), None);
        assert_eq!(bot_id_from_token("test-token"), None);
    }

    #[test]
    fn reconnecting_backs_off_to_a_cap() {
        assert_eq!(reconnect_backoff(1, 0.0), RECONNECT_FIRST);
        assert_eq!(reconnect_backoff(2, 0.0), RECONNECT_FIRST * 2);
        assert_eq!(reconnect_backoff(100, 0.0), RECONNECT_CAP);
        assert_eq!(reconnect_backoff(u32::MAX, 1.0), RECONNECT_CAP.mul_f64(1.2));
        assert_eq!(reconnect_backoff(1, -1.0), RECONNECT_FIRST.mul_f64(0.8));
    }
}
