//! The process's life: [`start`] opens the store, loads the events, binds the listeners, starts
//! reaching Discord and starts every task; [`Running::stop`] ends them in order; [`run`] is the
//! two around a shutdown signal (or Discord refusing the token).
//!
//! Start does not wait for Discord: the bot's id comes from the token or from an earlier start,
//! so webhooks are accepted (durably, as always) while Discord is down, and the executor takes
//! the queued runs once it answers. Only when neither knows the id (a first start with a token
//! that does not carry it, which only stand-ins and proxies use) does start wait for Discord.
//!
//! Shutdown is a path of its own, not an afterthought: one [`CancellationToken`] reaches every
//! task, and `stop` waits for each in the order that loses nothing (listeners first, so no new
//! run is accepted; then the executor, which drains; the store is flushed last).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use discord_stand_in::Sandbox;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::discord::Discord;
use crate::engine::{Store, StoreError};
use crate::events::{Event, LoadedEvents};
use crate::executor::http_request::Destination;
use crate::http::{self, webhook, AppState, Limits, Probe, Serving};
use crate::leader::{DutiesConfig, Leader, Leadership};
use crate::queue::Queue;
use crate::{admin, discord, keys, metrics, reload, retention, sandbox_control, sandbox_world};

/// How often a follower that does not know the bot's id looks for it in the store.
const BOT_ID_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Why hookbot could not start, or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no Discord token: set discord.token in the config file or HOOKBOT_DISCORD_TOKEN, or try `hookbot run --sandbox`")]
    NoToken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Discord(#[from] discord::ConnectError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the sandbox's Discord stand-in: {0}")]
    Sandbox(std::io::Error),
}

