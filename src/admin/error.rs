//! The one error of the admin boundary: what an admin operation can fail with on either side
//! of the socket, mapped to an HTTP status and code once, here.
//!
//! The text of each variant is what the CLI prints, whether the operation ran in the running
//! hookbot (the message crosses the socket in an [`ErrorBody`]) or in the CLI on a stopped one.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::protocol::ErrorBody;
use crate::engine::StoreError;
use crate::queue::RequeueError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request names nothing valid: a malformed run id, an import that does not check out.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The peer is not the user that runs hookbot.
    #[error("only the user that runs hookbot may use its admin socket")]
    Forbidden,
    #[error(transparent)]
    Requeue(#[from] RequeueError),
    #[error(transparent)]
    Store(#[from] StoreError),

    // The client's side: reaching the socket and reading its answer.
    /// The database is held, so a hookbot runs, but nothing answers on its socket.
    #[error("hookbot is running and holds the database at {}, but its admin socket {} does not answer; is that hookbot older than this one? stop it and run this again", .database.display(), .socket.display())]
    NotAnswering { database: PathBuf, socket: PathBuf },
    #[error("cannot reach hookbot's admin socket {}", .socket.display())]
    Unreachable {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("hookbot's admin socket did not answer in time")]
    Timeout,
    #[error("talking to hookbot's admin socket {}", .socket.display())]
    Exchange {
        socket: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The running hookbot refused the request; its message, as it gave it.
    #[error("{0}")]
    Refused(String),
    #[error("hookbot's admin socket answered unreadable JSON")]
    Unreadable(#[source] serde_json::Error),
}

impl AdminError {
    /// The status and stable code the socket answers with.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            AdminError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AdminError::NotFound(_) | AdminError::Requeue(RequeueError::NoRun(_)) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            AdminError::Requeue(RequeueError::NotFailed(..)) => (StatusCode::CONFLICT, "conflict"),
            AdminError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, error) = self.status();
        let body = ErrorBody {
            ok: false,
            error: error.to_owned(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}
