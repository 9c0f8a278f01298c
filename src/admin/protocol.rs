//! What the admin socket speaks: where the socket is, the JSON documents of each request and
//! answer, and the error body. Both sides of the socket use these types and nothing else.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{EventRevision, IdempotencyRecord, ScheduleDue, VariableScope};
use crate::events::Event;
use crate::problem::quoted;
use crate::run::{Run, Step};

/// The admin socket of the database at `database`: beside it, named after it.
pub fn socket_path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "db".into());
    name.push(".sock");
    database.with_file_name(name)
}

/// Who is running: `GET /status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// As text: JSON numbers past 2^53 lose digits in many readers.
    pub bot_id: Option<String>,
    /// The base of webhook URLs (`http.public_url`, or the bound listener).
    pub base_url: String,
}

impl Status {
    pub fn bot_id(&self) -> Option<u64> {
        self.bot_id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// `POST /key/rotate` and `POST /console/key`: the new key, the only time it exists outside the
/// caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewKey {
    pub key: String,
}

/// `GET /runs?event=&failed=&limit=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunsQuery {
    pub event: Option<String>,
    #[serde(default)]
    pub failed: bool,
    pub limit: Option<usize>,
}

/// `GET /runs/{id}`: a run and its steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: Run,
    pub steps: Vec<Step>,
}

/// `POST /runs/{id}/retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Retried {
    pub run: Run,
    /// True when a running hookbot took it up at once.
    pub running: bool,
}

/// One accepted version of an event: `hookbot event show` lists them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionInfo {
    pub revision: u32,
    pub accepted_at_ms: u64,
}

/// `GET /events/{id}`: the event as served, and its revisions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventInfo {
    pub event: Event,
    pub revisions: Vec<RevisionInfo>,
}

/// A persistent variable in an export: the scope's ids as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedVariable {
    /// `global`, `server`, `user` or `channel`.
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub name: String,
    pub value: String,
}

impl ExportedVariable {
    pub(super) fn new(scope: &VariableScope, name: String, value: String) -> Self {
        let mut v = ExportedVariable {
            scope: String::new(),
            server: None,
            user: None,
            channel: None,
            name,
            value,
        };
        v.scope = match scope {
            VariableScope::Global => "global",
            VariableScope::Server(server) => {
                v.server = Some(server.to_string());
                "server"
            }
            VariableScope::User { server, user } => {
                v.server = Some(server.to_string());
                v.user = Some(user.to_string());
                "user"
            }
            VariableScope::Channel(channel) => {
                v.channel = Some(channel.to_string());
                "channel"
            }
        }
        .to_owned();
        v
    }

    /// The scope the ids name; an explanation naming the variable when they name none.
    pub(super) fn scope(&self) -> Result<VariableScope, String> {
        let id = |field: &Option<String>, what: &str| -> Result<u64, String> {
            field
                .as_deref()
                .ok_or_else(|| {
                    format!(
                        "variable {}: a {} scope needs \"{what}\"",
                        quoted(&self.name),
                        self.scope
                    )
                })?
                .parse()
                .map_err(|_| format!("variable {}: \"{what}\" is not an id", quoted(&self.name)))
        };
        Ok(match self.scope.as_str() {
            "global" => VariableScope::Global,
            "server" => VariableScope::Server(id(&self.server, "server")?),
            "user" => VariableScope::User {
                server: id(&self.server, "server")?,
                user: id(&self.user, "user")?,
            },
            "channel" => VariableScope::Channel(id(&self.channel, "channel")?),
            other => {
                return Err(format!(
                    "variable {}: unknown scope {} (global, server, user or channel)",
                    quoted(&self.name),
                    quoted(other)
                ))
            }
        })
    }
}

/// Settings in an export. The API key is only ever its hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportedSettings {
    /// Lower-case hex SHA-256 of the API key.
    pub api_key_hash: Option<String>,
    pub bot_id: Option<String>,
    /// The install's id (32 hex digits): run ids and message nonces carry it, so a run imported
    /// while queued resumes with the nonces it had. Absent in older exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_id: Option<String>,
}

/// A schedule's next due time in an export, so the move neither repeats nor skips a fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedDue {
    pub event: String,
    #[serde(flatten)]
    pub due: ScheduleDue,
}

/// The value of a button too long for its `custom_id`, under the key the button carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedButtonValue {
    pub key: String,
    pub value: String,
}

/// What the store contributes to an export: `GET /export`, and the body of `POST /import`.
/// The history (runs, idempotency keys, revisions) may be absent, as in exports made before it
/// was carried: then there is none to import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreExport {
    pub settings: ExportedSettings,
    pub variables: Vec<ExportedVariable>,
    #[serde(default)]
    pub runs: Vec<ExportedRun>,
    #[serde(default)]
    pub idempotency_keys: Vec<ExportedKey>,
    #[serde(default)]
    pub revisions: Vec<ExportedRevision>,
    #[serde(default)]
    pub schedule_dues: Vec<ExportedDue>,
    #[serde(default)]
    pub button_values: Vec<ExportedButtonValue>,
}

/// A run in an export: its record and journal as the store keeps them, and whether it waits in
/// the queue (and until when, for a retry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedRun {
    pub run: Run,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Accepted and not finished: it is carried out after the import.
    #[serde(default)]
    pub queued: bool,
    /// When a queued run waits for a retry: the unix ms of its next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
}

/// An idempotency key in an export, with the run it started and the answer it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedKey {
    pub event: String,
    /// The caller's key, its bytes in lower-case hex.
    pub key_hex: String,
    pub record: IdempotencyRecord,
}

/// One accepted version of an event, as `hookbot event show` lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedRevision {
    pub event: String,
    pub revision: EventRevision,
}

/// What `POST /import` restored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreImported {
    pub variables: usize,
    pub api_key_hash: bool,
    pub bot_id: bool,
    /// Runs written (a run whose id the store has already is left as it is), and how many of
    /// them wait in the queue.
    #[serde(default)]
    pub runs: usize,
    #[serde(default)]
    pub queued: usize,
    #[serde(default)]
    pub idempotency_keys: usize,
    #[serde(default)]
    pub revisions: usize,
    #[serde(default)]
    pub schedule_dues: usize,
    #[serde(default)]
    pub button_values: usize,
    /// Whether the store took the export's install id (only a store with no runs does).
    #[serde(default)]
    pub install_id: bool,
}

/// An event file in an export: its name in the events folder and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub file: String,
    pub text: String,
}

/// `hookbot export`'s document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// 1: this shape.
    pub version: u32,
    pub exported_at: String,
    pub settings: ExportedSettings,
    pub variables: Vec<ExportedVariable>,
    pub events: Vec<ExportedEvent>,
    /// Every run with its journal and place in the queue; absent in older exports.
    #[serde(default)]
    pub runs: Vec<ExportedRun>,
    #[serde(default)]
    pub idempotency_keys: Vec<ExportedKey>,
    #[serde(default)]
    pub revisions: Vec<ExportedRevision>,
    #[serde(default)]
    pub schedule_dues: Vec<ExportedDue>,
    #[serde(default)]
    pub button_values: Vec<ExportedButtonValue>,
}

/// The `version` of the [`Export`] this hookbot writes, and the only one it imports.
pub const EXPORT_VERSION: u32 = 1;

/// An answer that is not 2xx: `{"ok":false,"error":…,"message":…}`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ErrorBody {
    pub ok: bool,
    /// A stable code (`bad_request`, `not_found`, …) for scripts.
    pub error: String,
    /// What a person reads: the CLI prints it as it is.
    pub message: String,
}
