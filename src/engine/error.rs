//! The one error every storage engine answers with, in words the caller can act on.

use std::path::PathBuf;

use super::limits::{MAX_VARIABLE_NAME_CHARS, MAX_VARIABLE_VALUE_BYTES};

/// What an engine's own failures are carried as: the engines' error types stay inside the
/// engine that names them, so nothing above `engine/` depends on sled (or a SQL client).
pub type EngineFailure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database at {0} is in use by another hookbot process; stop it first")]
    Locked(PathBuf),
    #[error("cannot open the database at {path}: {source}")]
    Open {
        path: PathBuf,
        source: EngineFailure,
    },
    #[error("the database at {path} cannot be read ({detail}): it is damaged or was written by an incompatible version of hookbot. Restore the folder from a backup, or move it aside (e.g. rename it to {}.broken) to start with an empty database", .path.display())]
    Unreadable { path: PathBuf, detail: String },
    #[error("database error: {0}")]
    Engine(EngineFailure),
    #[error("a stored record could not be read ({0}); the database may be from another version")]
    Decode(#[from] serde_json::Error),
    #[error("a variable name cannot be empty")]
    EmptyVariableName,
    #[error("the variable name \"{start}…\" has {chars} characters; at most {MAX_VARIABLE_NAME_CHARS} are allowed")]
    VariableNameTooLong { start: String, chars: usize },
    #[error("the value for variable \"{name}\" is {bytes} bytes; at most {MAX_VARIABLE_VALUE_BYTES} are allowed")]
    VariableValueTooLarge { name: String, bytes: usize },
    #[error("a stored variable could not be read; the database may be from another version")]
    CorruptVariable,
}