/// Runs hookbot until `shutdown` completes, then stops it gracefully, unless `now` completes
/// first (a second signal): then it flushes the store and returns at once, leaving runs in
/// progress queued for the next start. A token Discord refuses ends it too, with that error:
/// no retry can fix it.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    now: impl Future<Output = ()>,
) -> Result<(), StartError> {
    tokio::pin!(shutdown);
    // A start that waits for Discord to say the bot's id still ends at a signal.
    let running = tokio::select! {
        started = start(config) => started?,
        _ = &mut shutdown => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    if let Some(banner) = &running.banner {
        println!("{banner}");
    }
    let leadership = running.leadership.clone();
    let outcome = tokio::select! {
        _ = &mut shutdown => Ok(()),
        refused = leadership.refused() => Err(StartError::Discord(refused)),
    };
    drop(leadership);
    tracing::info!("shutting down; a second SIGINT or SIGTERM stops at once");
    let store = running.store.clone();
    tokio::select! {
        () = running.stop() => {}
        () = now => {
            // Every accepted run is already durable; what a run in progress has not journaled
            // is done again from its last recorded step at the next start.
            tracing::warn!("stopping at once; runs in progress stay queued and resume on the next start");
            if let Err(error) = store.flush().await {
                tracing::error!(%error, "could not flush the database");
            }
        }
    }
    outcome
}

/// A started hookbot: where it listens, what it holds, and the tasks [`Running::stop`] ends.
pub struct Running {
    /// The webhook listener's bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served when `http.metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the web console is served (`http.console_listen`, or loopback with `--sandbox`).
    pub console_addr: Option<SocketAddr>,
    /// The bot's Discord user id, the first segment of every webhook URL.
    pub bot_id: u64,
    /// A key made at this start (the first start, or every sandbox start), shown once.
    pub new_api_key: Option<String>,
    /// What to print on stdout for a person: URLs, the new key, an example `curl`.
    pub banner: Option<String>,
    /// The database every task shares; flushed last at stop.
    pub store: Store,
    /// Whether this instance leads, and its connection to Discord (or to the stand-in) while
    /// it does; the gateway is closed at stop.
    pub leadership: Leadership,
    /// The stand-in, when running with `--sandbox`; shut down after everything that calls it.
    pub sandbox: Option<Sandbox>,
    /// The database's path, beside which the sandbox's control file lies.
    database_path: std::path::PathBuf,
    /// The local admin socket, when it could be served.
    pub admin: Option<admin::server::AdminServer>,
    /// Cancelled once to stop every task below (and the listeners and the admin socket).
    shutdown: CancellationToken,
    /// The webhook listener and, with `http.metrics_listen`, the operator's.
    http: Serving,
    /// The gateway and the executor, while this instance leads; drains the runs in progress
    /// and hands the lead over when cancelled.
    leader: Leader,
    /// Prunes old runs and idempotency keys every [`retention::PRUNE_INTERVAL`].
    retention: JoinHandle<()>,
    /// Reloads the events folder when a file changes.
    watcher: JoinHandle<()>,
}

/// Starts everything and returns once the listeners are bound.
pub async fn start(config: Config) -> Result<Running, StartError> {
    // Checked before anything is opened; `None` means the sandbox plays Discord.
    let real_token = if config.sandbox {
        None
    } else {
        Some(config.discord.token.clone().ok_or(StartError::NoToken)?)
    };
    // Installed before anything is counted.
    metrics::prometheus();
    let store = Store::open_at(&config.store_location()).await?;
    let folder_watch = reload::FolderWatch::start(config.events.dir.clone());
    let loaded = load_events(&config, &store).await?;
    // Before anything holds descriptors: the connection cap is fitted to the limit in force.
    let descriptors = http::listener::raise_descriptor_limit();
    // Bound before Discord is asked anything, so a taken port fails at once; connections wait
    // in the backlog until the listener serves.
    let (listener, addr) = bind(config.http.listen).await?;
    let operator_listener = match config.http.metrics_listen {
        None => None,
        Some(wanted) => Some(bind(wanted).await?),
    };
    let console_listener = bind_console(&config).await?;

    let (sandbox, token, api_url) = match real_token {
        Some(token) => (None, token, config.discord.api_url.clone()),
        None => {
            let stand_in = Sandbox::start(
                sandbox_world::fixture_for(&loaded.events),
                sandbox_world::SANDBOX_TOKEN,
            )
            .await
            .map_err(StartError::Sandbox)?;
            let url = stand_in.api_url();
            tracing::info!(url = %url, "sandbox: a local Discord stand-in is serving this bot");
            let control = sandbox_control::ControlFile {
                control_url: stand_in.control_url(),
                token: sandbox_world::SANDBOX_TOKEN.to_owned(),
            };
            if let Err(error) = sandbox_control::write(&config.database_path(), &control) {
                tracing::warn!(%error, "cannot write the sandbox's control file: `hookbot sandbox …` will not find this sandbox");
            }
            (
                Some(stand_in),
                sandbox_world::SANDBOX_TOKEN.to_owned(),
                Some(url),
            )
        }
    };

    // Known without Discord: the token carries it, else an earlier start kept it. A sandbox's
    // stand-in answers at once, and its database never keeps the id.
    let known_bot_id = match config.sandbox {
        true => None,
        false => match discord::bot_id_from_token(&token) {
            Some(id) => Some(id),
            None => store.bot_id().await?,
        },
    };

    // In the sandbox, `http_request` goes to the stand-in's echo unless the config opts in: the
    // banner promises that nothing leaves the machine.
    let http_destination = match &sandbox {
        Some(stand_in) if !config.sandbox_options.real_http => {
            Destination::Echo(stand_in.echo_url())
        }
        _ => Destination::Network,
    };
    let shutdown = CancellationToken::new();
    // A start that fails from here on stops what it started (the leader above all).
    let started = shutdown.clone().drop_guard();
    let queue = Queue::new(store.clone(), config.delivery.max_pending_runs);
    let leader = Leader::start(
        DutiesConfig {
            store: store.clone(),
            queue: queue.clone(),
            token,
            api_url,
            known_bot_id,
            delivery: config.delivery.clone(),
            http_destination: http_destination.clone(),
            sandbox: config.sandbox,
            // The gateway asks for the intents the loaded events need (and identifies again
            // when a reload needs others).
            intents: discord::intents_for(
                loaded
                    .events
                    .iter()
                    .filter(|event| event.enabled)
                    .map(|event| event.trigger.kind()),
            ),
        },
        shutdown.clone(),
    )
    .await?;
    let leadership = leader.leadership.clone();
    let bot_id = match known_bot_id {
        Some(id) => id,
        None => learn_bot_id(&leadership, &store).await?,
    };
    // Made once everything else is up, so a start that fails never eats a key nobody saw.
    let first_key = FirstKey::make(&config, &store).await?;
    let new_api_key = match &first_key {
        FirstKey::Made(key) => Some(key.clone()),
        FirstKey::Existing | FirstKey::MadeElsewhere => None,
    };
    let state = AppState::new(
        store.clone(),
        bot_id,
        config.http.max_body_bytes,
        config.limits.per_event_per_minute,
        queue.clone(),
    )
    .trusting_proxies(config.http.trusted_proxies.clone());
    let retention = tokio::spawn(retention::prune_until_shutdown(
        store.clone(),
        config.storage.keep_runs_for,
        config.storage.keep_runs,
        shutdown.clone(),
    ));
    let watcher = tokio::spawn(folder_watch.run(store.clone(), shutdown.clone()));
    let probe = Probe {
        store: store.clone(),
        leadership: leadership.clone(),
    };
    let metrics_addr = operator_listener.as_ref().map(|(_, addr)| *addr);
    if let Some(operator_addr) = metrics_addr {
        tracing::info!(listen = %operator_addr, "health and metrics listener ready");
    }
    let limits = Limits {
        max_connections: config.http.max_connections,
        header_read_timeout: config.http.header_read_timeout,
        idle_timeout: config.http.idle_timeout,
    }
    .within_descriptors(descriptors, operator_listener.is_some());
    let mut http = http::serve(
        listener,
        operator_listener.map(|(listener, _)| listener),
        state,
        probe,
        limits,
        shutdown.clone(),
    );
    let base_url = config.public_base_url(addr);
    let console_addr = console_listener.as_ref().map(|(_, addr)| *addr);
    if let Some((console_listener, console_addr)) = console_listener {
        let console = http::console::ConsoleState {
            store: store.clone(),
            queue: queue.clone(),
            leadership: leadership.clone(),
            bot_id,
            base_url: base_url.clone(),
            http_destination: http_destination.clone(),
            sandbox: sandbox.as_ref().map(|stand_in| {
                http::console::SandboxLink::new(sandbox_control::ControlFile {
                    control_url: stand_in.control_url(),
                    token: sandbox_world::SANDBOX_TOKEN.to_owned(),
                })
            }),
            auth: Arc::new(http::console::Auth::new(
                config.sandbox,
                config
                    .http
                    .public_url
                    .as_deref()
                    .is_some_and(|url| url.starts_with("https://")),
            )),
            trusted_proxies: config.http.trusted_proxies.clone(),
        };
        http.serve_console(console_listener, console, limits, shutdown.clone());
        tracing::info!(url = %console_url(console_addr), "console ready");
    }
    tracing::info!(listen = %addr, bot_id, "webhook listener ready");
    // The admin commands reach this process through it while it holds the database.
    let admin_path = admin::protocol::socket_path(&config.database_path());
    let admin_state = admin::server::AdminState {
        store: store.clone(),
        queue: queue.clone(),
        bot_id,
        base_url: base_url.clone(),
    };
    let admin = match admin::server::serve(&admin_path, admin_state, shutdown.clone()).await {
        Ok(server) => {
            tracing::info!(socket = %admin_path.display(), "admin socket ready");
            Some(server)
        }
        Err(error) => {
            tracing::warn!(socket = %admin_path.display(), %error, "no admin socket: admin commands need hookbot stopped");
            None
        }
    };
    let banner = match first_key {
        FirstKey::MadeElsewhere => Some(MADE_ELSEWHERE.to_owned()),
        _ => banner(
            &config,
            &base_url,
            bot_id,
            new_api_key.as_deref(),
            console_addr,
            &loaded.events,
        ),
    };

    started.disarm();
    Ok(Running {
        addr,
        metrics_addr,
        console_addr,
        bot_id,
        new_api_key,
        banner,
        store,
        leadership,
        sandbox,
        database_path: config.database_path(),
        admin,
        shutdown,
        http,
        leader,
        retention,
        watcher,
    })
}

/// What a start on a database without an API key prints instead of the key when another
/// instance, started at the same moment on the same database, made it first.
pub const MADE_ELSEWHERE: &str = "another hookbot instance sharing this database made the API key at the same moment and printed it in its own output (shown only there, once); `hookbot key rotate` on any machine with this config makes a new one";

/// The API key at this start: made here (shown once), made by another instance that started at
/// the same moment on the same empty database, or made before.
enum FirstKey {
    Made(String),
    MadeElsewhere,
    Existing,
}

impl FirstKey {
    async fn make(config: &Config, store: &Store) -> Result<FirstKey, StoreError> {
        if config.sandbox {
            let key = keys::generate_key();
            store.set_api_key_hash(keys::hash_key(&key)).await?;
            return Ok(FirstKey::Made(key));
        }
        if store.api_key_hash().await?.is_some() {
            return Ok(FirstKey::Existing);
        }
        let key = keys::generate_key();
        // The database decides: of instances racing here, exactly one keeps its key.
        match store.create_api_key_hash(keys::hash_key(&key)).await? {
            true => Ok(FirstKey::Made(key)),
            false => {
                tracing::info!("{MADE_ELSEWHERE}");
                Ok(FirstKey::MadeElsewhere)
            }
        }
    }
}

/// The bot's id when neither the token nor an earlier start said it: from Discord once this
/// instance leads, or from the store once the leader has kept it there.
async fn learn_bot_id(leadership: &Leadership, store: &Store) -> Result<u64, StartError> {
    tracing::info!("the bot's id is not known yet (the token does not carry it); waiting for Discord to say it");
    let from_discord = async {
        match leadership.leading().await {
            Some(discord) => discord.learned_bot_id().await,
            None => std::future::pending().await,
        }
    };
    let from_store = async {
        loop {
            if let Ok(Some(id)) = store.bot_id().await {
                return id;
            }
            tokio::time::sleep(BOT_ID_POLL).await;
        }
    };
    let from_store = async {
        if store.is_shared() {
            from_store.await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        learned = from_discord => Ok(learned?),
        kept = from_store => Ok(kept),
    }
}

impl Running {
    /// The connection to Discord, while this instance leads (with the embedded store: always,
    /// from start to stop).
    pub fn discord(&self) -> Option<Arc<Discord>> {
        self.leadership.discord()
    }

    /// Stops accepting webhooks, lets runs in progress finish (up to
    /// [`executor::DRAIN_TIMEOUT`]), closes the gateway and flushes the store.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.http.stopped().await;
        if let Some(admin) = self.admin {
            admin.stop().await;
        }
        self.leader.stopped().await;
        let _ = self.retention.await;
        let _ = self.watcher.await;
        if let Err(error) = self.store.flush().await {
            tracing::error!(%error, "could not flush the database at shutdown");
        }
        // The last handle: dropping it waits until sled has let go of the database, so a start
        // right after this stop (in this process too) can open it.
        drop(self.store);
        if let Some(sandbox) = self.sandbox {
            sandbox_control::remove(&self.database_path);
            sandbox.shutdown().await;
        }
        tracing::info!("stopped");
    }
}

/// The events folder into the store. A file broken since the last run keeps serving the
/// version stored then.
async fn load_events(config: &Config, store: &Store) -> Result<LoadedEvents, StoreError> {
    let reloaded = reload::reload(&config.events.dir, store).await?;
    if !reloaded.loaded.problems.is_empty() {
        tracing::warn!(
            "{} problem(s) in the event files; those files are not loaded, or keep their last good version (`hookbot check` lists them)",
            reloaded.loaded.problems.len()
        );
    }
    let loaded = LoadedEvents {
        events: reloaded.events,
        ..reloaded.loaded
    };
    tracing::info!(events = loaded.events.len(), dir = %config.events.dir.display(), "events loaded");
    Ok(loaded)
}

/// A listener on `wanted`, and the address it got (port 0 picks one).
async fn bind(wanted: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let bind_error = |source| StartError::Bind {
        addr: wanted,
        source,
    };
    let listener = TcpListener::bind(wanted).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr))
}

