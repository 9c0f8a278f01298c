//! A run: one start of one event (a webhook call or its `[trigger]`), its variables and what each action did.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::TriggerKind;
use crate::lang::document::Document;
use crate::lang::templates::Variables;

/// Unix time in milliseconds, as every time in a run, a step and the store is kept.
pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A run's identity: the engine's persistent monotonic id, so runs sort in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl RunId {
    /// The opaque text form the webhook API answers with.
    pub fn to_text(self) -> String {
        self.to_string()
    }

    pub fn parse(text: &str) -> Option<RunId> {
        let hex = text.strip_prefix("run_")?;
        if hex.len() != 16 {
            return None;
        }
        u64::from_str_radix(hex, 16).ok().map(RunId)
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run_{:016x}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Accepted and durable; not finished.
    Pending,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub event_id: String,
    /// Unix time in milliseconds when the webhook was accepted.
    pub received_at_ms: u64,
    /// The caller's variables, keyed by the name between the braces.
    pub variables: Variables,
    pub status: RunStatus,
    /// Unix time in milliseconds when the first step started; the run's time budget counts
    /// from here, across restarts.
    #[serde(default)]
    pub started_at_ms: Option<u64>,
    /// Unix time in milliseconds when the run finished.
    #[serde(default)]
    pub finished_at_ms: Option<u64>,
    /// How many steps the run has taken; each one is kept as a [`Step`] beside the run.
    #[serde(default)]
    pub steps: u32,
    pub error: Option<RunFailure>,
    /// Attempts made so far at the action the run is stuck on (transient failures: 5xx, 429,
    /// timeouts); 0 when it is not retrying.
    #[serde(default)]
    pub attempts: u32,
    /// Unix time in milliseconds before which a run waiting to retry is not taken up again.
    #[serde(default)]
    pub next_attempt_at_ms: Option<u64>,
    /// The run failed because it kept failing transiently (`max_attempts` or `give_up_after`):
    /// kept, listed by `hookbot runs --failed`, retryable with `hookbot runs retry`.
    #[serde(default)]
    pub dead_lettered: bool,
    /// Milliseconds spent waiting between attempts; they do not count against the run's own
    /// time budget.
    #[serde(default)]
    pub retry_waited_ms: u64,
    /// Unix time in milliseconds when `hookbot runs retry` put the run back in the queue;
    /// `give_up_after` then counts from here.
    #[serde(default)]
    pub requeued_at_ms: Option<u64>,
    /// The request's body as a JSON document (form fields as an object of strings), for
    /// `{body…}`; `None` for an empty body. Its numbers keep the digits the caller sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Document>,
    /// The request's headers, lower-case names, for `{header.…}`: never credentials, cookies or
    /// signatures.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The URL's query parameters, decoded, for `{query.…}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// What started the run: its webhook, or the event's `[trigger]`.
    #[serde(default, skip_serializing_if = "is_webhook")]
    pub trigger: TriggerKind,
    /// The interaction a command or button run answers with `reply`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<InteractionRef>,
}

fn is_webhook(kind: &TriggerKind) -> bool {
    *kind == TriggerKind::Webhook
}

/// The Discord interaction (a slash command or a button click) that started a run: what a
/// `reply` needs to answer it. Discord honours the token for 15 minutes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRef {
    pub id: u64,
    pub application_id: u64,
    /// The interaction's token: lets its holder answer for 15 minutes, so it is kept with the
    /// run but never shown (`Debug` leaves it out).
    pub token: String,
    /// Whether the interaction was acknowledged with a deferred answer (a reply then edits it
    /// or follows it up) rather than answered outright.
    #[serde(default)]
    pub deferred: bool,
    /// Whether the acknowledgement was "thinking…" (a deferred message, for a command whose
    /// event replies): the first `reply` then edits it, and a run that ends without replying
    /// edits it into a notice. (A click's deferred update has no message of its own.)
    #[serde(default)]
    pub thinking: bool,
}

