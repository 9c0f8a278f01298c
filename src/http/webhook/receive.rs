//! Receiving a request's body: at most `http.max_body_bytes` (413), within
//! [`BODY_READ_TIMEOUT`] (408). Both the signature check and the accept path read through it.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};

use super::error::WebhookError;

/// How long a client may take to send its body before it is answered 408.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads at most `limit` bytes; a declared (`Content-Length`) or actual larger body is a 413,
/// refused before a byte of it is read when declared.
pub async fn receive_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, WebhookError> {
    if content_length_exceeds(headers, limit) {
        return Err(WebhookError::PayloadTooLarge { limit });
    }
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(WebhookError::BodyTimeout(BODY_READ_TIMEOUT.as_secs())),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) if is_length_limit(&error) => Err(WebhookError::PayloadTooLarge { limit }),
        Ok(Err(error)) => Err(WebhookError::BadRequest(format!(
            "the body could not be read: {error}"
        ))),
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn content_length_exceeds(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64)
}
