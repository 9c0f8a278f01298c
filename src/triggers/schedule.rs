//! The schedule clock: fires each `schedule` event once per due time, through [`start_run`].
//!
//! Each event's next due time is kept in the store ([`ScheduleDue`]) before the clock sleeps, so
//! a restart neither skips nor repeats a fire: when hookbot was stopped over one or more due
//! times, the event fires once at start (`{scheduled_time}` is the latest missed time), then
//! keeps its schedule. A fire carries its due time as its occurrence, so if hookbot stops between
//! queueing the run and keeping the next due time, the fire at the next start is recognised as
//! the same one and starts nothing. An event that is new, or whose schedule changed, starts
//! counting from now: there is nothing to catch up on.
//!
//! The clock wakes at the earliest due time, and at once when the event definitions change
//! (the store's change feed, [`DefinitionChanges`]): a new or edited schedule is picked up as
//! soon as it is live. It reads the wall clock at every wake and never sleeps longer than
//! [`Tuning::max_sleep`] (the safety poll), so a lost notification, a clock adjusted by NTP or
//! a machine that was suspended is noticed within that time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::definitions::{DefinitionChanges, SAFETY_POLL};
use super::{start_run, Fire, StartError, Started};
use crate::engine::{ScheduleDue, Store, StoreError};
use crate::events::{Event, TriggerKind};
use crate::lang::schedule::Compiled;
use crate::lang::templates::Variables;
use crate::queue::Queue;
use crate::run::unix_now_ms;

/// How the clock paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// The longest sleep between two looks at the events and the wall clock, without a change
    /// of the definitions.
    pub max_sleep: Duration,
    /// How long to wait before trying a fire again that the queue or the store refused.
    pub retry_after: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            max_sleep: SAFETY_POLL,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// The wall clock, as unix milliseconds.
pub trait WallClock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// The system's clock.
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now_ms(&self) -> u64 {
        unix_now_ms()
    }
}

/// What the clock reads and writes: the schedule events, their kept due times, and the queue.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// The enabled events whose trigger is a schedule.
    async fn schedule_events(&self) -> Result<Vec<Event>, StoreError>;
    async fn dues(&self) -> Result<HashMap<String, ScheduleDue>, StoreError>;
    async fn set_due(&self, event_id: &str, due: Option<&ScheduleDue>) -> Result<(), StoreError>;
    /// Starts a run of `event` for the due time `scheduled_ms` (shown as `scheduled_text`).
    async fn fire(
        &self,
        event: &Event,
        scheduled_ms: u64,
        scheduled_text: String,
    ) -> Result<Started, StartError>;

    /// What wakes the clock when the definitions change.
    fn definition_changes(&self) -> DefinitionChanges {
        DefinitionChanges::none()
    }
}

/// The real thing: the store and the queue.
pub struct Stored {
    pub store: Store,
    pub queue: Queue,
}

#[async_trait::async_trait]
impl Backend for Stored {
    async fn schedule_events(&self) -> Result<Vec<Event>, StoreError> {
        let mut events = self.store.events().await?;
        events.retain(|event| event.enabled && event.trigger.kind() == TriggerKind::Schedule);
        Ok(events)
    }

    async fn dues(&self) -> Result<HashMap<String, ScheduleDue>, StoreError> {
        Ok(self.store.schedule_dues().await?.into_iter().collect())
    }

    async fn set_due(&self, event_id: &str, due: Option<&ScheduleDue>) -> Result<(), StoreError> {
        self.store.set_schedule_due(event_id, due).await
    }

    async fn fire(
        &self,
        event: &Event,
        scheduled_ms: u64,
        scheduled_text: String,
    ) -> Result<Started, StartError> {
        start_run(&self.queue, event, fire_for(scheduled_ms, scheduled_text)).await
    }

    fn definition_changes(&self) -> DefinitionChanges {
        DefinitionChanges::new(self.store.changes())
    }
}

/// The fire of one due time: `{scheduled_time}`, and the due time as the occurrence.
pub fn fire_for(scheduled_ms: u64, scheduled_text: String) -> Fire {
    let mut variables = Variables::new();
    variables.insert("scheduled_time", scheduled_text);
    Fire::new(TriggerKind::Schedule, variables).with_occurrence(scheduled_ms.to_string())
}

