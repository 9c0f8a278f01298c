//! The webhook listener: routes, the contract's checks in order, body limits, auth, rate limits.
//!
//! The only module that knows HTTP. It turns a request into a durable run and wakes the executor.

mod auth;
mod body;
mod error;
mod limits;
mod request_vars;
mod signatures;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::json;

pub use auth::{generate_key, hash_key};
pub use error::WebhookError;
pub use limits::{AUTH_FAILURES_PER_MINUTE, AUTH_FAILURE_BURST};

use crate::executor::RunQueue;
use crate::run::Run;
use crate::store::Store;
use limits::{AuthFailureGuard, EventRateLimiter};

/// How long a client may take to send its body before it is answered 408.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// What a 503 tells the client to wait before retrying.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Everything the webhook routes share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    bot_id: u64,
    max_body_bytes: usize,
    per_event_per_minute: u32,
    queue: RunQueue,
    event_limits: EventRateLimiter,
    auth_failures: AuthFailureGuard,
    /// Signed deliveries seen lately (issue 6).
    replays: signatures::ReplayGuard,
}

impl AppState {
    pub fn new(
        store: Store,
        bot_id: u64,
        max_body_bytes: usize,
        per_event_per_minute: u32,
        queue: RunQueue,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                bot_id,
                max_body_bytes,
                per_event_per_minute,
                queue,
                event_limits: EventRateLimiter::new(per_event_per_minute),
                auth_failures: AuthFailureGuard::default(),
                replays: signatures::ReplayGuard::default(),
            }),
        }
    }
}

/// The URL that triggers `event_id`; `{bot_id}` stands in for an id not known yet.
pub fn url(base: &str, bot_id: Option<u64>, event_id: &str) -> String {
    let bot = bot_id.map_or_else(|| "{bot_id}".to_owned(), |id| id.to_string());
    format!("{base}/webhook/{bot}/{event_id}")
}

/// The listener's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/{bot_id}/{event_id}", any(trigger))
        .route("/healthz", get(|| async { Json(json!({"ok": true})) }))
        .fallback(|| async {
            WebhookError::NotFound(
                "no such endpoint; custom events are triggered with POST /webhook/{bot_id}/{event_id}"
                    .to_owned(),
            )
        })
        .with_state(state)
}