/// The console's listener: `http.console_listen`; with `--sandbox` and no such key, loopback
/// port 8081, or a port the OS picks when 8081 is taken; otherwise none.
async fn bind_console(config: &Config) -> Result<Option<(TcpListener, SocketAddr)>, StartError> {
    match (config.http.console_listen, config.sandbox) {
        (Some(wanted), _) => Ok(Some(bind(wanted).await?)),
        (None, false) => Ok(None),
        (None, true) => match bind(crate::config::SANDBOX_CONSOLE_LISTEN).await {
            Ok(bound) => Ok(Some(bound)),
            Err(_) => {
                let any_port = SocketAddr::new(crate::config::SANDBOX_CONSOLE_LISTEN.ip(), 0);
                Ok(Some(bind(any_port).await?))
            }
        },
    }
}

/// `http://127.0.0.1:8081/` for the console's bound address (an unspecified one as loopback).
fn console_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    format!("http://{}/", SocketAddr::new(ip, addr.port()))
}

/// What a person needs after start: the new key (shown once), where the console is and, in the
/// sandbox, how to try it.
fn banner(
    config: &Config,
    base_url: &str,
    bot_id: u64,
    new_api_key: Option<&str>,
    console_addr: Option<SocketAddr>,
    events: &[Event],
) -> Option<String> {
    let key = new_api_key?;
    let console_line = console_addr
        .map(|addr| format!("console   {}\n", console_url(addr)))
        .unwrap_or_default();
    if !config.sandbox {
        return Some(format!(
            "hookbot made its API key (shown only this once; `hookbot key rotate` makes a new one):\n{key}\n{console_line}"
        ).trim_end().to_owned());
    }
    let mut text = String::from(if config.sandbox_options.real_http {
        "hookbot sandbox: a local Discord stand-in plays Discord; nothing goes to Discord.\n\
         http_request calls the URLs the events name ([sandbox] real_http = true): those calls leave this machine.\n"
    } else {
        "hookbot sandbox: a local Discord stand-in plays Discord; nothing leaves this machine.\n\
         http_request calls go to a local echo that logs and answers them ([sandbox] real_http = true makes them for real).\n"
    });
    text.push_str(&format!("API key (new at every sandbox start): {key}\n"));
    text.push_str(&console_line);
    if events.is_empty() {
        text.push_str(&format!(
            "No events in {}: `hookbot event new NAME --server ID` makes one.\n",
            config.events.dir.display()
        ));
        return Some(text);
    }
    text.push_str("Webhook URLs:\n");
    let webhooks = || {
        events
            .iter()
            .filter(|e| e.enabled && e.trigger.is_webhook())
    };
    for event in webhooks() {
        text.push_str(&format!(
            "  {}  {}\n",
            webhook::url(base_url, Some(bot_id), &event.id),
            event.name
        ));
    }
    if let Some(first) = webhooks().next() {
        let url = webhook::url(base_url, Some(bot_id), &first.id);
        text.push_str(&format!(
            "Try it (then watch this log for what reached Discord):\n{}\n",
            sandbox_world::curl_line(&url, key, &sandbox_world::example_variables(first))
        ));
    }
    Some(text)
}
