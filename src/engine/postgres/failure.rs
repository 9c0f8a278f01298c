//! PostgreSQL's errors as the engine's own, with their causes in the message.

use crate::engine::error::StoreError;

/// A PostgreSQL failure as the engine's own error, with its causes in the message:
/// tokio-postgres keeps the reason (a server without TLS, a refused certificate, a wrong
/// password) in the error's source, which a log line or a 503 would not show.
pub(super) fn failure(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(reason) = cause {
        let said = reason.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = reason.source();
    }
    StoreError::Engine(text.into())
}
