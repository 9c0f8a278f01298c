//! Every way a webhook request can be refused, mapped once to a status, an error code and headers.
//!
//! The listener's steps return `Result<_, WebhookError>` and use `?`; a store failure converts
//! by `From`, so every one of them answers the same 503. A 401 keeps its exact cause for the log
//! ([`WebhookError::logged_reason`]) and tells the caller only [`UNAUTHORIZED_MESSAGE`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::engine::StoreError;

/// The one message every 401 carries, whatever the cause (a wrong or missing key, a bad or
/// missing signature, an unknown event): CONTRACT §4. A caller without credentials must not
/// learn which events exist or how each is signed; the exact cause is logged with the request's
/// id instead.
pub const UNAUTHORIZED_MESSAGE: &str =
    "the request is not authenticated: check the API key or the signature it carries";

/// What a 503 tells the client to wait before retrying.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("this URL only accepts POST")]
    MethodNotAllowed,
    #[error("{0}")]
    NotFound(String),
    /// `cause` is for the log only, never for the caller.
    #[error("{UNAUTHORIZED_MESSAGE}")]
    Unauthorized { cause: String },
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("the body is larger than the {limit} bytes this server accepts (http.max_body_bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body did not arrive within {0} seconds")]
    BodyTimeout(u64),
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_secs: u64,
    },
    /// Whatever the store failed with (a full disk, a damaged database), nothing was accepted:
    /// the caller hears only that, and retries.
    #[error("the run could not be stored; nothing was accepted, retry later")]
    Store(#[from] StoreError),
}

impl WebhookError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebhookError::NotFound(_) => StatusCode::NOT_FOUND,
            WebhookError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            WebhookError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebhookError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebhookError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            WebhookError::Unavailable { .. } | WebhookError::Store(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The machine-readable `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MethodNotAllowed => "method_not_allowed",
            WebhookError::NotFound(_) => "not_found",
            WebhookError::Unauthorized { .. } => "unauthorized",
            WebhookError::RateLimited { .. } => "rate_limited",
            WebhookError::PayloadTooLarge { .. } => "payload_too_large",
            WebhookError::BadRequest(_) => "bad_request",
            WebhookError::BodyTimeout(_) => "request_timeout",
            WebhookError::Unavailable { .. } | WebhookError::Store(_) => "unavailable",
        }
    }

    /// What the log says about this refusal: a 401's exact cause, else what the caller was told.
    pub fn logged_reason(&self) -> String {
        match self {
            WebhookError::Unauthorized { cause } => cause.clone(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        if let WebhookError::Store(error) = &self {
            tracing::error!(%error, "store error while accepting a webhook");
        }
        let body = json!({"ok": false, "error": self.code(), "message": self.to_string()});
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            WebhookError::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            WebhookError::RateLimited {
                retry_after_secs, ..
            }
            | WebhookError::Unavailable {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            WebhookError::Store(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 401 tells the caller the same thing; only the log learns the cause.
    #[test]
    fn a_401_hides_its_cause_from_the_caller() {
        let error = WebhookError::Unauthorized {
            cause: "the X-Hub-Signature-256 header is missing".to_owned(),
        };
        assert_eq!(error.to_string(), UNAUTHORIZED_MESSAGE);
        assert_eq!(
            error.logged_reason(),
            "the X-Hub-Signature-256 header is missing"
        );
    }

    /// Whatever the store fails with (a full disk, a damaged database), nothing is accepted:
    /// 503 with `Retry-After`, never a 200.
    #[test]
    fn a_store_that_cannot_write_answers_503_with_retry_after() {
        let broken = serde_json::from_str::<u8>("not json").unwrap_err();
        let response = WebhookError::from(StoreError::Decode(broken)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()["retry-after"],
            UNAVAILABLE_RETRY_AFTER_SECS.to_string().as_str()
        );
    }
}
