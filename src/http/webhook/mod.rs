//! The webhook listener: `POST /webhook/{bot_id}/{event_id}` turns a request into a durable run
//! and wakes the executor.
//!
//! `accept` checks a request in the contract's order and stores its run, with all of
//! authentication in `auth` (signature schemes in `signatures`), the rate limits in `limits`,
//! the body's size and time limits in `receive`, and the run's variables in `body` and
//! `request_vars`; `drain` keeps a connection usable after an answer sent before the body was
//! read; `answer` shapes what the caller hears; `state` is what requests share; every
//! refusal is one `WebhookError` (`error`), mapped to its status once. Every request is named by
//! an id that its answer's `X-Request-Id` and every log line about it carry.

mod accept;
mod answer;
mod auth;
mod body;
mod drain;
mod error;
mod limits;
mod receive;
mod request_vars;
mod signatures;
mod state;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tracing::Instrument;

pub use accept::forwarded_client;
pub use limits::AuthFailureGuard;
pub use state::AppState;

use error::WebhookError;

/// The listener's webhook routes; `/healthz`, `/readyz` and `/metrics` come from
/// `http::health`, merged in or on their own listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/{bot_id}/{event_id}", any(trigger))
        .fallback(|| async {
            WebhookError::NotFound(
                "no such endpoint; custom events are triggered with POST /webhook/{bot_id}/{event_id}"
                    .to_owned(),
            )
        })
        // After the fallback, so unknown routes' early 404s keep the connection usable and
        // carry the id too. One layer for both: each axum middleware layer costs a request a
        // few allocations of its own (a clone of the service inside, its boxed future).
        .layer(middleware::from_fn_with_state(state.clone(), around_each))
        .with_state(state)
}

/// Around every request: a fresh id ([`with_request_id`]), and inside it the connection kept
/// usable ([`drain::drain_or_close`]).
async fn around_each(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.inner.max_body_bytes;
    with_request_id(drain::drain_or_close(limit, request, next)).await
}

/// The header that names a request in its answer.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Names every request with a fresh id: its answer carries it in `X-Request-Id` and every log
/// line written while it is handled (`handled`) carries it as `request_id`, so what a caller
/// reports can be matched with the log, where alone a 401's cause is told. Always made here,
/// never taken from the caller, so no caller can make its request pass for another's in the log.
async fn with_request_id(handled: impl std::future::Future<Output = Response>) -> Response {
    let id = RequestId(rand::random::<u64>());
    let span = tracing::info_span!("webhook", request_id = %id);
    let mut response = handled.instrument(span).await;
    let value =
        HeaderValue::from_bytes(&id.text()).expect("req_ and hex digits are a header value");
    response.headers_mut().insert(REQUEST_ID_HEADER, value);
    response
}

/// A request's id: `req_` and 16 hex digits of a random number, written where it is needed
/// (the log's field, the header) instead of kept as a `String` per request.
#[derive(Clone, Copy)]
struct RequestId(u64);

impl RequestId {
    fn text(self) -> [u8; 20] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = *b"req_0000000000000000";
        for (at, digit) in text[4..].iter_mut().enumerate() {
            *digit = HEX[((self.0 >> (60 - 4 * at)) & 0xf) as usize];
        }
        text
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        f.write_str(std::str::from_utf8(&text).expect("ASCII"))
    }
}

/// The URL that triggers `event_id`; `{bot_id}` stands in for an id not known yet.
pub fn url(base: &str, bot_id: Option<u64>, event_id: &str) -> String {
    let bot = bot_id.map_or_else(|| "{bot_id}".to_owned(), |id| id.to_string());
    format!("{base}/webhook/{bot}/{event_id}")
}

/// Accepts, then answers; every answer, refusals included, is counted by status.
async fn trigger(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    request: Request,
) -> Response {
    // A path axum cannot decode (`%ff` is not UTF-8) is the caller's 400 in the contract's JSON
    // shape, not axum's text/plain rejection.
    let (bot_id, event_id) = match path {
        Ok(Path(segments)) => segments,
        Err(rejection) => {
            let error = WebhookError::BadRequest(format!(
                "the URL cannot be read ({}); it is POST /webhook/{{bot_id}}/{{event_id}} in UTF-8",
                rejection.body_text()
            ));
            let response = error.into_response();
            state.inner.answered.count(response.status());
            return response;
        }
    };
    let response = match accept::accept(&state, &bot_id, &event_id, request).await {
        Ok(triggered) => answer::answer(&state.inner.store, &event_id, triggered).await,
        Err(error) => {
            tracing::info!(event = %event_id, status = error.status().as_u16(), reason = %error.logged_reason(), "webhook refused");
            error.into_response()
        }
    };
    state.inner.answered.count(response.status());
    response
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn request_ids_are_req_and_16_hex_digits() {
        for n in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            let id = super::RequestId(n);
            assert_eq!(id.to_string(), format!("req_{n:016x}"));
            assert_eq!(id.text(), format!("req_{n:016x}").as_bytes());
        }
    }

    #[test]
    fn webhook_urls() {
        assert_eq!(url("http://h", Some(5), "e"), "http://h/webhook/5/e");
        assert_eq!(url("http://h", None, "e"), "http://h/webhook/{bot_id}/e");
    }
}
