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
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::json;

pub use auth::{generate_key, hash_key};
pub use error::WebhookError;
pub use limits::{AUTH_FAILURES_PER_MINUTE, AUTH_FAILURE_BURST};

use crate::executor::{RunQueue, RunWatch};
use crate::run::{unix_now_ms, Run, RunId, RunStatus, StepOutcome};
use crate::store::{
    Accepted, IdempotencyKey, IdempotencyRecord, Store, StoredAnswer, MAX_IDEMPOTENCY_KEY_BYTES,
};
use limits::{AuthFailureGuard, EventRateLimiter};

/// How long a client may take to send its body before it is answered 408.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// What a 503 tells the client to wait before retrying.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;
/// How long a `?wait=true` request waits for its run before answering 202.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
pub use crate::store::IDEMPOTENCY_WINDOW;
/// The header a replayed answer carries.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

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
    max_pending_runs: u64,
    queue: RunQueue,
    watch: RunWatch,
    event_limits: EventRateLimiter,
    auth_failures: AuthFailureGuard,
    /// Signed deliveries seen lately, so a provider's retry of one does not run twice.
    replays: signatures::ReplayGuard,
    trusted_proxies: Vec<IpAddr>,
}

impl AppState {
    /// `watch` tells `?wait=true` requests that their run finished; at `max_pending_runs`
    /// queued runs new requests are answered 503.
    pub fn new(
        store: Store,
        bot_id: u64,
        max_body_bytes: usize,
        per_event_per_minute: u32,
        max_pending_runs: u64,
        queue: RunQueue,
        watch: RunWatch,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                bot_id,
                max_body_bytes,
                per_event_per_minute,
                max_pending_runs,
                queue,
                watch,
                event_limits: EventRateLimiter::new(per_event_per_minute),
                auth_failures: AuthFailureGuard::default(),
                replays: signatures::ReplayGuard::default(),
                trusted_proxies: Vec::new(),
            }),
        }
    }

    /// Requests from these addresses come through a reverse proxy: their client is the one the
    /// proxy names in `X-Forwarded-For`, so one caller's wrong keys do not block everyone.
    pub fn trusting_proxies(mut self, proxies: Vec<IpAddr>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.trusted_proxies = proxies;
        }
        self
    }
}

/// The URL that triggers `event_id`; `{bot_id}` stands in for an id not known yet.
pub fn url(base: &str, bot_id: Option<u64>, event_id: &str) -> String {
    let bot = bot_id.map_or_else(|| "{bot_id}".to_owned(), |id| id.to_string());
    format!("{base}/webhook/{bot}/{event_id}")
}

/// The listener's webhook routes; `/healthz`, `/readyz` and `/metrics` come from
/// [`crate::ops::router`], merged in or on their own listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/webhook/{bot_id}/{event_id}", any(trigger))
        .fallback(|| async {
            WebhookError::NotFound(
                "no such endpoint; custom events are triggered with POST /webhook/{bot_id}/{event_id}"
                    .to_owned(),
            )
        })
        .with_state(state)
}

async fn trigger(
    state: State<AppState>,
    path: Path<(String, String)>,
    request: Request,
) -> Response {
    let response = answer_webhook(state, path, request).await;
    metrics::counter!(crate::ops::WEBHOOKS, "status" => response.status().as_str().to_owned())
        .increment(1);
    response
}

