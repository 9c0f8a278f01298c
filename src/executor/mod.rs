//! Runs accepted webhooks: takes queued runs from the store and hands each to the interpreter,
//! a bounded number at a time. Knows nothing of the webhook listener or its HTTP types.

mod actions;
pub mod builtins;
pub mod http_request;
pub mod interpreter;
mod scope;
mod trial;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use actions::{allowed_mentions, truncate};

use crate::discord::Discord;
use crate::run::{RunFailure, RunId, RunStatus};
use crate::store::{Store, StoreError};
use interpreter::{Ended, RunContext};

/// Runs carried out at the same time. Discord paces a bot far below what this allows, so more
/// would only queue inside serenity.
pub const MAX_CONCURRENT_RUNS: usize = 8;
/// How long shutdown waits for runs in progress before leaving them queued for the next start.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the executor waits at start for the gateway to fill the cache.
pub const CACHE_WAIT: Duration = Duration::from_secs(5);
pub use interpreter::{ACTION_TIMEOUT, MAX_RUN_TIME, MAX_STEPS_PER_RUN};
pub use trial::trial;

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

/// Tells whoever listens (a webhook caller with `?wait=true`) that a run has finished.
#[derive(Clone)]
pub struct RunWatch {
    finished: tokio::sync::broadcast::Sender<RunId>,
}

/// Finished runs not yet seen by a slow listener; past this it is told it lagged and should
/// look in the store.
const RUN_WATCH_CAPACITY: usize = 1024;

impl Default for RunWatch {
    fn default() -> Self {
        RunWatch {
            finished: tokio::sync::broadcast::channel(RUN_WATCH_CAPACITY).0,
        }
    }
}

impl RunWatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribe before the run is queued, so its finish cannot be missed.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RunId> {
        self.finished.subscribe()
    }

    fn finished(&self, id: RunId) {
        // No listener is fine: nobody is waiting.
        let _ = self.finished.send(id);
    }
}

/// Takes queued runs until `shutdown` is cancelled, then waits up to [`DRAIN_TIMEOUT`] for the
/// runs in progress. A run not finished by then stays queued and resumes at its first
/// unfinished action on the next start.
pub async fn run_executor(
    store: Store,
    discord: Arc<Discord>,
    queue: RunQueue,
    watch: RunWatch,
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
    let http = http_request::client();
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
                    let (store, discord, in_flight, http, shutdown, slots, watch) = (
                        store.clone(),
                        discord.clone(),
                        in_flight.clone(),
                        http.clone(),
                        shutdown.clone(),
                        slots.clone(),
                        watch.clone(),
                    );
                    tasks.spawn(async move {
                        let slot = (slots, slot);
                        match execute_run(&store, &discord, &http, id, shutdown, slot).await {
                            Ok(true) => watch.finished(id),
                            Ok(false) => {}
                            Err(error) => tracing::error!(run = %id, %error, "could not record the run's progress; it stays queued"),
                        }
                        in_flight.lock().expect("in-flight lock").remove(&id);
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

/// Carries out one run from its first unfinished action, journaling each step. True when the
/// run has finished (succeeded or failed), false when it stays queued.
async fn execute_run(
    store: &Store,
    discord: &Discord,
    http: &reqwest::Client,
    id: RunId,
    shutdown: CancellationToken,
    slot: (Arc<Semaphore>, OwnedSemaphorePermit),
) -> Result<bool, StoreError> {
    let Some(mut run) = store.run(id)? else {
        tracing::warn!(run = %id, "a queued run has no record; dropping it from the queue");
        store.forget_pending(id)?;
        return Ok(false);
    };
    if run.status != RunStatus::Pending {
        store.finish_run(&run)?;
        return Ok(true);
    }
    let Some(event) = store.event(&run.event_id)? else {
        run.status = RunStatus::Failed;
        run.error = Some(RunFailure {
            path: String::new(),
            action: String::new(),
            message: format!("the event {:?} no longer exists", run.event_id),
            discord_code: None,
            http_status: None,
        });
        tracing::error!(run = %id, event = %run.event_id, "the run's event no longer exists; the run failed");
        store.finish_run(&run)?;
        return Ok(true);
    };
    let journal = store.steps(id)?;
    let builtins = builtins::builtins(&event, &run, discord).await;
    let context = RunContext {
        store,
        discord,
        http,
        dry_run: false,
        shutdown,
        slot: Some(slot),
    };
    let (steps, ended) = interpreter::execute(context, &event, &mut run, journal, builtins).await?;
    match ended {
        Ended::Interrupted => {
            store.save_run(&run)?;
            tracing::info!(run = %id, event = %event.id, "run paused by shutdown; it resumes on the next start");
            Ok(false)
        }
        Ended::Finished => {
            match &run.error {
                Some(failure) => {
                    tracing::error!(run = %id, event = %event.id, "{failure}; the run stopped")
                }
                None => {
                    tracing::info!(run = %id, event = %event.id, steps = steps.len(), "run succeeded")
                }
            }
            store.finish_run(&run)?;
            store.flush().await?;
            Ok(true)
        }
    }
}
