//! The connected bot's handle: the REST client through the `api_url` proxy, the cache, the
//! bot's identity, readiness for `/readyz`, the intents asked for, and closing the shards.
//!
//! Starting never waits for Discord: [`Discord::start`] returns at once and a background task
//! (`connector`) asks Discord who the bot is and where the gateway is, then starts the shards.
//! While Discord cannot be reached it tries again with backoff (`startup`); only a token
//! Discord refuses (401, or the gateway's 4004) ends the attempts, since no retry can fix it.
//! Once the shards are started, serenity keeps them connected itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{Cache, EventHandler, GatewayIntents, Http, HttpBuilder, ShardManager, UserId};
use serenity::http::{RatelimitInfo, Ratelimiter};
use tokio::sync::mpsc;
use tokio::sync::{watch, Mutex};
use tokio_util::sync::CancellationToken;

use super::connector::{new_shard_manager, Connector, SharedManager};
use super::error::ConnectError;
use super::events::{DiscordEvent, Forwarder};
use super::link::{wait_for_gateway, GatewayHandler, GatewayState, Link, Reconnect};
use super::pacer::Pacer;

/// Without events to report, only servers: the cache needs servers, channels and roles; users
/// are found by id or through the member search endpoint.
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
    /// The shards' manager of the connection in use: replaced when hookbot identifies again
    /// with other intents.
    shard_manager: SharedManager,
    /// The intents the loaded events need; a change makes the connector identify again.
    intents: watch::Sender<GatewayIntents>,
    gateway: watch::Receiver<GatewayState>,
    /// Set when serenity gave up on the gateway (e.g. Discord closed it with 4014): its shard
    /// table then still says "connected".
    gateway_ended: Arc<AtomicBool>,
    /// Stops the attempts to reach Discord at shutdown.
    stop: CancellationToken,
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
        Self::start_listening(token, api_url, known_bot_id, reconnect, INTENTS, None)
    }

    /// [`start`](Self::start), asking Discord for `intents` and reporting what happens in the
    /// servers (messages, members, reactions, interactions) to `events`.
    pub fn start_listening(
        token: &str,
        api_url: Option<&str>,
        known_bot_id: Option<u64>,
        reconnect: Reconnect,
        wanted: GatewayIntents,
        events: Option<mpsc::Sender<DiscordEvent>>,
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
        let (state, gateway) = watch::channel(GatewayState::connecting());
        let cache = Arc::new(Cache::new());
        // The gateway's URL is filled in once Discord has said it. The shard manager is built
        // here rather than through serenity's `ClientBuilder`, whose await asks Discord for the
        // gateway at once and, when that fails, silently falls back to wss://gateway.discord.gg
        // (never the stand-in, nor a proxy).
        let ws_url = Arc::new(Mutex::new(String::new()));
        let mut handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::new(GatewayHandler {
            state: state.clone(),
        })];
        if let Some(events) = events {
            handlers.push(Arc::new(Forwarder::new(events)));
        }
        let (intents, intents_rx) = watch::channel(wanted);
        let (manager, shard_results) = new_shard_manager(&http, &cache, &handlers, &ws_url, wanted);
        let shard_manager = Arc::new(std::sync::Mutex::new(manager));
        let gateway_ended = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let connector = Connector {
            http: http.clone(),
            cache: cache.clone(),
            handlers,
            shard_manager: shard_manager.clone(),
            shard_results,
            intents: intents_rx,
            refused: GatewayIntents::empty(),
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
            intents,
            gateway,
            gateway_ended,
            stop,
        }
    }

    /// Asks Discord for `wanted` from now on: when it differs from the intents in use, the
    /// gateway connection is closed and hookbot identifies again with them (a privileged intent
    /// Discord refused before is asked for again).
    pub fn set_intents(&self, wanted: GatewayIntents) {
        self.intents.send_if_modified(|current| {
            let changed = *current != wanted;
            *current = wanted;
            changed
        });
    }

    /// The shards' manager of the connection in use.
    fn shards(&self) -> Arc<ShardManager> {
        self.shard_manager
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
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
        let shards = self.shards();
        let runners = shards.runners.lock().await;
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
        if tokio::time::timeout(SHUTDOWN_TIMEOUT, self.shards().shutdown_all())
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
