//! Runs accepted webhooks: claims due runs from the queue and hands each to the interpreter, a
//! bounded number at a time, then reports to the queue how each went. Knows nothing of the
//! webhook listener or its HTTP types.

mod actions;
pub mod builtins;
pub mod conditions;
pub mod http_request;
pub mod interpreter;
pub mod retry;
mod scope;
mod slot;
mod trial;
mod unanswered;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use actions::{allowed_mentions, truncate};

use crate::config::DeliveryConfig;
use crate::discord::Discord;
use crate::discord::{Holder, Pacer, SWEEP_EVERY};
use crate::engine::{Store, StoreError};
use crate::queue::retry::RetryPolicy;
use crate::queue::Queue;
use crate::run::{unix_now_ms as now_ms, RunFailure, RunId, RunStatus};
use http_request::Destination;
use interpreter::{Ended, RunContext};
use slot::WorkerSlot;

/// How long shutdown waits for runs in progress before leaving them queued for the next start.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the executor waits, once Discord answers, for the gateway to fill the cache.
pub const CACHE_WAIT: Duration = Duration::from_secs(5);
pub use interpreter::{ACTION_TIMEOUT, MAX_RUN_TIME, MAX_STEPS_PER_RUN};
pub use trial::trial;

/// Takes queued runs until `shutdown` is cancelled, then waits up to [`DRAIN_TIMEOUT`] for the
/// runs in progress. A run not finished by then stays queued and resumes at its first
/// unfinished action on the next start.
///
/// `delivery.workers` runs at a time; a run that failed transiently is left queued with its
/// next attempt's time and is not taken up before then (it holds no worker meanwhile).
pub async fn run_executor(
    store: Store,
    queue: Queue,
    discord: Arc<Discord>,
    shutdown: CancellationToken,
    delivery: DeliveryConfig,
    http: Destination,
) {
    // Nothing is taken up before Discord answers: during an outage the runs stay queued (not
    // failed, not spending their attempts) and go out once it is back.
    tokio::select! {
        reached = discord.wait_link() => if let Err(error) = reached {
            // The process is stopping (`server::run` reports the refused token).
            tracing::error!(%error, "not running queued runs");
            shutdown.cancelled().await;
            return;
        },
        _ = shutdown.cancelled() => return,
    }
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
    match queue.restore_schedule(now_ms()).await {
        Ok(0) => {}
        Ok(runs) => tracing::info!(
            runs,
            "runs waiting to retry an action after a transient failure"
        ),
        Err(error) => {
            tracing::error!(%error, "cannot read when queued runs are due; taking them up now")
        }
    }
    let pacer = discord.pacer.clone();
    let slots = Arc::new(Semaphore::new(workers));
    let mut tasks = JoinSet::new();
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let woken = queue.woken();
        tokio::pin!(woken);
        woken.as_mut().enable();
        bring_promoted_forward(&pacer, &queue);
        // A finished run's task keeps its whole allocation (sized for the run's future, a few
        // KiB) until it is joined: join every one that finished, not one per turn, or a
        // backlog taken up faster than the loop turns piles them up (190 MiB for 100k runs).
        while tasks.try_join_next().is_some() {}

        match queue.claim(slots.available_permits(), now_ms()).await {
            Ok(ids) => {
                for id in ids {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // A run's long wait took its slot back meanwhile: the next round.
                        queue.release(id);
                        continue;
                    };
                    let worker = Worker {
                        store: store.clone(),
                        queue: queue.clone(),
                        discord: discord.clone(),
                        pacer: pacer.clone(),
                        policy,
                        shutdown: shutdown.clone(),
                        http: http.clone(),
                    };
                    let slots = slots.clone();
                    tasks.spawn(async move {
                        let slot = WorkerSlot::new(slots, slot);
                        let parked = match execute_run(&worker, id, slot).await {
                            Ok(parked) => parked,
                            Err(error) => {
                                tracing::error!(run = %id, %error, "could not record the run's progress; it stays queued");
                                false
                            }
                        };
                        if !parked {
                            // Only a parked run comes back for its place in a route's line.
                            worker.pacer.release(Holder(id.0));
                        }
                        worker.queue.release(id);
                    });
                }
            }
            Err(error) => tracing::error!(%error, "cannot read the run queue"),
        }

        // With every slot taken, a due run cannot be taken up before one is free: wait for that
        // (a run lending its slot for a long `wait` frees one too) instead of for the due time,
        // which may be past.
        let full = slots.available_permits() == 0;
        let earliest = queue.next_due();
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
            _ = next_due, if !full => {}
            _ = slots.acquire(), if full => {}
            _ = pacer.promotions() => {}
            _ = sweep.tick() => pacer.sweep(),
            _ = shutdown.cancelled() => break,
        }
    }
    drain(tasks).await;
}

