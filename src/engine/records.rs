//! The records an engine keeps, the same for every engine: variable scopes, idempotency keys
//! and the answers they stand for, event revisions, run listings, and what a prune or a reload
//! reports.

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::limits::{IDEMPOTENCY_WINDOW, MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES};
use crate::events::Event;
use crate::run::{Run, RunId, RunStatus};

/// A new run's id from its install id and a counter: the top 24 bits come from the install id
/// (highest bit set, so every new id sorts after those of databases made before install ids
/// existed), the low 40 bits count up. Two databases thus hand out different ids, and ids still
/// sort by age.
pub fn run_id(install_id: u128, counter: u64) -> RunId {
    const COUNTER_BITS: u32 = 40;
    let prefix = (install_id as u64 & 0x7f_ffff) | 0x80_0000;
    RunId((prefix << COUNTER_BITS) | (counter & ((1 << COUNTER_BITS) - 1)))
}

/// Whose a variable is: the same name holds a separate value in each scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableScope {
    /// One value for the whole bot.
    Global,
    /// One value per server.
    Server(u64),
    /// One value per member: the same user has a separate value in each server.
    User { server: u64, user: u64 },
    /// One value per channel.
    Channel(u64),
}

impl std::fmt::Display for VariableScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableScope::Global => f.write_str("global"),
            VariableScope::Server(server) => write!(f, "server {server}"),
            VariableScope::User { server, user } => write!(f, "user {user} in server {server}"),
            VariableScope::Channel(channel) => write!(f, "channel {channel}"),
        }
    }
}

/// Checks a variable's name and value against the limits; every engine calls it before it
/// writes, so the limits do not depend on the engine.
pub fn check_variable(name: &str, value: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::EmptyVariableName);
    }
    let chars = name.chars().count();
    if chars > MAX_VARIABLE_NAME_CHARS {
        return Err(StoreError::VariableNameTooLong {
            start: name.chars().take(20).collect(),
            chars,
        });
    }
    if value.len() > MAX_VARIABLE_VALUE_BYTES {
        return Err(StoreError::VariableValueTooLarge {
            name: name.to_owned(),
            bytes: value.len(),
        });
    }
    Ok(())
}

/// An answer the webhook gave, kept so a repeated request gets it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: serde_json::Value,
}

/// What an idempotency key stands for: the run it started and the answer it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub run: RunId,
    pub accepted_at_ms: u64,
    pub answer: StoredAnswer,
}

impl IdempotencyRecord {
    /// Whether the key is forgotten by `now_ms` ([`IDEMPOTENCY_WINDOW`] after its run).
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.accepted_at_ms) >= IDEMPOTENCY_WINDOW.as_millis() as u64
    }
}

/// A caller's idempotency key for one event.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyKey<'a> {
    pub event_id: &'a str,
    pub key: &'a [u8],
}

/// A key to remember with a new run, and the answer its request gets.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    pub key: IdempotencyKey<'a>,
    pub answer: &'a StoredAnswer,
}

/// What [`Engine::accept_run`](crate::engine::Engine::accept_run) did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// The run is recorded and queued.
    New,
    /// The key was seen within [`IDEMPOTENCY_WINDOW`]: no run was started; this is the first one.
    Replay(IdempotencyRecord),
}

/// What [`Engine::prune`](crate::engine::Engine::prune) deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: u64,
    pub idempotency_keys: u64,
}

/// What [`Engine::replace_events`](crate::engine::Engine::replace_events) changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplacedEvents {
    pub added_or_changed: Vec<String>,
    pub removed: Vec<String>,
}

/// One accepted version of an event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRevision {
    /// 1 for the first version, counting up.
    pub revision: u32,
    pub accepted_at_ms: u64,
    pub event: Event,
}

/// Which runs a listing (`hookbot runs`) shows: a query an engine can answer its own way.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub event: Option<String>,
    /// Failed or dead-lettered only.
    pub failed: bool,
    pub limit: usize,
}

impl RunFilter {
    pub fn matches(&self, run: &Run) -> bool {
        self.event.as_deref().map_or(true, |e| run.event_id == e)
            && (!self.failed || run.status == RunStatus::Failed)
    }
}

/// When a schedule event fires next, and what its schedule was when that was worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleDue {
    /// The schedule's [`fingerprint`](crate::lang::schedule::Schedule::fingerprint): when the
    /// file's schedule changes, the kept due time no longer counts.
    pub fingerprint: String,
    /// Unix ms of the next due time not yet fired.
    pub next_due_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_serialise_readably() {
        let user = VariableScope::User { server: 1, user: 2 };
        let json = serde_json::to_string(&user).unwrap();
        assert_eq!(json, r#"{"user":{"server":1,"user":2}}"#);
        assert_eq!(serde_json::from_str::<VariableScope>(&json).unwrap(), user);
        assert_eq!(
            serde_json::to_string(&VariableScope::Global).unwrap(),
            r#""global""#
        );
    }
}
