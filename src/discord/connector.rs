//! The background task that reaches Discord: asks who the bot is and where the gateway is
//! (again, with backoff, while Discord is down), starts the shards, identifies again when the
//! events need other intents, and, when Discord refuses a privileged intent (close code 4014),
//! learns which ones the application has and reconnects with those.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serenity::all::{Cache, EventHandler, GatewayIntents, Http, ShardManager};
use serenity::gateway::{GatewayError, PresenceData, ShardManagerOptions};
use serenity::prelude::TypeMap;
use tokio::sync::{watch, Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use super::error::{http_status, root_cause, ConnectError};
use super::intents;
use super::link::{GatewayState, Link, Reconnect};
use super::startup::reconnect_backoff;

/// One attempt (the identity and the gateway look-up) that Discord has not answered by then
/// counts as failed, so a connection that hangs cannot stall the attempts.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long asking Discord which privileged intents the application has may take after a
/// 4014; without an answer hookbot asks for no privileged intent at all.
const FLAGS_TIMEOUT: Duration = Duration::from_secs(10);

/// The shards' manager of the connection in use, replaced when hookbot identifies again.
pub(super) type SharedManager = Arc<std::sync::Mutex<Arc<ShardManager>>>;
type ShardResults = futures::channel::mpsc::UnboundedReceiver<Result<(), GatewayError>>;

/// What the background task needs to reach Discord and start the shards.
pub(super) struct Connector {
    pub http: Arc<Http>,
    pub cache: Arc<Cache>,
    pub handlers: Vec<Arc<dyn EventHandler>>,
    pub shard_manager: SharedManager,
    pub shard_results: ShardResults,
    /// The intents the events want.
    pub intents: watch::Receiver<GatewayIntents>,
    /// The privileged intents Discord refused (close code 4014) for the intents wanted now:
    /// hookbot asks without them until the events change.
    pub refused: GatewayIntents,
    pub ws_url: Arc<Mutex<String>>,
    pub state: watch::Sender<GatewayState>,
    /// Set when serenity gave up on the gateway: its shard table then still says "connected".
    pub gateway_ended: Arc<AtomicBool>,
    pub reconnect: Reconnect,
    pub api_url: Option<String>,
    pub stop: CancellationToken,
}

/// Why one attempt to reach Discord failed.
enum Attempt {
    /// Worth another attempt: Discord is down, overloaded or unreachable.
    Transient(String),
    /// No attempt can fix it.
    Fatal(ConnectError),
}

impl Connector {
    /// Reaches Discord (again and again while it is down, with [`Reconnect::UntilReached`]),
    /// starts the shards, then watches how serenity's shards end.
    pub async fn run(mut self) {
        let Some(shards) = self.reach().await else {
            return;
        };
        let mut first = true;
        loop {
            let wanted = *self.intents.borrow_and_update();
            let asked = intents::without(wanted, self.refused);
            let manager = if first {
                first = false;
                self.current()
            } else {
                // Another IDENTIFY, with other intents: a new manager (serenity fixes the
                // intents at its creation).
                let (manager, results) =
                    new_shard_manager(&self.http, &self.cache, &self.handlers, &self.ws_url, asked);
                self.shard_results = results;
                *self.shard_manager.lock().unwrap_or_else(|p| p.into_inner()) = manager.clone();
                manager
            };
            manager.set_shards(0, shards, shards).await;
            if let Err(error) = manager.initialize() {
                return self.fail(ConnectError::Client(error.to_string()));
            }
            self.state.send_modify(|s| s.link = Link::Up);
            // serenity reports here when the shards end for good: a shutdown, or Discord
            // refusing the token or the intents; a change of the events' intents ends them too.
            let ended = tokio::select! {
                ended = self.shard_results.next() => ended,
                changed = self.intents.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.refused = GatewayIntents::empty();
                    tracing::info!(intents = ?*self.intents.borrow(), "the events need other gateway intents; identifying again");
                    manager.shutdown_all().await;
                    continue;
                }
                _ = self.stop.cancelled() => return,
            };
            match ended {
                Some(Err(GatewayError::InvalidAuthentication)) => {
                    self.gateway_ended.store(true, Ordering::Relaxed);
                    return self.fail(ConnectError::BadToken);
                }
                Some(Err(GatewayError::DisallowedGatewayIntents))
                    if !intents::privileged(asked).is_empty() =>
                {
                    self.disallowed(wanted, asked).await;
                }
                Some(Err(error)) => {
                    tracing::error!(%error, "the Discord gateway connection ended");
                    self.gateway_ended.store(true, Ordering::Relaxed);
                    return;
                }
                Some(Ok(())) | None => return,
            }
        }
    }

    /// Discord closed the gateway with 4014 for `asked`: the close does not say which
    /// privileged intent it refused, so ask Discord which ones the application has
    /// (`GET /oauth2/applications/@me`, its `flags`), say which portal switch to turn on for
    /// which events, and identify again with every intent that is allowed.
    async fn disallowed(&mut self, wanted: GatewayIntents, asked: GatewayIntents) {
        let granted = match tokio::time::timeout(
            FLAGS_TIMEOUT,
            self.http.get_current_application_info(),
        )
        .await
        {
            Ok(Ok(application)) => Some(intents::granted_by_flags(
                application.flags.map_or(0, |flags| flags.bits()),
            )),
            Ok(Err(error)) => {
                tracing::warn!(reason = %root_cause(&error), "cannot ask Discord which privileged intents the application has; asking for none");
                None
            }
            Err(_) => {
                tracing::warn!(
                    "Discord did not say in time which privileged intents the application has; asking for none"
                );
                None
            }
        };
        self.refused |= intents::refused_after_4014(asked, granted);
        let switches = intents::portal_switches(self.refused).join(" and ");
        let kept = intents::without(wanted, self.refused);
        tracing::error!(
            intents = ?kept,
            "Discord refused a privileged gateway intent (close code 4014): turn on {switches} in the Discord developer portal (your application → Bot → Privileged Gateway Intents), then edit an event file or restart hookbot. Until then only the events that need it do not run; hookbot connects again with the intents the application has, so webhooks, slash commands, buttons, schedules and every other event keep working"
        );
    }

    /// The attempts to reach Discord until one succeeds: the number of shards Discord wants;
    /// `None` when hookbot stops trying (shutdown, a refused token, or [`Reconnect::Once`]).
    async fn reach(&mut self) -> Option<u32> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = tokio::select! {
                outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt()) => outcome,
                _ = self.stop.cancelled() => return None,
            };
            let reason = match outcome {
                Ok(Ok(shards)) => {
                    if attempt > 1 {
                        tracing::info!(
                            attempts = attempt,
                            "Discord answers again; delivering queued runs"
                        );
                    }
                    return Some(shards);
                }
                Ok(Err(Attempt::Fatal(error))) => {
                    self.fail(error);
                    return None;
                }
                Ok(Err(Attempt::Transient(reason))) => reason,
                Err(_) => format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
            };
            if self.reconnect == Reconnect::Once {
                let url = self.api_url.as_deref().unwrap_or("https://discord.com");
                let error = ConnectError::Unreachable {
                    url: url.to_owned(),
                    reason,
                };
                self.fail(error);
                return None;
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
                _ = self.stop.cancelled() => return None,
            }
        }
    }

    fn current(&self) -> Arc<ShardManager> {
        self.shard_manager
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
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

    fn fail(&self, error: ConnectError) {
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

/// A shards' manager asking for `intents`, reporting to `handlers`.
pub(super) fn new_shard_manager(
    http: &Arc<Http>,
    cache: &Arc<Cache>,
    handlers: &[Arc<dyn EventHandler>],
    ws_url: &Arc<Mutex<String>>,
    intents: GatewayIntents,
) -> (Arc<ShardManager>, ShardResults) {
    ShardManager::new(ShardManagerOptions {
        data: Arc::new(RwLock::new(TypeMap::new())),
        event_handlers: handlers.to_vec(),
        raw_event_handlers: Vec::new(),
        shard_index: 0,
        shard_init: 0,
        shard_total: 0,
        ws_url: ws_url.clone(),
        cache: cache.clone(),
        http: http.clone(),
        intents,
        presence: Some(PresenceData::default()),
    })
}
