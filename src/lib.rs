//! hookbot: a self-hosted Discord bot runtime with a BotGhost-compatible webhook listener.
//!
//! [`run`] wires the pieces: the event files into the store, the Discord client, the executor
//! and the webhook listener; [`app`] is the listener's router, for tests that drive it directly.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod discord;
pub mod events;
pub mod executor;
pub mod lang;
pub mod ops;
pub mod pacing;
pub mod problem;
pub mod reload;
pub mod run;
pub mod sandbox;
pub mod sandbox_world;
pub mod store;
pub mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use config::Config;
use discord::Discord;
use executor::RunQueue;
use sandbox::Sandbox;
use store::Store;
pub use webhook::AppState;

/// Why hookbot could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no Discord token: set discord.token in the config file or HOOKBOT_DISCORD_TOKEN, or try `hookbot run --sandbox`")]
    NoToken,
    #[error(transparent)]
    Store(#[from] store::StoreError),
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

/// The webhook listener's router.
pub fn app(state: AppState) -> axum::Router {
    webhook::router(state)
}

/// Runs hookbot until `shutdown` completes, then stops it gracefully.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let running = start(config).await?;
    if let Some(banner) = &running.banner {
        println!("{banner}");
    }
    shutdown.await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// A started hookbot: where it listens and how to stop it.
pub struct Running {
    /// The listener's bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served when `http.metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    pub bot_id: u64,
    /// A key made at this start (the first start, or every sandbox start), shown once.
    pub new_api_key: Option<String>,
    /// What to print on stdout for a person: URLs, the new key, an example `curl`.
    pub banner: Option<String>,
    pub store: Store,
    pub discord: Arc<Discord>,
    /// The stand-in, when running with `--sandbox`.
    pub sandbox: Option<Sandbox>,
    /// The local admin socket, when it could be served.
    pub admin: Option<admin::AdminServer>,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    ops_server: Option<JoinHandle<()>>,
    executor: JoinHandle<()>,
    retention: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

/// Starts everything and returns once the listener is bound.
pub async fn start(config: Config) -> Result<Running, StartError> {
    // Checked before anything is opened; `None` means the sandbox plays Discord.
    let real_token = if config.sandbox {
        None
    } else {
        Some(config.discord.token.clone().ok_or(StartError::NoToken)?)
    };
    // Installed before anything is counted.
    ops::prometheus();
    let store = Store::open(&database_path(&config))?;
    // A file broken since the last run keeps serving the version stored then.
    let reloaded = reload::reload(&config.events.dir, &store)?;
    if !reloaded.loaded.problems.is_empty() {
        tracing::warn!(
            "{} problem(s) in the event files; those files are not loaded, or keep their last good version (`hookbot check` lists them)",
            reloaded.loaded.problems.len()
        );
    }
    let loaded = events::LoadedEvents {
        events: reloaded.events,
        ..reloaded.loaded
    };
    tracing::info!(events = loaded.events.len(), dir = %config.events.dir.display(), "events loaded");
    // Bound before Discord is asked anything, so a taken port fails at once; connections wait
    // in the backlog until the listener serves.
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.http.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.http.listen,
        source,
    })?;
    let ops_listener = match config.http.metrics_listen {
        None => None,
        Some(wanted) => {
            let bound = tokio::net::TcpListener::bind(wanted)
                .await
                .and_then(|listener| Ok((listener.local_addr()?, listener)))
                .map_err(|source| StartError::Bind {
                    addr: wanted,
                    source,
                })?;
            Some(bound)
        }
    };

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
            (
                Some(stand_in),
                sandbox_world::SANDBOX_TOKEN.to_owned(),
                Some(url),
            )
        }
    };

    let discord = Arc::new(Discord::connect(&token, api_url.as_deref()).await?);
    let bot_id = discord.bot_id();
    if !config.sandbox {
        store.set_bot_id(bot_id)?;
    }
    // Made once everything else is up, so a start that fails never eats a key nobody saw.
    let new_api_key = if config.sandbox || store.api_key_hash()?.is_none() {
        let key = webhook::generate_key();
        store.set_api_key_hash(webhook::hash_key(&key)).await?;
        Some(key)
    } else {
        None
    };

    let shutdown = CancellationToken::new();
    let queue = RunQueue::new();
    let watch = executor::RunWatch::new();
    let executor = tokio::spawn(executor::run_executor(
        store.clone(),
        discord.clone(),
        queue.clone(),
        watch.clone(),
        shutdown.clone(),
        config.delivery.clone(),
    ));
    let state = AppState::new(
        store.clone(),
        bot_id,
        config.http.max_body_bytes,
        config.limits.per_event_per_minute,
        config.delivery.max_pending_runs,
        queue.clone(),
        watch,
    )
    .trusting_proxies(config.http.trusted_proxies.clone());
    let retention = tokio::spawn(retention(
        store.clone(),
        config.storage.keep_runs_for,
        config.storage.keep_runs,
        shutdown.clone(),
    ));
    let watcher = tokio::spawn(reload::watch(
        config.events.dir.clone(),
        store.clone(),
        shutdown.clone(),
    ));
    let probe = ops::Probe {
        store: store.clone(),
        discord: discord.clone(),
    };
    // /healthz, /readyz and /metrics: beside the webhooks, or only on http.metrics_listen.
    let (router, ops_server, metrics_addr) = match ops_listener {
        None => (app(state).merge(ops::router(probe)), None, None),
        Some((ops_addr, ops_listener)) => {
            let ops_shutdown = shutdown.clone();
            let ops_router = ops::separate_router(probe);
            let ops_server = tokio::spawn(async move {
                let result = axum::serve(ops_listener, ops_router)
                    .with_graceful_shutdown(async move { ops_shutdown.cancelled().await })
                    .await;
                if let Err(error) = result {
                    tracing::error!(%error, "the metrics listener failed");
                }
            });
            tracing::info!(listen = %ops_addr, "health and metrics listener ready");
            (app(state), Some(ops_server), Some(ops_addr))
        }
    };
    let router = router.into_make_service_with_connect_info::<SocketAddr>();
    let server_shutdown = shutdown.clone();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { server_shutdown.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "the webhook listener failed");
        }
    });
    let base_url = config.public_base_url(addr);
    tracing::info!(listen = %addr, bot_id, "webhook listener ready");
    // The admin commands reach this process through it while it holds the database.
    let admin_path = admin::socket_path(&database_path(&config));
    let admin_state = admin::AdminState {
        store: store.clone(),
        queue,
        bot_id,
        base_url: base_url.clone(),
    };
    let admin = match admin::serve(&admin_path, admin_state, shutdown.clone()).await {
        Ok(server) => {
            tracing::info!(socket = %admin_path.display(), "admin socket ready");
            Some(server)
        }
        Err(error) => {
            tracing::warn!(socket = %admin_path.display(), %error, "no admin socket: admin commands need hookbot stopped");
            None
        }
    };
    let banner = banner(
        &config,
        &base_url,
        bot_id,
        new_api_key.as_deref(),
        &loaded.events,
    );

    Ok(Running {
        addr,
        metrics_addr,
        bot_id,
        new_api_key,
        banner,
        store,
        discord,
        sandbox,
        admin,
        shutdown,
        server,
        ops_server,
        executor,
        retention,
        watcher,
    })
}