async fn answer_webhook(
    State(state): State<AppState>,
    Path((bot_id, event_id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let client = client_address(&request, &state.inner.trusted_proxies);
    match accept(&state, &bot_id, &event_id, client, request).await {
        Ok(Triggered::Replay(record)) => {
            tracing::info!(run = %record.run, event = %event_id, "webhook repeated an idempotency key; first answer replayed");
            let mut response = stored_response(&record.answer);
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, header::HeaderValue::from_static("true"));
            response
        }
        Ok(Triggered::Skipped) => {
            tracing::info!(event = %event_id, "webhook skipped: a [[when]] filter does not hold");
            (StatusCode::OK, Json(json!({"ok": true, "skipped": true}))).into_response()
        }
        Ok(Triggered::AlreadyDelivered) => {
            tracing::info!(event = %event_id, "webhook replayed: that signed delivery was accepted already");
            (StatusCode::OK, Json(json!({"ok": true, "replayed": true}))).into_response()
        }
        Ok(Triggered::New { run, wait, key }) => {
            tracing::info!(run = %run.id, event = %run.event_id, variables = run.variables.len(), wait = wait.is_some(), "webhook accepted");
            let Some(finished) = wait else {
                return stored_response(&accepted_answer(run.id));
            };
            let answer = wait_for_run(&state.inner.store, run.id, finished).await;
            if let Some(key) = &key {
                let key = IdempotencyKey {
                    event_id: &run.event_id,
                    key,
                };
                if let Err(error) = state
                    .inner
                    .store
                    .set_idempotent_answer(key, run.id, &answer)
                {
                    tracing::warn!(run = %run.id, %error, "could not keep the final answer for the idempotency key");
                }
            }
            stored_response(&answer)
        }
        Err(error) => {
            tracing::info!(event = %event_id, status = error.status().as_u16(), reason = %error, "webhook refused");
            error.into_response()
        }
    }
}

/// What an accepted request led to.
enum Triggered {
    /// A new run; `wait` listens for its end when the caller asked `?wait=true`.
    New {
        run: Box<Run>,
        wait: Option<tokio::sync::broadcast::Receiver<RunId>>,
        key: Option<Vec<u8>>,
    },
    /// The idempotency key was seen: the first answer again, no run.
    Replay(IdempotencyRecord),
    /// A `[[when]]` filter did not hold: nothing runs.
    Skipped,
    /// A signed delivery (its `webhook-id`, `X-GitHub-Delivery` or Stripe event id) seen within
    /// its window: nothing runs again.
    AlreadyDelivered,
}

/// The contract's checks, in the contract's order, then the durable write.
async fn accept(
    state: &AppState,
    bot_id: &str,
    event_id: &str,
    client: IpAddr,
    request: Request,
) -> Result<Triggered, WebhookError> {
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
    let wait = wants_wait(request.uri().query());
    let (parts, body) = request.into_parts();
    // The event's own [auth] when it has one, else the bot's key.
    let auth::Authenticated {
        body,
        claim,
        replayed,
        delivery,
    } = auth::authenticate_event(inner, client, event.as_deref(), &parts.headers, body).await?;
    if replayed {
        return Ok(Triggered::AlreadyDelivered);
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
    let key = idempotency_key(&parts.headers);
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
    let incoming =
        request_vars::IncomingRequest::read(&event, &parts.headers, parts.uri.query(), &body)
            .map_err(WebhookError::BadRequest)?;
    // A signed delivery's own id is a key too, so the provider's retry of it never runs twice,
    // even across a restart of hookbot.
    let key = key?.or_else(|| {
        delivery
            .filter(|id| !id.is_empty() && id.len() <= MAX_IDEMPOTENCY_KEY_BYTES)
            .map(String::into_bytes)
    });
    if !incoming.passes(&event.when).await {
        return Ok(Triggered::Skipped);
    }

    let now_ms = unix_now_ms();
    let key = key.as_deref().map(|key| IdempotencyKey {
        event_id: &event.id,
        key,
    });
    // A repeated key needs no room in the queue: answer it before the backpressure check.
    if let Some(key) = key {
        if let Some(record) = inner
            .store
            .idempotency_record(key, now_ms)
            .map_err(unavailable)?
        {
            // The first request may still be on its way to the disk.
            inner.store.flush().await.map_err(unavailable)?;
            return Ok(Triggered::Replay(record));
        }
    }
    let pending = inner.store.pending_count();
    if pending >= inner.max_pending_runs {
        return Err(WebhookError::Unavailable {
            message: format!(
                "{pending} runs are waiting to be carried out (delivery.max_pending_runs is {}); nothing was accepted, retry in {UNAVAILABLE_RETRY_AFTER_SECS} s",
                inner.max_pending_runs
            ),
            retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
        });
    }

    let run = incoming.into_run(
        inner.store.next_run_id().map_err(unavailable)?,
        event.id.clone(),
        now_ms,
    );
    // Subscribed before the run is queued, so its end cannot be missed.
    let finished = wait.then(|| inner.watch.subscribe());
    let first_answer = if wait {
        pending_answer(run.id)
    } else {
        accepted_answer(run.id)
    };
    match inner
        .store
        .accept_run_once(&run, key, &first_answer)
        .await
        .map_err(unavailable)?
    {
        Accepted::Replay(record) => Ok(Triggered::Replay(record)),
        Accepted::New => {
            if let Some(claim) = claim {
                claim.commit();
            }
            inner.queue.wake();
            Ok(Triggered::New {
                key: key.map(|key| key.key.to_vec()),
                run: Box::new(run),
                wait: finished,
            })
        }
    }
}

/// `?wait=true`; any other value, and every other parameter, is ignored.
fn wants_wait(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "wait=true")
}

/// The caller's `Idempotency-Key` (or, without one, `webhook-id`): 1-255 bytes.
fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<Vec<u8>>, WebhookError> {
    let (name, value) = match (headers.get("idempotency-key"), headers.get("webhook-id")) {
        (Some(value), _) => ("Idempotency-Key", value),
        (None, Some(value)) => ("webhook-id", value),
        (None, None) => return Ok(None),
    };
    let key = value.as_bytes();
    if key.is_empty() {
        return Err(WebhookError::BadRequest(format!(
            "the {name} header is empty; send 1-{MAX_IDEMPOTENCY_KEY_BYTES} bytes, or no header"
        )));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
        return Err(WebhookError::BadRequest(format!(
            "the {name} header is {} bytes; at most {MAX_IDEMPOTENCY_KEY_BYTES} are allowed",
            key.len()
        )));
    }
    Ok(Some(key.to_vec()))
}

fn accepted_answer(run: RunId) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: json!({"ok": true, "run": run.to_text()}),
    }
}

