//! A run: one accepted webhook call of one event, its variables and what each action did.

use serde::{Deserialize, Serialize};

use crate::templates::Variables;

/// A run's identity: sled's persistent monotonic id, so runs sort in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl RunId {
    /// The opaque text form the webhook API answers with.
    pub fn to_text(self) -> String {
        format!("run_{:016x}", self.0)
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
        f.write_str(&self.to_text())
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
    /// One entry per finished action, in order: the run resumes at `results.len()`.
    pub results: Vec<ActionOutcome>,
    pub error: Option<RunFailure>,
}

impl Run {
    pub fn new(id: RunId, event_id: String, variables: Variables, received_at_ms: u64) -> Self {
        Run {
            id,
            event_id,
            received_at_ms,
            variables,
            status: RunStatus::Pending,
            results: Vec::new(),
            error: None,
        }
    }
}

/// What one action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// The action's `type`.
    pub action: String,
    /// A one-line description in plain words (`sent message 123 to #deploys`).
    pub summary: String,
    /// Ids the action produced (message id, channel id, …), for callers and later actions.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub output: serde_json::Map<String, serde_json::Value>,
}

/// Why a run stopped: which action, and Discord's own words when Discord refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    /// Index into the event's actions.
    pub action_index: usize,
    pub action: String,
    pub message: String,
    /// Discord's JSON error code (e.g. 50013), when Discord answered with one.
    pub discord_code: Option<i64>,
    /// The HTTP status Discord answered with, when it answered.
    pub http_status: Option<u16>,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "action {} ({}) failed: {}",
            self.action_index + 1,
            self.action,
            self.message
        )?;
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