/// Runs parked behind others on a route whose line has reached them come back at their turn.
fn bring_promoted_forward(pacer: &Pacer, queue: &Queue) {
    let now = Instant::now();
    for (holder, turn) in pacer.take_promoted() {
        queue.bring_forward(RunId(holder.0), unix_ms_at(turn, now));
    }
}

/// The unix time (ms) of the tokio instant `at`, as seen at `now`.
fn unix_ms_at(at: Instant, now: Instant) -> u64 {
    now_ms().saturating_add(at.saturating_duration_since(now).as_millis() as u64)
}

/// What every run of this executor shares.
struct Worker {
    store: Store,
    queue: Queue,
    discord: Arc<Discord>,
    pacer: Arc<Pacer>,
    policy: RetryPolicy,
    shutdown: CancellationToken,
    /// Where `http_request` calls go.
    http: Destination,
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

/// Carries out one run from its first unfinished action, journaling each step, and tells the
/// queue how it went. `Ok(true)`: the run was parked for Discord's pace.
async fn execute_run(worker: &Worker, id: RunId, slot: WorkerSlot) -> Result<bool, StoreError> {
    let (store, queue) = (&worker.store, &worker.queue);
    let discord = worker.discord.as_ref();
    let Some(mut run) = store.run(id).await? else {
        tracing::warn!(run = %id, "a queued run has no record; dropping it from the queue");
        return queue.forget(id).await.map(|()| false);
    };
    if run.status != RunStatus::Pending {
        return queue.finish(&run).await.map(|()| false);
    }
    if let Some(at) = run.next_attempt_at_ms.filter(|at| *at > now_ms()) {
        // Queued again (by a webhook or a restart) before its time.
        queue.not_before(id, at);
        return Ok(false);
    }
    let Some(event) = store.event(&run.event_id).await? else {
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
        queue.finish(&run).await?;
        unanswered::answer_if_unanswered(discord, &run, &[]).await;
        return Ok(false);
    };
    let journal = store.steps(id).await?;
    let builtins = builtins::builtins(&event, &run, discord).await;
    let context = RunContext {
        store,
        discord,
        dry_run: false,
        shutdown: worker.shutdown.clone(),
        slot: Some(slot),
        pacer: &worker.pacer,
        retry: Some(worker.policy),
        http: &worker.http,
    };
    let (steps, ended) = interpreter::execute(context, &event, &mut run, journal, builtins).await?;
    match ended {
        Ended::Interrupted => {
            queue.pause(&run).await?;
            tracing::info!(run = %id, event = %event.id, "run paused by shutdown; it resumes on the next start");
        }
        Ended::RetryAt(at) => {
            queue.retry_later(&run, at).await?;
            metrics::counter!(crate::metrics::RUNS, "outcome" => "retry_scheduled").increment(1);
        }
        Ended::Parked {
            until_ms,
            progressed,
        } => {
            queue.park(&run, until_ms, progressed).await?;
            // Its line may have reached it while it was being parked.
            if let Some(turn) = worker.pacer.turn_in_play(Holder(id.0)) {
                queue.bring_forward(id, unix_ms_at(turn, Instant::now()));
            }
            tracing::debug!(run = %id, event = %event.id, wait_ms = until_ms.map(|at| at.saturating_sub(now_ms())), "run parked until Discord's pace allows its next call");
            return Ok(true);
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
            queue.finish(&run).await?;
            let outcome = match &run.error {
                None => "succeeded",
                Some(_) if run.dead_lettered => "dead_lettered",
                Some(_) => "failed",
            };
            metrics::counter!(crate::metrics::RUNS, "outcome" => outcome).increment(1);
            unanswered::answer_if_unanswered(discord, &run, &steps).await;
        }
    }
    Ok(false)
}