fn pending_answer(run: RunId) -> StoredAnswer {
    StoredAnswer {
        status: 202,
        body: json!({"ok": true, "run": run.to_text(), "pending": true}),
    }
}

fn stored_response(answer: &StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    (status, Json(answer.body.clone())).into_response()
}

/// Waits up to [`WAIT_TIMEOUT`] for the run to finish: its results (200), its failure (502),
/// or 202 while it goes on.
async fn wait_for_run(
    store: &Store,
    id: RunId,
    mut finished: tokio::sync::broadcast::Receiver<RunId>,
) -> StoredAnswer {
    use tokio::sync::broadcast::error::RecvError;
    let deadline = tokio::time::Instant::now() + WAIT_TIMEOUT;
    loop {
        // Also right after subscribing: the run may have finished already.
        match finished_answer(store, id) {
            Ok(Some(answer)) => return answer,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(run = %id, %error, "cannot read the run while waiting for it");
                return pending_answer(id);
            }
        }
        loop {
            match tokio::time::timeout_at(deadline, finished.recv()).await {
                Err(_) | Ok(Err(RecvError::Closed)) => {
                    return finished_answer(store, id)
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| pending_answer(id));
                }
                Ok(Ok(done)) if done == id => break,
                Ok(Ok(_)) => {}
                // Missed some: look in the store.
                Ok(Err(RecvError::Lagged(_))) => break,
            }
        }
    }
}

