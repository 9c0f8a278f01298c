//! Leading: what only one instance at a time may do (hold the Discord gateway, carry out runs,
//! fire schedules, keep the bot's id), started while this instance holds the store's [`Lease`] and stopped at
//! once when it loses it, so two instances never act together (CONTRACT §8).
//!
//! With an embedded store the process leads from start to stop and nothing here waits. With a
//! shared one, [`Leader::start`] waits for the lease in the background; the webhook listener,
//! the admin commands and the events watcher serve on every instance meanwhile. The leader hears
//! of runs queued on other instances through the store's change feed, and looks at the queue
//! every [`SAFETY_POLL`] in case a notification was lost.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::config::DeliveryConfig;
use crate::discord::{self, ConnectError, Discord};
use crate::engine::{Change, Lease, Store, StoreError};
use crate::executor;
use crate::executor::http_request::Destination;
use crate::gateway_runs;
use crate::metrics::LEADER;
use crate::queue::Queue;
use crate::triggers::schedule;

/// How often a leader looks at the queue without being told: the safety net under the change
/// feed. A run whose notification was lost waits at most this long.
pub const SAFETY_POLL: Duration = Duration::from_secs(5);

/// What the leader's duties need, kept to start them again at each new lease.
#[derive(Clone)]
pub struct DutiesConfig {
    pub store: Store,
    pub queue: Queue,
    pub token: String,
    /// The Discord base URL (`discord.api_url`, or the sandbox's stand-in).
    pub api_url: Option<String>,
    /// The bot's id when known before Discord answers.
    pub known_bot_id: Option<u64>,
    pub delivery: DeliveryConfig,
    pub http_destination: Destination,
    /// A sandbox never keeps the bot's id in its database.
    pub sandbox: bool,
    /// The gateway intents the loaded events need at start; the sync task asks for others
    /// (identifying again) when a reload needs them.
    pub intents: serenity::all::GatewayIntents,
}

/// Whether this instance leads, and its Discord connection while it does; cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    current: watch::Receiver<Option<Arc<Discord>>>,
    refused: watch::Receiver<Option<ConnectError>>,
}

impl Leadership {
    /// The Discord connection, while this instance leads.
    pub fn discord(&self) -> Option<Arc<Discord>> {
        self.current.borrow().clone()
    }

    pub fn is_leading(&self) -> bool {
        self.current.borrow().is_some()
    }

    /// Completes with the Discord connection once this instance leads.
    pub async fn leading(&self) -> Option<Arc<Discord>> {
        let mut current = self.current.clone();
        let leading = current.wait_for(Option::is_some).await.ok()?;
        leading.clone()
    }

    /// Completes when Discord refused the token: no retry and no other instance can fix that.
    pub async fn refused(&self) -> ConnectError {
        let mut refused = self.refused.clone();
        let error = match refused.wait_for(Option::is_some).await {
            Ok(error) => error.clone(),
            Err(_) => None,
        };
        match error {
            Some(error) => error,
            // The leader task is gone: it never reports again.
            None => std::future::pending().await,
        }
    }
}

/// The task that holds (or waits for) the lease and runs the duties under it.
pub struct Leader {
    pub leadership: Leadership,
    task: JoinHandle<()>,
}

impl Leader {
    /// Starts leading, at once when the store is not shared (so the gateway and the executor are
    /// up when this returns), else in the background once the lease is won.
    pub async fn start(
        config: DutiesConfig,
        shutdown: CancellationToken,
    ) -> Result<Leader, StoreError> {
        let (current_tx, current) = watch::channel(None);
        let (refused_tx, refused) = watch::channel(None);
        metrics::gauge!(LEADER).set(0.0);
        let first = match config.store.is_shared() {
            false => Some(config.store.lead().await?),
            true => None,
        };
        let first = first.map(|lease| (lease, Duties::start(&config, &shutdown, &current_tx)));
        let task = tokio::spawn(lead_until_shutdown(
            config, first, shutdown, current_tx, refused_tx,
        ));
        Ok(Leader {
            leadership: Leadership { current, refused },
            task,
        })
    }