/// How often finished runs past `storage.keep_runs_for` / `storage.keep_runs` are deleted.
pub const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Prunes the store at start and every [`PRUNE_INTERVAL`] until shutdown.
async fn retention(
    store: Store,
    keep_for: std::time::Duration,
    keep_count: u64,
    shutdown: CancellationToken,
) {
    loop {
        let now_ms = run::unix_now_ms();
        let pruning = store.clone();
        let pruned =
            tokio::task::spawn_blocking(move || pruning.prune(keep_for, keep_count, now_ms));
        match pruned.await {
            Ok(Ok(pruned)) if pruned.runs > 0 || pruned.idempotency_keys > 0 => {
                tracing::info!(
                    runs = pruned.runs,
                    idempotency_keys = pruned.idempotency_keys,
                    "pruned old runs and idempotency keys"
                );
            }
            Ok(Ok(_)) => tracing::debug!("nothing to prune"),
            Ok(Err(error)) => tracing::error!(%error, "could not prune old runs"),
            Err(error) => tracing::error!(%error, "the pruning task failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_INTERVAL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The sandbox keeps its own database beside the configured one, so trying things out never
/// touches a real bot's key, runs or events.
pub(crate) fn database_path(config: &Config) -> std::path::PathBuf {
    if !config.sandbox {
        return config.storage.path.clone();
    }
    let mut name = config
        .storage
        .path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "db".into());
    name.push("-sandbox");
    config.storage.path.with_file_name(name)
}

impl Running {
    /// Stops accepting webhooks, lets runs in progress finish (up to
    /// [`executor::DRAIN_TIMEOUT`]), closes the gateway and flushes the store.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        if let Some(ops_server) = self.ops_server {
            let _ = ops_server.await;
        }
        if let Some(admin) = self.admin {
            admin.stop().await;
        }
        let _ = self.executor.await;
        let _ = self.retention.await;
        let _ = self.watcher.await;
        self.discord.shutdown().await;
        if let Err(error) = self.store.flush().await {
            tracing::error!(%error, "could not flush the database at shutdown");
        }
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        tracing::info!("stopped");
    }
}

/// What a person needs after start: the new key (shown once) and, in the sandbox, how to try it.
fn banner(
    config: &Config,
    base_url: &str,
    bot_id: u64,
    new_api_key: Option<&str>,
    events: &[events::Event],
) -> Option<String> {
    let key = new_api_key?;
    if !config.sandbox {
        return Some(format!(
            "hookbot made its API key (shown only this once; `hookbot key rotate` makes a new one):\n{key}"
        ));
    }
    let mut text = String::from(
        "hookbot sandbox: a local Discord stand-in plays Discord; nothing leaves this machine.\n",
    );
    text.push_str(&format!("API key (new at every sandbox start): {key}\n"));
    if events.is_empty() {
        text.push_str(&format!(
            "No events in {}: `hookbot event new NAME --server ID` makes one.\n",
            config.events.dir.display()
        ));
        return Some(text);
    }
    text.push_str("Webhook URLs:\n");
    for event in events.iter().filter(|e| e.enabled) {
        text.push_str(&format!(
            "  {}  {}\n",
            webhook::url(base_url, Some(bot_id), &event.id),
            event.name
        ));
    }
    if let Some(first) = events.iter().find(|e| e.enabled) {
        let url = webhook::url(base_url, Some(bot_id), &first.id);
        text.push_str(&format!(
            "Try it (then watch this log for what reached Discord):\n{}\n",
            sandbox_world::curl_line(&url, key, &sandbox_world::example_variables(first))
        ));
    }
    Some(text)
}
