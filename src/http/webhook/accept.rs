//! The POST handler's path, in the contract's order: method and bot id, authentication, the
//! event and its rate limit, the body, the run's variables and its `[[when]]` filters, the
//! idempotency key, then the queue's one call: backpressure, the durable write, the wake-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method};

use super::answer::{accepted_answer, pending_answer, wants_wait, RunEnds, Triggered};
use super::auth::{self, Authenticated, BodyState};
use super::error::{WebhookError, UNAVAILABLE_RETRY_AFTER_SECS};
use super::receive::receive_body;
use super::request_vars::IncomingRequest;
use super::state::AppState;
use crate::engine::{IdempotencyKey, StoredAnswer, MAX_IDEMPOTENCY_KEY_BYTES};
use crate::queue::{EnqueueError, Enqueued};
use crate::run::unix_now_ms;

/// The contract's checks, in the contract's order, then the durable write.
pub(super) async fn accept(
    state: &AppState,
    bot_id: &str,
    event_id: &str,
    request: Request,
) -> Result<Triggered, WebhookError> {
    let inner = &state.inner;
    let client = client_address(&request, &inner.trusted_proxies);
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
        .await?
        .filter(|event| event.enabled);
    let wait = wants_wait(request.uri().query());
    let (parts, body) = request.into_parts();
    // The event's own [auth] when it has one, else the bot's key.
    let Authenticated {
        body,
        claim,
        replayed,
        delivery,
    } = auth::authenticate(inner, client, event.as_deref(), &parts.headers, body).await?;
    if replayed {
        return Ok(Triggered::AlreadyDelivered);
    }
    let event = event.ok_or_else(|| {
        WebhookError::NotFound(format!(
            "no enabled event has the id {event_id:?}; `hookbot event list` shows them"
        ))
    })?;
    if !event.trigger.is_webhook() {
        return Err(WebhookError::NotFound(format!(
            "event {event_id:?} is started by its {} trigger, not by a webhook",
            event.trigger.kind()
        )));
    }
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
    // A malformed key is refused only after the body's own 413 and 400 (contract §4's order).
    let key = idempotency_key(&parts.headers);
    let body = match body {
        BodyState::Read(body) => body,
        BodyState::Unread(body) => receive_body(&parts.headers, body, inner.max_body_bytes).await?,
    };
    let incoming = IncomingRequest::read(&event, &parts.headers, parts.uri.query(), &body)
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
    // Subscribed before the run is queued, so its end cannot be missed.
    let finished = wait.then(|| RunEnds::subscribe(&inner.queue, &inner.store));
    let build = |id| {
        let answer = match (key, wait) {
            // Only a key keeps the answer (`Queue::enqueue`): without one it is not made.
            (None, _) => StoredAnswer {
                status: 200,
                body: serde_json::Value::Null,
            },
            (Some(_), true) => pending_answer(id),
            (Some(_), false) => accepted_answer(id),
        };
        (incoming.into_run(id, event.id.clone(), now_ms), answer)
    };
    // One call: a repeated key's first answer, or backpressure, or the durable write and the
    // executor's wake-up.
    match inner.queue.enqueue(key, now_ms, build).await {
        Ok(Enqueued::Replay(record)) => Ok(Triggered::Replay(record)),
        Ok(Enqueued::New(run)) => {
            if let Some(claim) = claim {
                claim.commit();
            }
            Ok(Triggered::New {
                key: key.map(|key| key.key.to_vec()),
                run,
                wait: finished,
            })
        }
        Err(EnqueueError::Full { waiting, max }) => Err(WebhookError::Unavailable {
            message: format!(
                "{waiting} runs are waiting to be carried out (delivery.max_pending_runs is {max}); nothing was accepted, retry in {UNAVAILABLE_RETRY_AFTER_SECS} s"
            ),
            retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
        }),
        Err(EnqueueError::Store(error)) => Err(error.into()),
    }
}

/// The caller's `Idempotency-Key` (or, without one, `webhook-id`): 1-255 bytes.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<Vec<u8>>, WebhookError> {
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

/// The address failed authentications count against.
fn client_address(request: &Request, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // The header is read only for a trusted proxy: anyone else is their own client.
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
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
pub fn forwarded_client(peer: IpAddr, forwarded_for: &str, trusted_proxies: &[IpAddr]) -> IpAddr {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_last_untrusted_hop() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
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

    #[test]
    fn idempotency_keys_are_1_to_255_bytes() {
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
}