/// Fires schedule events until `shutdown`.
pub async fn run_schedules(
    backend: impl Backend,
    clock: Arc<dyn WallClock>,
    tuning: Tuning,
    shutdown: CancellationToken,
) {
    // Subscribed before the first look, so no change after it is missed.
    let mut changes = backend.definition_changes();
    loop {
        let now = clock.now_ms();
        let wake = match tick(&backend, now, tuning).await {
            Ok(next) => next.unwrap_or(u64::MAX),
            Err(error) => {
                tracing::warn!(%error, "schedules: cannot read the events or their due times; trying again soon");
                now.saturating_add(tuning.retry_after.as_millis() as u64)
            }
        };
        let wait = Duration::from_millis(wake.saturating_sub(clock.now_ms())).min(tuning.max_sleep);
        let deadline = tokio::time::Instant::now() + wait;
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = changes.changed_before(deadline) => {}
        }
    }
}

/// One look at every schedule at `now`: fires the ones due, keeps each next due time, forgets
/// the ones whose event is gone. Answers when the earliest next due time is.
async fn tick(backend: &impl Backend, now: u64, tuning: Tuning) -> Result<Option<u64>, StoreError> {
    let events = backend.schedule_events().await?;
    let mut dues = backend.dues().await?;
    let mut earliest: Option<u64> = None;
    for event in &events {
        let kept = dues.remove(&event.id);
        let next = match step(backend, event, kept, now).await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(event = %event.id, %error, "schedules: could not fire; trying again soon");
                Some(now.saturating_add(tuning.retry_after.as_millis() as u64))
            }
        };
        earliest = match (earliest, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    // What is left belongs to events that are gone, disabled or no longer on a schedule.
    for event_id in dues.keys() {
        backend.set_due(event_id, None).await?;
    }
    Ok(earliest)
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One event at `now`: its next due time after whatever this did.
async fn step(
    backend: &impl Backend,
    event: &Event,
    kept: Option<ScheduleDue>,
    now: u64,
) -> Result<Option<u64>, StepError> {
    let Some(schedule) = event.trigger.schedule() else {
        return Ok(None);
    };
    let compiled = match schedule.compile() {
        Ok(compiled) => compiled,
        Err(error) => {
            // Checked when the file loaded; only a time zone database that changed under a
            // running hookbot gets here.
            tracing::error!(event = %event.id, %error, "schedules: the schedule cannot be used");
            return Ok(None);
        }
    };
    let fingerprint = schedule.fingerprint();
    let due = match kept {
        Some(due) if due.fingerprint == fingerprint => due.next_due_ms,
        _ => return keep_next(backend, event, &compiled, fingerprint, now).await,
    };
    if due > now {
        return Ok(Some(due));
    }
    // One fire for every due time missed since, standing for the latest of them.
    let scheduled = compiled
        .latest_at_or_before(now)
        .filter(|&latest| latest >= due)
        .unwrap_or(due);
    let started = backend
        .fire(event, scheduled, compiled.rfc3339(scheduled))
        .await?;
    match started {
        Started::New(run) => {
            tracing::info!(event = %event.id, %run, scheduled = %compiled.rfc3339(scheduled), "schedule fired")
        }
        Started::Skipped => {
            tracing::info!(event = %event.id, "schedule due; its [[when]] filters did not hold")
        }
        Started::Repeat(run) => {
            tracing::info!(event = %event.id, %run, "schedule due time already fired")
        }
    }
    keep_next(backend, event, &compiled, fingerprint, now).await
}

async fn keep_next(
    backend: &impl Backend,
    event: &Event,
    compiled: &Compiled,
    fingerprint: String,
    now: u64,
) -> Result<Option<u64>, StepError> {
    let next = compiled.next_after(now);
    let due = next.map(|next_due_ms| ScheduleDue {
        fingerprint,
        next_due_ms,
    });
    backend.set_due(&event.id, due.as_ref()).await?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    //! Pure timing, on tokio's paused clock: a backend in memory and a wall clock that moves
    //! with tokio's, so hours pass in no time and every fire lands exactly when it is due.

    use std::sync::Mutex;

    use super::*;
    use crate::lang::schedule::{Cadence, Schedule};
    use crate::run::RunId;

    /// 2026-03-28T12:00:00Z, a day before Europe/Berlin springs forward.
    const START_MS: u64 = 1_774_699_200_000;
    const MINUTE: u64 = 60_000;

    struct PausedClock {
        base_ms: u64,
        start: tokio::time::Instant,
    }

    impl WallClock for PausedClock {
        fn now_ms(&self) -> u64 {
            self.base_ms + self.start.elapsed().as_millis() as u64
        }
    }

    #[derive(Default)]
    struct Memory {
        events: Mutex<Vec<Event>>,
        dues: Mutex<HashMap<String, ScheduleDue>>,
        /// (event, scheduled ms, {scheduled_time}, wall clock then)
        fired: Mutex<Vec<(String, u64, String, u64)>>,
        clock: Mutex<Option<Arc<PausedClock>>>,
        changes: crate::engine::Changes,
    }

    #[async_trait::async_trait]
    impl Backend for Arc<Memory> {
        async fn schedule_events(&self) -> Result<Vec<Event>, StoreError> {
            Ok(self.events.lock().unwrap().clone())
        }
        async fn dues(&self) -> Result<HashMap<String, ScheduleDue>, StoreError> {
            Ok(self.dues.lock().unwrap().clone())
        }
        async fn set_due(&self, id: &str, due: Option<&ScheduleDue>) -> Result<(), StoreError> {
            let mut dues = self.dues.lock().unwrap();
            match due {
                Some(due) => dues.insert(id.to_owned(), due.clone()),
                None => dues.remove(id),
            };
            Ok(())
        }
        async fn fire(&self, event: &Event, ms: u64, text: String) -> Result<Started, StartError> {
            let now = self.clock.lock().unwrap().as_ref().unwrap().now_ms();
            let mut fired = self.fired.lock().unwrap();
            fired.push((event.id.clone(), ms, text, now));
            Ok(Started::New(RunId(fired.len() as u64)))
        }
        fn definition_changes(&self) -> DefinitionChanges {
            DefinitionChanges::new(self.changes.subscribe())
        }
    }

    fn scheduled(id: &str, cadence: Cadence, timezone: &str) -> Event {
        Event {
            id: id.into(),
            name: id.into(),
            server: 1,
            enabled: true,
            trigger: crate::events::Trigger::Schedule(Schedule {
                cadence,
                timezone: timezone.into(),
            }),
            ..Event::default()
        }
    }

    /// Runs the clock from `now_ms` (wall time) until `stop` is cancelled.
    fn start(
        memory: &Arc<Memory>,
        now_ms: u64,
    ) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let clock = Arc::new(PausedClock {
            base_ms: now_ms,
            start: tokio::time::Instant::now(),
        });
        *memory.clock.lock().unwrap() = Some(clock.clone());
        let stop = CancellationToken::new();
        let tuning = Tuning {
            max_sleep: Duration::from_secs(3600),
            retry_after: Duration::from_secs(5),
        };
        let task = tokio::spawn(run_schedules(memory.clone(), clock, tuning, stop.clone()));
        (stop, task)
    }

    async fn minutes(n: u64) {
        tokio::time::sleep(Duration::from_millis(n * MINUTE)).await;
    }

    fn fired(memory: &Memory) -> Vec<(u64, String, u64)> {
        let fired = memory.fired.lock().unwrap();
        fired
            .iter()
            .map(|(_, ms, text, at)| (*ms, text.clone(), *at))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn fires_once_at_each_due_time_and_not_at_start() {
        let memory = Arc::new(Memory::default());
        memory
            .events
            .lock()
            .unwrap()
            .push(scheduled("e", Cadence::EverySeconds(900), "UTC"));
        let (stop, task) = start(&memory, START_MS + 7 * MINUTE);
        minutes(40).await;
        stop.cancel();
        task.await.unwrap();
        let at = |m: u64| START_MS + m * MINUTE;
        assert_eq!(
            fired(&memory),
            [
                (at(15), "2026-03-28T12:15:00+00:00".to_owned(), at(15)),
                (at(30), "2026-03-28T12:30:00+00:00".to_owned(), at(30)),
                (at(45), "2026-03-28T12:45:00+00:00".to_owned(), at(45)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_across_due_times_fires_once_then_keeps_time() {
        let memory = Arc::new(Memory::default());
        memory
            .events
            .lock()
            .unwrap()
            .push(scheduled("e", Cadence::EverySeconds(600), "UTC"));
        let at = |m: u64| START_MS + m * MINUTE;
        let (stop, task) = start(&memory, at(1));
        minutes(15).await; // fires at 12:10
        stop.cancel();
        task.await.unwrap();
        assert_eq!(fired(&memory).len(), 1);

        // Stopped from 12:16 to 12:53: 12:20, 12:30, 12:40 and 12:50 were missed.
        let (stop, task) = start(&memory, at(53));
        minutes(10).await;
        stop.cancel();
        task.await.unwrap();
        let times: Vec<(u64, u64)> = fired(&memory)
            .iter()
            .map(|(ms, _, at)| (*ms, *at))
            .collect();
        assert_eq!(
            times,
            [(at(10), at(10)), (at(50), at(53)), (at(60), at(60))]
        );

        // A restart before the next due time fires nothing at start.
        let (stop, task) = start(&memory, at(62));
        minutes(5).await;
        stop.cancel();
        task.await.unwrap();
        assert_eq!(fired(&memory).len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn daylight_saving_as_croner_documents() {
        let memory = Arc::new(Memory::default());
        let event = scheduled("e", Cadence::Cron("30 2 * * *".into()), "Europe/Berlin");
        memory.events.lock().unwrap().push(event);
        let (stop, task) = start(&memory, START_MS);
        minutes(2 * 24 * 60).await;
        stop.cancel();
        task.await.unwrap();
        let texts: Vec<String> = fired(&memory)
            .into_iter()
            .map(|(_, text, _)| text)
            .collect();
        // 02:30 does not exist on the 29th: it runs at the first minute after the gap, once.
        assert_eq!(
            texts,
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_schedule_starts_afresh_and_a_removed_one_is_forgotten() {
        let memory = Arc::new(Memory::default());
        memory
            .events
            .lock()
            .unwrap()
            .push(scheduled("e", Cadence::EverySeconds(600), "UTC"));
        let at = |m: u64| START_MS + m * MINUTE;
        let (stop, task) = start(&memory, at(1));
        minutes(1).await;
        stop.cancel();
        task.await.unwrap();
        // Edited while stopped, across the old due time: nothing to catch up on.
        memory.events.lock().unwrap()[0] = scheduled("e", Cadence::EverySeconds(3600), "UTC");
        let (stop, task) = start(&memory, at(30));
        minutes(1).await;
        assert!(fired(&memory).is_empty());
        assert_eq!(memory.dues.lock().unwrap()["e"].next_due_ms, at(60));
        memory.events.lock().unwrap().clear();
        minutes(60).await;
        stop.cancel();
        task.await.unwrap();
        assert!(fired(&memory).is_empty());
        assert!(memory.dues.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_schedule_added_while_running_is_picked_up_at_once_not_at_the_safety_poll() {
        let memory = Arc::new(Memory::default());
        let at = |m: u64| START_MS + m * MINUTE;
        // The clock sleeps up to an hour (`start`'s tuning) when nothing is due.
        let (stop, task) = start(&memory, at(0));
        minutes(5).await;
        memory
            .events
            .lock()
            .unwrap()
            .push(scheduled("e", Cadence::EverySeconds(600), "UTC"));
        memory.changes.announce(crate::engine::Change::Definitions);
        minutes(6).await;
        stop.cancel();
        task.await.unwrap();
        let times: Vec<(u64, u64)> = fired(&memory)
            .iter()
            .map(|(ms, _, at)| (*ms, *at))
            .collect();
        assert_eq!(times, [(at(10), at(10))]);
    }
}
