//! Runs accepted webhooks: takes queued runs from the store, carries out their actions in order
//! and checkpoints each one. Knows nothing of HTTP.

mod actions;
pub mod http_request;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::GuildId;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use actions::{allowed_mentions, truncate};

use crate::discord::{CallError, Discord};
use crate::events::Event;
use crate::run::{Run, RunFailure, RunId, RunStatus};
use crate::store::{Store, StoreError};
use crate::templates::{Layered, Variables};

/// Runs carried out at the same time. Discord paces a bot far below what this allows, so more
/// would only queue inside serenity.
pub const MAX_CONCURRENT_RUNS: usize = 8;
/// How long shutdown waits for runs in progress before leaving them queued for the next start.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the executor waits at start for the gateway to fill the cache.
pub const CACHE_WAIT: Duration = Duration::from_secs(5);
/// The longest one action may take, all its Discord calls together; serenity sets no timeout of
/// its own, and a hung call must not hold a run slot forever.
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Wakes the executor when a run was queued.
#[derive(Clone, Default)]
pub struct RunQueue {
    notify: Arc<Notify>,
}

impl RunQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Takes queued runs until `shutdown` is cancelled, then waits up to [`DRAIN_TIMEOUT`] for the
/// runs in progress. A run not finished by then stays queued and resumes at its first
/// unfinished action on the next start.
pub async fn run_executor(
    store: Store,
    discord: Arc<Discord>,
    queue: RunQueue,
    shutdown: CancellationToken,
) {
    // Names resolve from the cache; runs queued before a restart should not all fall back to
    // REST look-ups while the servers are still arriving.
    tokio::select! {
        ready = discord.wait_cache_ready(CACHE_WAIT) => if !ready {
            tracing::warn!("the Discord cache is not ready; running queued runs anyway, names are looked up over REST");
        },
        _ = shutdown.cancelled() => return,
    }
    let in_flight: Arc<Mutex<HashSet<RunId>>> = Arc::default();
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS));
    let mut tasks = JoinSet::new();
    loop {
        let woken = queue.notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        match claimable(&store, &in_flight, slots.available_permits()) {
            Ok(ids) => {
                for id in ids {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        break;
                    };
                    in_flight.lock().expect("in-flight lock").insert(id);
                    let (store, discord, in_flight) =
                        (store.clone(), discord.clone(), in_flight.clone());
                    tasks.spawn(async move {
                        if let Err(error) = execute_run(&store, &discord, id).await {
                            tracing::error!(run = %id, %error, "could not record the run's progress; it stays queued");
                        }
                        in_flight.lock().expect("in-flight lock").remove(&id);
                        drop(slot);
                    });
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the run queue"),
        }

        tokio::select! {
            _ = &mut woken => {}
            Some(_) = tasks.join_next() => {}
            _ = shutdown.cancelled() => break,
        }
    }
    drain(tasks).await;
}

async fn drain(mut tasks: JoinSet<()>) {
    let waiting = tasks.len();
    if waiting == 0 {
        return;
    }
    tracing::info!(runs = waiting, "waiting for runs in progress");
    let finished = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            runs = tasks.len(),
            "runs still in progress at shutdown stay queued and resume on the next start"
        );
        tasks.abort_all();
    }
}

/// Queued runs not already in progress, oldest first, at most `room`.
fn claimable(
    store: &Store,
    in_flight: &Mutex<HashSet<RunId>>,
    room: usize,
) -> Result<Vec<RunId>, StoreError> {
    if room == 0 {
        return Ok(Vec::new());
    }
    let busy = in_flight.lock().expect("in-flight lock").clone();
    Ok(store
        .pending_runs(room + busy.len())?
        .into_iter()
        .filter(|id| !busy.contains(id))
        .take(room)
        .collect())
}

/// Carries out one run from its first unfinished action, checkpointing after each action.
async fn execute_run(store: &Store, discord: &Discord, id: RunId) -> Result<(), StoreError> {
    let Some(mut run) = store.run(id)? else {
        tracing::warn!(run = %id, "a queued run has no record; dropping it from the queue");
        return store.forget_pending(id);
    };
    if run.status != RunStatus::Pending {
        return store.finish_run(&run);
    }
    let Some(event) = store.event(&run.event_id)? else {
        let gone = CallError::NotFound(format!("the event {:?} no longer exists", run.event_id));
        fail(&mut run, 0, "event", gone);
        return store.finish_run(&run);
    };
    let guild = GuildId::new(event.server);
    let builtins = builtins(&event, &run, discord).await;
    let vars = Layered {
        first: &builtins,
        second: &run.variables,
    };
    let start = run.results.len();
    let mut failure = None;
    for (index, action) in event.actions.iter().enumerate().skip(start) {
        let attempt = tokio::time::timeout(
            ACTION_TIMEOUT,
            actions::execute(discord, guild, action, &vars),
        );
        let result = attempt.await.unwrap_or_else(|_| {
            Err(CallError::Transport(format!(
                "Discord did not answer within {} s",
                ACTION_TIMEOUT.as_secs()
            )))
        });
        match result {
            Ok(outcome) => {
                tracing::info!(run = %id, event = %event.id, action = index + 1, "{}", outcome.summary);
                run.results.push(outcome);
                store.save_run(&run)?;
            }
            Err(error) => {
                failure = Some((index, action.kind(), error));
                break;
            }
        }
    }
    match failure {
        Some((index, kind, error)) => fail(&mut run, index, kind, error),
        None => {
            run.status = RunStatus::Succeeded;
            tracing::info!(run = %id, event = %event.id, actions = event.actions.len(), "run succeeded");
        }
    }
    store.finish_run(&run)
}

fn fail(run: &mut Run, action_index: usize, action: &str, error: CallError) {
    let (discord_code, http_status) = match &error {
        CallError::Discord { status, code, .. } => (Some(*code), Some(*status)),
        _ => (None, None),
    };
    let message = match &error {
        CallError::Discord { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let failure = RunFailure {
        action_index,
        action: action.to_owned(),
        message,
        discord_code,
        http_status,
    };
    tracing::error!(run = %run.id, event = %run.event_id, "{failure}; the run stopped");
    run.status = RunStatus::Failed;
    run.error = Some(failure);
}

/// The variables every event may use, whatever the caller sent. They take precedence over the
/// caller's, so `{run_id}` and friends can be trusted.
async fn builtins(event: &Event, run: &Run, discord: &Discord) -> Variables {
    let mut vars = Variables::new();
    vars.insert("server_id", event.server.to_string());
    // The name may cost a REST call when the cache has not seen the server yet: only when used.
    let wants_server_name = crate::events::all_templates(&event.actions)
        .into_iter()
        .any(|t| t.names().any(|n| n == "server_name"));
    if wants_server_name {
        if let Some(name) = discord.server_name(GuildId::new(event.server)).await {
            vars.insert("server_name", name);
        }
    }
    vars.insert("event_id", event.id.clone());
    vars.insert("event_name", event.name.clone());
    vars.insert("bot_id", discord.bot_id().to_string());
    vars.insert("run_id", run.id.to_text());
    vars
}

/// The names [`builtins`] defines, for `hookbot check` and the docs.
pub const BUILTIN_NAMES: &[&str] = &[
    "server_id",
    "server_name",
    "event_id",
    "event_name",
    "bot_id",
    "run_id",
];