async fn trigger(
    State(state): State<AppState>,
    Path((bot_id, event_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let client = client_address(&request);
    match accept(&state, &bot_id, &event_id, client, request).await {
        Ok(Accepted::Skipped) => {
            tracing::info!(event = %event_id, "webhook skipped: a [[when]] filter does not hold");
            (StatusCode::OK, Json(json!({"ok": true, "skipped": true}))).into_response()
        }
        Ok(Accepted::Replayed) => {
            tracing::info!(event = %event_id, "webhook replayed: that delivery was accepted already");
            (StatusCode::OK, Json(json!({"ok": true, "replayed": true}))).into_response()
        }
        Ok(Accepted::Run(run)) => {
            tracing::info!(run = %run.id, event = %run.event_id, variables = run.variables.len(), "webhook accepted");
            (
                StatusCode::OK,
                Json(json!({"ok": true, "run": run.id.to_text()})),
            )
                .into_response()
        }
        Err(error) => {
            tracing::info!(event = %event_id, status = error.status().as_u16(), reason = %error, "webhook refused");
            error.into_response()
        }
    }
}

/// What an accepted request led to.
enum Accepted {
    Run(Box<Run>),
    /// A `[[when]]` filter did not hold: nothing runs.
    Skipped,
    /// A signed delivery seen within its window: nothing runs again.
    Replayed,
}

/// The contract's checks, in the contract's order, then the durable write.
async fn accept(
    state: &AppState,
    bot_id: &str,
    event_id: &str,
    client: IpAddr,
    request: Request,
) -> Result<Accepted, WebhookError> {
    let inner = &state.inner;
    if request.method() != Method::POST {
        return Err(WebhookError::MethodNotAllowed);
    }
    if bot_id.parse::<u64>().ok() != Some(inner.bot_id) {
        return Err(WebhookError::NotFound(format!(
            "{bot_id} is not this bot's id; this bot is {}",
            inner.bot_id
        )));
    }
    let event = inner
        .store
        .event(event_id)
        .map_err(unavailable)?
        .filter(|event| event.enabled);
    let (parts, body) = request.into_parts();
    // The event's own [auth] (issue 6), else the bot's key.
    let auth::Authenticated {
        body,
        claim,
        replayed,
    } = auth::authenticate_event(inner, client, event.as_deref(), &parts.headers, body).await?;
    if replayed {
        return Ok(Accepted::Replayed);
    }
    let event = event.ok_or_else(|| {
        WebhookError::NotFound(format!(
            "no enabled event has the id {event_id:?}; `hookbot event list` shows them"
        ))
    })?;
    inner
        .event_limits
        .check(&event.id)
        .map_err(|retry_after_secs| WebhookError::RateLimited {
            message: format!(
                "event {:?} takes at most {} requests a minute (limits.per_event_per_minute); retry in {retry_after_secs} s",
                event.id, inner.per_event_per_minute
            ),
            retry_after_secs,
        })?;
    let body = match body {
        auth::BodyState::Read(body) => body,
        auth::BodyState::Unread(body) => {
            if content_length_exceeds(&parts.headers, inner.max_body_bytes) {
                return Err(WebhookError::PayloadTooLarge {
                    limit: inner.max_body_bytes,
                });
            }
            read_body(body, inner.max_body_bytes).await?
        }
    };
    let request =
        request_vars::IncomingRequest::read(&event, &parts.headers, parts.uri.query(), &body)
            .map_err(WebhookError::BadRequest)?;
    if !request.passes(&event.when) {
        return Ok(Accepted::Skipped);
    }

    let run = request.into_run(
        inner.store.next_run_id().map_err(unavailable)?,
        event.id.clone(),
        unix_millis(),
    );
    inner.store.accept_run(&run).await.map_err(unavailable)?;
    if let Some(claim) = claim {
        claim.commit();
    }
    inner.queue.wake();
    Ok(Accepted::Run(Box::new(run)))
}

fn authenticate(
    inner: &Inner,
    client: IpAddr,
    headers: &axum::http::HeaderMap,
) -> Result<(), WebhookError> {
    if let Some(retry_after_secs) = inner.auth_failures.blocked_for(client) {
        return Err(too_many_failures(retry_after_secs));
    }
    let stored = inner.store.api_key_hash().map_err(unavailable)?;
    let failure = match (auth::presented_key(headers), stored) {
        (Some(key), Some(hash)) if auth::key_matches(key, &hash) => return Ok(()),
        (Some(_), Some(_)) => "the API key is wrong; send the key `hookbot key rotate` printed",
        (Some(_), None) => {
            "this bot has no API key yet; run `hookbot key rotate` and send the key it prints"
        }
        (None, _) => {
            "missing API key: send it in the Authorization header (the bare key, or Bearer <key>)"
        }
    };
    match inner.auth_failures.record_failure(client) {
        Some(retry_after_secs) => Err(too_many_failures(retry_after_secs)),
        None => Err(WebhookError::Unauthorized(failure.to_owned())),
    }
}

fn too_many_failures(retry_after_secs: u64) -> WebhookError {
    WebhookError::RateLimited {
        message: format!(
            "too many failed authentications from this address; retry in {retry_after_secs} s with the right API key"
        ),
        retry_after_secs,
    }
}

/// Reads at most `limit` bytes; a declared or actual larger body is a 413.
async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, WebhookError> {
    let too_large = WebhookError::PayloadTooLarge { limit };
    match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(WebhookError::BodyTimeout(BODY_READ_TIMEOUT.as_secs())),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            if is_length_limit(&error) {
                Err(too_large)
            } else {
                Err(WebhookError::BadRequest(format!(
                    "the body could not be read: {error}"
                )))
            }
        }
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

fn content_length_exceeds(headers: &axum::http::HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64)
}

fn client_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn unavailable(error: crate::store::StoreError) -> WebhookError {
    tracing::error!(%error, "store error while accepting a webhook");
    WebhookError::Unavailable {
        message: "the run could not be stored; nothing was accepted, retry later".to_owned(),
        retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        assert_eq!(url("http://h", Some(5), "e"), "http://h/webhook/5/e");
        assert_eq!(url("http://h", None, "e"), "http://h/webhook/{bot_id}/e");
    }
}
