//! Every way a console request fails, mapped once to a status and a page a person can read.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{page, Nav};
use crate::admin::error::AdminError;
use crate::engine::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// A POST without the right CSRF token, or from another origin.
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed sign-ins from this address; try again in {0} s")]
    TooManyFailures(u64),
    #[error("{0}")]
    Unavailable(String),
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Admin(AdminError),
}

impl From<AdminError> for ConsoleError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::NotFound(message) => ConsoleError::NotFound(message),
            AdminError::BadRequest(message) => ConsoleError::BadRequest(message),
            AdminError::Requeue(refused) => ConsoleError::BadRequest(refused.to_string()),
            other => ConsoleError::Admin(other),
        }
    }
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Store(_) | ConsoleError::Admin(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
        }
        let title = status.canonical_reason().unwrap_or("Error");
        let body = page(
            title,
            Nav::None,
            html! {
                h1 { (title) }
                p.error role="alert" { (self.to_string()) }
                p { a href="/events" { "Back to the events" } }
            },
        );
        let mut response = (status, body).into_response();
        if let ConsoleError::TooManyFailures(seconds) = self {
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