    /// Waits until the duties have stopped (after the shutdown token was cancelled): runs in
    /// progress drained, the gateway closed, the lease handed over.
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Leads whenever the lease can be had, until `shutdown`.
async fn lead_until_shutdown(
    config: DutiesConfig,
    mut first: Option<(Lease, Duties)>,
    shutdown: CancellationToken,
    current: watch::Sender<Option<Arc<Discord>>>,
    refused: watch::Sender<Option<ConnectError>>,
) {
    let shared = config.store.is_shared();
    // Subscribed for the whole life of the process, so no run queued between two leases is
    // missed: the executor looks at the whole queue when it starts anyway.
    let mut changes = Some(config.store.changes());
    loop {
        let (lease, duties) = match first.take() {
            Some(held) => held,
            None => {
                tracing::info!("following: another instance leads; waiting to take over");
                let lease = tokio::select! {
                    lease = wait_for_lease(&config.store) => lease,
                    _ = shutdown.cancelled() => return,
                };
                let duties = Duties::start(&config, &shutdown, &current);
                (lease, duties)
            }
        };
        let mut poll = tokio::time::interval(SAFETY_POLL);
        poll.tick().await;
        let ended = loop {
            tokio::select! {
                _ = lease.lost() => break Ended::Lost,
                _ = shutdown.cancelled() => break Ended::Shutdown,
                error = duties.discord.refused() => break Ended::Refused(error),
                change = next_change(&mut changes) => match change {
                    Ok(Change::RunsQueued | Change::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        config.queue.wake()
                    }
                    Ok(Change::Definitions | Change::Settings | Change::RunFinished(_)) => {}
                    // An embedded store's feed: nobody else queues runs.
                    Err(broadcast::error::RecvError::Closed) => changes = None,
                },
                _ = poll.tick(), if shared => config.queue.wake(),
            }
        };
        current.send_replace(None);
        metrics::gauge!(LEADER).set(0.0);
        match ended {
            Ended::Lost => {
                tracing::error!("lost the lead (the database connection holding it is gone): the gateway and the runs in progress stop now; they resume on the instance that takes over");
                duties.abandon().await;
                drop(lease);
            }
            Ended::Shutdown => {
                duties.stop().await;
                // Dropped last: a follower takes over only once this instance has let go.
                drop(lease);
                tracing::info!("handed over the lead");
                return;
            }
            Ended::Refused(error) => {
                tracing::error!(%error, "Discord refused the token; stopping");
                refused.send_replace(Some(error));
                // `server::run` stops the process; until then nothing more is tried.
                shutdown.cancelled().await;
                duties.stop().await;
                drop(lease);
                return;
            }
        }
    }
}

/// The next change, or never once the feed is closed.
async fn next_change(
    changes: &mut Option<broadcast::Receiver<Change>>,
) -> Result<Change, broadcast::error::RecvError> {
    match changes {
        Some(changes) => changes.recv().await,
        None => std::future::pending().await,
    }
}

/// Tries for the lease until it is won; a store error is logged and tried again.
async fn wait_for_lease(store: &Store) -> Lease {
    let backoff = Backoff {
        first: Duration::from_secs(1),
        cap: Duration::from_secs(10),
    };
    let mut attempt = 0;
    loop {
        match store.lead().await {
            Ok(lease) => return lease,
            Err(error) => {
                attempt += 1;
                let wait = backoff.wait(attempt, rand::random_range(-1.0..=1.0));
                tracing::warn!(%error, retry_in = ?wait, "cannot ask the database who leads");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

enum Ended {
    Lost,
    Shutdown,
    Refused(ConnectError),
}

/// The leader's work while it holds a lease.
struct Duties {
    discord: Arc<Discord>,
    /// Cancelled to stop the executor (a child of the process's shutdown token).
    stop: CancellationToken,
    executor: JoinHandle<()>,
    remember_bot_id: JoinHandle<()>,
    /// Starts the runs Discord's events and interactions trigger.
    gateway_runs: JoinHandle<()>,
    /// Keeps the gateway intents and the slash commands as the events want them.
    discord_sync: JoinHandle<()>,
    /// Fires `schedule` events at their due times. Only the leader fires, so three instances
    /// make one run per due time; a due time fired just before a takeover is recognised by its
    /// idempotency key when the new leader fires it again.
    schedules: JoinHandle<()>,
}

impl Duties {
    fn start(
        config: &DutiesConfig,
        shutdown: &CancellationToken,
        current: &watch::Sender<Option<Arc<Discord>>>,
    ) -> Duties {
        tracing::info!("leading: connecting to the Discord gateway and carrying out runs");
        // What Discord reports in the servers goes to the run starter.
        let (discord_events, discord_events_rx) = tokio::sync::mpsc::channel(discord::EVENT_QUEUE);
        let discord = Arc::new(Discord::start_listening(
            &config.token,
            config.api_url.as_deref(),
            config.known_bot_id,
            discord::Reconnect::UntilReached,
            config.intents,
            Some(discord_events),
        ));
        let stop = shutdown.child_token();
        // Claims made under an earlier lease were abandoned with their tasks.
        config.queue.forget_claims();
        let executor = tokio::spawn(executor::run_executor(
            config.store.clone(),
            config.queue.clone(),
            discord.clone(),
            stop.clone(),
            config.delivery.clone(),
            config.http_destination.clone(),
        ));
        let remember_bot_id = tokio::spawn(remember_bot_id(
            discord.clone(),
            config.store.clone(),
            config.known_bot_id,
            config.sandbox,
        ));
        let gateway_runs = tokio::spawn(gateway_runs::start_runs_until_shutdown(
            gateway_runs::Starter {
                store: config.store.clone(),
                queue: config.queue.clone(),
                discord: discord.clone(),
            },
            discord_events_rx,
            stop.clone(),
        ));
        let discord_sync = tokio::spawn(gateway_runs::sync_until_shutdown(
            config.store.clone(),
            discord.clone(),
            stop.clone(),
        ));
        let schedules = tokio::spawn(schedule::run_schedules(
            schedule::Stored {
                store: config.store.clone(),
                queue: config.queue.clone(),
            },
            Arc::new(schedule::SystemClock),
            schedule::Tuning::default(),
            stop.clone(),
        ));
        current.send_replace(Some(discord.clone()));
        metrics::gauge!(LEADER).set(1.0);
        Duties {
            discord,
            stop,
            executor,
            remember_bot_id,
            gateway_runs,
            discord_sync,
            schedules,
        }
    }

    /// A graceful stop: the executor drains (up to [`executor::DRAIN_TIMEOUT`]), then the
    /// gateway closes.
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.executor.await;
        let _ = self.gateway_runs.await;
        let _ = self.discord_sync.await;
        let _ = self.schedules.await;
        self.remember_bot_id.abort();
        let _ = self.remember_bot_id.await;
        self.discord.shutdown().await;
    }

    /// Leadership is lost: another instance may already act, so nothing is drained. Runs in
    /// progress are dropped where they are; their journals let the new leader resume them, and
    /// a message send repeated there carries the same nonce.
    async fn abandon(self) {
        self.stop.cancel();
        self.executor.abort();
        let _ = self.executor.await;
        self.gateway_runs.abort();
        self.discord_sync.abort();
        self.schedules.abort();
        let _ = self.gateway_runs.await;
        let _ = self.discord_sync.await;
        let _ = self.schedules.await;
        self.remember_bot_id.abort();
        let _ = self.remember_bot_id.await;
        self.discord.shutdown().await;
    }
}

/// Keeps the bot's id Discord says in the store, for the next start (which may come while
/// Discord is down) and for the CLI's URLs; warns if it is not the id the webhook URLs use.
async fn remember_bot_id(discord: Arc<Discord>, store: Store, used: Option<u64>, sandbox: bool) {
    let Ok(id) = discord.learned_bot_id().await else {
        // `server::run` reports a refused token.
        return;
    };
    if let Some(used) = used.filter(|used| *used != id) {
        tracing::warn!(
            discord_says = id,
            used,
            "Discord says the bot's id is not the one its webhook URLs use until a restart"
        );
    }
    if sandbox {
        return;
    }
    if let Err(error) = store.set_bot_id(id).await {
        tracing::warn!(%error, "cannot keep the bot's id in the database");
    }
}