impl std::fmt::Debug for InteractionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InteractionRef")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("deferred", &self.deferred)
            .field("thinking", &self.thinking)
            .finish_non_exhaustive()
    }
}

impl Run {
    pub fn new(id: RunId, event_id: String, variables: Variables, received_at_ms: u64) -> Self {
        Run {
            id,
            event_id,
            received_at_ms,
            variables,
            status: RunStatus::Pending,
            started_at_ms: None,
            finished_at_ms: None,
            steps: 0,
            error: None,
            attempts: 0,
            next_attempt_at_ms: None,
            dead_lettered: false,
            retry_waited_ms: 0,
            requeued_at_ms: None,
            payload: None,
            headers: BTreeMap::new(),
            query: BTreeMap::new(),
            trigger: TriggerKind::Webhook,
            interaction: None,
        }
    }
}

/// One step of a run: an action carried out (or, for flow actions, the decision taken). The
/// steps of a run are its journal: a resumed run replays them in order instead of repeating
/// them, so it continues exactly where it stopped, with the same branches taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Where the action sits in the event: `3`, `3.then.1`, `5.loop[2].0`, `2.on_error.0`
    /// (1-based at each level, as people count).
    pub path: String,
    /// The action's `type`.
    pub action: String,
    /// The action's line in its event file; 0 if unknown.
    #[serde(default)]
    pub line: u32,
    pub started_at_ms: u64,
    pub duration_ms: u64,
    pub outcome: StepOutcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The channel the action touched (id, name): `{channel_id}` and `{channel_name}` after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<(u64, String)>,
}

/// Whether a `reply` among `steps` (a run's journal) was carried out: the run has answered the
/// interaction that started it.
pub fn has_replied(steps: &[Step]) -> bool {
    steps
        .iter()
        .any(|step| step.action == "reply" && matches!(step.outcome, StepOutcome::Done { .. }))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepOutcome {
    /// The action did what it says. `output` is what `save_as` keeps (message id, …) and, for
    /// flow actions, the decision taken (`branch`, `count`).
    Done {
        summary: String,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        output: serde_json::Map<String, serde_json::Value>,
    },
    /// The action failed. `handled`: its `on_error` actions ran and the run went on.
    Failed { error: ActionError, handled: bool },
    /// A `wait` began; the run continues at `until_ms` (also after a restart).
    Waiting { until_ms: u64 },
}

/// Why an action failed, in the words `{error.message}` and `{error.code}` give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionError {
    pub message: String,
    /// Discord's JSON error code, the HTTP status, or a short word (`invalid`, `timeout`).
    pub code: String,
    /// Discord's JSON error code (e.g. 50013), when Discord answered with one.
    #[serde(default)]
    pub discord_code: Option<i64>,
    /// The HTTP status Discord answered with, when it answered.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// For a 429 (or a call hookbot's governor held back): how long to wait before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// Why a run stopped: which action, and Discord's own words when Discord refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    /// The failed action's path in the event, as in [`Step::path`]; empty when the run stopped
    /// before any action (its event was gone, its budget spent).
    pub path: String,
    pub action: String,
    pub message: String,
    /// Discord's JSON error code (e.g. 50013), when Discord answered with one.
    pub discord_code: Option<i64>,
    /// The HTTP status Discord answered with, when it answered.
    pub http_status: Option<u16>,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)?;
        } else {
            write!(
                f,
                "action {} ({}) failed: {}",
                self.path, self.action, self.message
            )?;
        }
        match (self.discord_code, self.http_status) {
            (Some(code), Some(status)) => write!(f, " (Discord code {code}, HTTP {status})"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_text_roundtrip() {
        let id = RunId(0x1234);
        assert_eq!(id.to_text(), "run_0000000000001234");
        assert_eq!(RunId::parse(&id.to_text()), Some(id));
        assert_eq!(RunId::parse("run_12"), None);
        assert_eq!(RunId::parse("0000000000001234"), None);
    }
}
