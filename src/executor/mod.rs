//! Runs accepted webhooks: takes queued runs from the store and hands each to the interpreter,
//! a bounded number at a time. Knows nothing of the webhook listener or its HTTP types.

mod actions;
pub mod builtins;
pub mod conditions;
pub mod http_request;
pub mod interpreter;
pub mod queue;
pub mod retry;
mod scope;
mod trial;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use actions::{allowed_mentions, truncate};

use crate::config::DeliveryConfig;
use crate::discord::Discord;
use crate::discord::Pacer;
use crate::run::{unix_now_ms as now_ms, RunFailure, RunId, RunStatus};
use crate::store::{Store, StoreError};
use interpreter::{Ended, RunContext};
use queue::Schedule;
use retry::RetryPolicy;

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
///
/// `delivery.workers` runs at a time; a run that failed transiently is left queued with its
/// next attempt's time and is not taken up before then (it holds no worker meanwhile).
pub async fn run_executor(
    store: Store,
    discord: Arc<Discord>,
    queue: RunQueue,
    watch: RunWatch,
    shutdown: CancellationToken,
    delivery: DeliveryConfig,
) {
    // Names resolve from the cache; runs queued before a restart should not all fall back to
    // REST look-ups while the servers are still arriving.
    tokio::select! {
        ready = discord.wait_cache_ready(CACHE_WAIT) => if !ready {
            tracing::warn!("the Discord cache is not ready; running queued runs anyway, names are looked up over REST");
        },
        _ = shutdown.cancelled() => return,
    }
    // `delivery.workers` is 1 to 256, checked where the config is read.
    let workers = usize::try_from(delivery.workers).unwrap_or(1).max(1);
    let policy = RetryPolicy::from_config(&delivery);
    let schedule = match Schedule::rebuild(&store, now_ms()) {
        Ok(schedule) => schedule,
        Err(error) => {
            tracing::error!(%error, "cannot read when queued runs are due; taking them up now");
            Schedule::default()
        }
    };
    if !schedule.is_empty() {
        tracing::info!(
            runs = schedule.len(),
            "runs waiting to retry an action after a transient failure"
        );
    }
    let schedule = Arc::new(Mutex::new(schedule));
    let pacer = Arc::new(Pacer::new());
    let in_flight: Arc<Mutex<HashSet<RunId>>> = Arc::default();
    let slots = Arc::new(Semaphore::new(workers));
    let mut tasks = JoinSet::new();
    loop {
        let woken = queue.notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        match claimable(&store, &in_flight, &schedule, slots.available_permits()) {
            Ok(ids) => {
                for id in ids {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        break;
                    };
                    in_flight.lock().expect("in-flight lock").insert(id);
                    let worker = Worker {
                        store: store.clone(),
                        discord: discord.clone(),
                        pacer: pacer.clone(),
                        policy,
                        shutdown: shutdown.clone(),
                    };
                    let (in_flight, slots, watch, schedule) = (
                        in_flight.clone(),
                        slots.clone(),
                        watch.clone(),
                        schedule.clone(),
                    );
                    tasks.spawn(async move {
                        let slot = (slots, slot);
                        match execute_run(&worker, id, slot).await {
                            Ok(Outcome::Finished) => watch.finished(id),
                            Ok(Outcome::Queued) => {}
                            Ok(Outcome::RetryAt(at)) => {
                                schedule.lock().expect("schedule lock").insert(id, at)
                            }
                            Err(error) => tracing::error!(run = %id, %error, "could not record the run's progress; it stays queued"),
                        }
                        in_flight.lock().expect("in-flight lock").remove(&id);
                    });
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the run queue"),
        }

        let earliest = schedule.lock().expect("schedule lock").earliest();
        let next_due = async move {
            match earliest {
                Some(at) => {
                    let wait = Duration::from_millis(at.saturating_sub(now_ms()));
                    tokio::time::sleep(wait).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut woken => {}
            Some(_) = tasks.join_next() => {}
            _ = next_due => {}
            _ = shutdown.cancelled() => break,
        }
    }
    drain(tasks).await;
}

/// What every run of this executor shares.
struct Worker {
    store: Store,
    discord: Arc<Discord>,
    pacer: Arc<Pacer>,
    policy: RetryPolicy,
    shutdown: CancellationToken,
}

/// How one execution of a run left it.
enum Outcome {
    /// Succeeded or failed (dead-lettered included).
    Finished,
    /// Still queued, due now (paused by shutdown).
    Queued,
    /// Still queued, due at this unix time (ms).
    RetryAt(u64),
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

/// Queued runs due now and not already in progress, oldest first, at most `room`.
fn claimable(
    store: &Store,
    in_flight: &Mutex<HashSet<RunId>>,
    schedule: &Mutex<Schedule>,
    room: usize,
) -> Result<Vec<RunId>, StoreError> {
    if room == 0 {
        return Ok(Vec::new());
    }
    let busy = in_flight.lock().expect("in-flight lock").clone();
    let mut schedule = schedule.lock().expect("schedule lock");
    let now = now_ms();
    Ok(store
        .pending_runs(room + busy.len() + schedule.len())?
        .into_iter()
        .filter(|id| !busy.contains(id) && !schedule.waiting(*id, now))
        .take(room)
        .collect())
}

/// Carries out one run from its first unfinished action, journaling each step.
async fn execute_run(
    worker: &Worker,
    id: RunId,
    slot: (Arc<Semaphore>, OwnedSemaphorePermit),
) -> Result<Outcome, StoreError> {
    let store = &worker.store;
    let discord = worker.discord.as_ref();
    let Some(mut run) = store.run(id)? else {
        tracing::warn!(run = %id, "a queued run has no record; dropping it from the queue");
        store.forget_pending(id)?;
        return Ok(Outcome::Queued);
    };
    if run.status != RunStatus::Pending {
        store.finish_run(&run)?;
        return Ok(Outcome::Finished);
    }
    if let Some(at) = run.next_attempt_at_ms.filter(|at| *at > now_ms()) {
        // Queued again (by a webhook or a restart) before its time.
        return Ok(Outcome::RetryAt(at));
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
        metrics::counter!(crate::metrics::RUNS, "outcome" => "failed").increment(1);
        store.finish_run(&run)?;
        return Ok(Outcome::Finished);
    };
    let journal = store.steps(id)?;
    let builtins = builtins::builtins(&event, &run, discord).await;
    let context = RunContext {
        store,
        discord,
        dry_run: false,
        shutdown: worker.shutdown.clone(),
        slot: Some(slot),
        pacer: &worker.pacer,
        retry: Some(worker.policy),
    };
    let (steps, ended) = interpreter::execute(context, &event, &mut run, journal, builtins).await?;
    match ended {
        Ended::Interrupted => {
            store.save_run(&run)?;
            tracing::info!(run = %id, event = %event.id, "run paused by shutdown; it resumes on the next start");
            Ok(Outcome::Queued)
        }
        Ended::RetryAt(at) => {
            // Saved (not finished): the run stays queued, and after a restart the schedule is
            // rebuilt from this record.
            store.save_run(&run)?;
            store.flush().await?;
            metrics::counter!(crate::metrics::RUNS, "outcome" => "retry_scheduled").increment(1);
            Ok(Outcome::RetryAt(at))
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
            let outcome = match &run.error {
                None => "succeeded",
                Some(_) if run.dead_lettered => "dead_lettered",
                Some(_) => "failed",
            };
            metrics::counter!(crate::metrics::RUNS, "outcome" => outcome).increment(1);
            Ok(Outcome::Finished)
        }
    }
}