/// The answer for a finished run; `None` while it is pending.
fn finished_answer(
    store: &Store,
    id: RunId,
) -> Result<Option<StoredAnswer>, crate::store::StoreError> {
    let Some(run) = store.run(id)? else {
        return Ok(None);
    };
    match run.status {
        RunStatus::Pending => Ok(None),
        RunStatus::Failed => {
            let mut body = json!({"ok": false, "error": "run_failed", "run": id.to_text()});
            match &run.error {
                Some(failure) => {
                    body["message"] = json!(failure.to_string());
                    if !failure.path.is_empty() {
                        body["path"] = json!(failure.path);
                        body["action"] = json!(failure.action);
                    }
                    if let Some(code) = failure.discord_code {
                        body["discord_code"] = json!(code);
                    }
                    if let Some(status) = failure.http_status {
                        body["http_status"] = json!(status);
                    }
                }
                None => body["message"] = json!("the run failed"),
            }
            Ok(Some(StoredAnswer { status: 502, body }))
        }
        RunStatus::Succeeded => {
            let results: Vec<serde_json::Value> = store
                .steps(id)?
                .into_iter()
                .filter_map(|step| match step.outcome {
                    StepOutcome::Done { summary, output } => {
                        let mut result = output;
                        result.insert("path".into(), json!(step.path));
                        result.insert("action".into(), json!(step.action));
                        result.insert("summary".into(), json!(summary));
                        Some(serde_json::Value::Object(result))
                    }
                    _ => None,
                })
                .collect();
            Ok(Some(StoredAnswer {
                status: 200,
                body: json!({"ok": true, "run": id.to_text(), "results": results}),
            }))
        }
    }
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

fn client_address(request: &Request, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    forwarded_client(peer, &forwarded, trusted_proxies)
}

/// The client behind trusted proxies: the right-most `X-Forwarded-For` entry that is not a
/// trusted proxy itself (entries further left can be forged by the client). Untrusted peers are
/// their own client, whatever they claim.
fn forwarded_client(peer: IpAddr, forwarded_for: &str, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    forwarded_for
        .rsplit(',')
        .map(str::trim)
        .filter_map(|entry| entry.parse::<IpAddr>().ok())
        .find(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

fn unavailable(error: crate::store::StoreError) -> WebhookError {
    tracing::error!(%error, "store error while accepting a webhook");
    WebhookError::Unavailable {
        message: "the run could not be stored; nothing was accepted, retry later".to_owned(),
        retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
    }
}

#[cfg(test)]
mod tests {
    /// Whatever the store fails with (a full disk, a damaged database), nothing is accepted:
    /// 503 with `Retry-After`, never a 200.
    #[test]
    fn a_store_that_cannot_write_answers_503_with_retry_after() {
        use axum::response::IntoResponse;
        let broken = serde_json::from_str::<u8>("not json").unwrap_err();
        let error = super::unavailable(crate::store::StoreError::Decode(broken));
        let response = error.into_response();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            response.headers()["retry-after"],
            super::UNAVAILABLE_RETRY_AFTER_SECS.to_string().as_str()
        );
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_last_untrusted_hop() {
        use super::forwarded_client;
        let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
        let proxy = [ip("127.0.0.1")];
        // A trusted proxy names the client; anything the client wrote further left is ignored.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), "6.6.6.6, 203.0.113.7", &proxy),
            ip("203.0.113.7")
        );
        // An untrusted peer is its own client, whatever it claims.
        assert_eq!(
            forwarded_client(ip("198.51.100.1"), "203.0.113.7", &proxy),
            ip("198.51.100.1")
        );
        // Without a usable header, the proxy itself.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), "junk", &proxy),
            ip("127.0.0.1")
        );
        assert_eq!(forwarded_client(ip("127.0.0.1"), "", &[]), ip("127.0.0.1"));
    }

    use super::*;

    #[test]
    fn wait_is_only_wait_true() {
        assert!(wants_wait(Some("wait=true")));
        assert!(wants_wait(Some("a=1&wait=true&b")));
        assert!(!wants_wait(Some("wait=false")));
        assert!(!wants_wait(Some("nowait=true")));
        assert!(!wants_wait(None));
    }

    #[test]
    fn idempotency_keys_are_1_to_255_bytes() {
        use axum::http::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        assert_eq!(idempotency_key(&headers).unwrap(), None);
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        assert_eq!(idempotency_key(&headers).unwrap().unwrap(), b"msg_1");
        headers.insert("idempotency-key", HeaderValue::from_static("k"));
        assert_eq!(idempotency_key(&headers).unwrap().unwrap(), b"k");
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&"x".repeat(256)).unwrap(),
        );
        let error = idempotency_key(&headers).unwrap_err();
        assert!(error.to_string().contains("Idempotency-Key"), "{error}");
        headers.insert(
            "idempotency-key",
            HeaderValue::from_str(&"x".repeat(255)).unwrap(),
        );
        assert!(idempotency_key(&headers).is_ok());
    }

    fn queued_run(store: &Store) -> Run {
        Run::new(
            store.next_run_id().unwrap(),
            "e".into(),
            crate::lang::templates::Variables::new(),
            1,
        )
    }

    // current_thread: the finishing task runs only once the waiter listens, so it must lag.
    #[tokio::test(flavor = "current_thread")]
    async fn a_lagging_waiter_looks_in_the_store() {
        let store = Store::temporary().unwrap();
        let mut run = queued_run(&store);
        store.accept_run(&run).await.unwrap();
        let (sender, receiver) = tokio::sync::broadcast::channel(1);
        let finisher = store.clone();
        let id = run.id;
        tokio::spawn(async move {
            let mut output = serde_json::Map::new();
            output.insert("id".into(), json!("42"));
            let step = crate::run::Step {
                path: "1".into(),
                action: "send_message".into(),
                line: 0,
                started_at_ms: 1,
                duration_ms: 1,
                outcome: StepOutcome::Done {
                    summary: "sent".into(),
                    output,
                },
                warnings: vec![],
                channel: None,
            };
            finisher.append_step(id, 0, &step).unwrap();
            run.status = RunStatus::Succeeded;
            finisher.finish_run(&run).unwrap();
            // Other runs' ends push this one's out of the channel.
            sender.send(id).unwrap();
            for other in 0..4 {
                sender.send(RunId(other)).unwrap();
            }
            // Kept open, so only the store can tell the waiter.
            std::mem::forget(sender);
        });
        let answer = wait_for_run(&store, id, receiver).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            answer.body["results"],
            json!([{"path": "1", "action": "send_message", "summary": "sent", "id": "42"}])
        );
    }

    #[tokio::test]
    async fn a_failed_run_answers_502_with_discords_words() {
        let store = Store::temporary().unwrap();
        let mut run = queued_run(&store);
        run.status = RunStatus::Failed;
        run.error = Some(crate::run::RunFailure {
            path: "2".into(),
            action: "send_message".into(),
            message: "Missing Permissions".into(),
            discord_code: Some(50013),
            http_status: Some(403),
        });
        store.accept_run(&run).await.unwrap();
        store.finish_run(&run).unwrap();
        let answer = finished_answer(&store, run.id).unwrap().unwrap();
        assert_eq!(answer.status, 502);
        assert_eq!(answer.body["error"], "run_failed");
        assert_eq!(answer.body["run"], run.id.to_text());
        assert_eq!(answer.body["discord_code"], 50013);
        assert_eq!(answer.body["http_status"], 403);
        assert_eq!(answer.body["path"], "2");
        assert!(answer.body["message"]
            .as_str()
            .unwrap()
            .contains("Missing Permissions"));
    }

    #[test]
    fn webhook_urls() {
        assert_eq!(url("http://h", Some(5), "e"), "http://h/webhook/5/e");
        assert_eq!(url("http://h", None, "e"), "http://h/webhook/{bot_id}/e");
    }
}
