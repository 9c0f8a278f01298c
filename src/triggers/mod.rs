//! What starts runs besides webhooks: Discord's gateway events and interactions, and schedules.
//! Every one of them enters through [`start_run`], which applies the event's `[[when]]` filters
//! and queues the run through the same durable [`Queue::enqueue`] as a webhook, so history,
//! retries, the journal and `hookbot runs` treat them alike.
//!
//! - [`schedule`]: the clock that fires `schedule` events, with due times kept in the store
//! - [`buttons`]: what a button's `custom_id` carries, so a click runs its event after a restart
//! - [`definitions`]: waking when the event definitions change (the store's change feed, with
//!   a slow safety poll), for the tasks that follow them

pub mod buttons;
pub mod definitions;
pub mod schedule;

use crate::engine::{IdempotencyKey, StoredAnswer};
use crate::events::{Condition, Event, TriggerKind};
use crate::executor::conditions::{self, Facts};
use crate::lang::templates::Variables;
use crate::queue::{EnqueueError, Enqueued, Queue};
use crate::run::{unix_now_ms, InteractionRef, RunId};

/// One occurrence of a trigger, as the code that saw it (the gateway, the schedule clock)
/// describes it.
#[derive(Debug, Clone)]
pub struct Fire {
    pub kind: TriggerKind,
    /// The variables contract §7 lists for the kind: `{user_id}`, `{option_env}`…
    pub variables: Variables,
    /// The interaction a command or a click started, for `reply`.
    pub interaction: Option<InteractionRef>,
    /// What identifies this occurrence to whoever delivered it (a message id, an interaction
    /// id, a due time): the same occurrence within the idempotency window starts no second run,
    /// so a gateway replay or a restart in the middle of a fire never runs an event twice.
    pub occurrence: Option<String>,
}

impl Fire {
    pub fn new(kind: TriggerKind, variables: Variables) -> Fire {
        Fire {
            kind,
            variables,
            interaction: None,
            occurrence: None,
        }
    }

    pub fn with_interaction(mut self, interaction: InteractionRef) -> Fire {
        self.interaction = Some(interaction);
        self
    }

    pub fn with_occurrence(mut self, occurrence: impl Into<String>) -> Fire {
        self.occurrence = Some(occurrence.into());
        self
    }
}

/// What [`start_run`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Started {
    /// The run is recorded and queued, durably.
    New(RunId),
    /// A `[[when]]` filter did not hold: nothing runs.
    Skipped,
    /// This occurrence already started that run (within the idempotency window).
    Repeat(RunId),
}

/// Why [`start_run`] accepted nothing.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("event {event:?} is started by a {wanted} trigger, not by {got}")]
    WrongTrigger {
        event: String,
        wanted: TriggerKind,
        got: TriggerKind,
    },
    #[error("event {0:?} is disabled")]
    Disabled(String),
    #[error(transparent)]
    Queue(#[from] EnqueueError),
}

/// Starts a run of `event` for `fire`, through the queue: checks the event is started by this
/// kind of trigger, applies its `[[when]]` filters to the fire's variables, and queues the run
/// durably (a repeated occurrence answers with the run it started). When this returns
/// `Ok(Started::New)`, the run will execute even if the process stops at once.
pub async fn start_run(queue: &Queue, event: &Event, fire: Fire) -> Result<Started, StartError> {
    let wanted = event.trigger.kind();
    if wanted != fire.kind {
        return Err(StartError::WrongTrigger {
            event: event.id.clone(),
            wanted,
            got: fire.kind,
        });
    }
    if !event.enabled {
        return Err(StartError::Disabled(event.id.clone()));
    }
    if !passes(&event.when, &fire.variables).await {
        return Ok(Started::Skipped);
    }
    let now_ms = unix_now_ms();
    let key = fire
        .occurrence
        .as_ref()
        .map(|occurrence| format!("{}:{occurrence}", fire.kind));
    let key = key.as_ref().map(|key| IdempotencyKey {
        event_id: &event.id,
        key: key.as_bytes(),
    });
    let Fire {
        kind,
        variables,
        interaction,
        ..
    } = fire;
    let build = |id: RunId| {
        let mut run = crate::run::Run::new(id, event.id.clone(), variables, now_ms);
        run.trigger = kind;
        run.interaction = interaction;
        let answer = StoredAnswer {
            status: 200,
            body: serde_json::json!({ "ok": true, "run": id.to_text() }),
        };
        (run, answer)
    };
    match queue.enqueue(key, now_ms, build).await? {
        Enqueued::New(run) => {
            tracing::info!(event = %event.id, run = %run.id, trigger = %kind, "run started by its trigger");
            Ok(Started::New(run.id))
        }
        Enqueued::Replay(record) => Ok(Started::Repeat(record.run)),
    }
}

/// True when every `[[when]]` condition holds over the fire's variables.
pub async fn passes(when: &[Condition], variables: &Variables) -> bool {
    for condition in when {
        let verdict = match conditions::evaluate(condition, variables, &mut NoMember).await {
            Ok(verdict) => verdict,
            Err(never) => match never {},
        };
        if !verdict.holds {
            return false;
        }
    }
    true
}

/// What a `[[when]]` filter may ask beyond the variables: nothing about members (the parser
/// refuses `has_role` there), and a dice roll for `chance`.
struct NoMember;

impl Facts for NoMember {
    type Error = std::convert::Infallible;

    async fn has_role(&mut self, _user: &str, _role: &str) -> Result<bool, Self::Error> {
        Ok(false)
    }

    fn roll(&mut self) -> f64 {
        rand::random::<f64>() * 100.0
    }
}

#[cfg(test)]
mod tests;
