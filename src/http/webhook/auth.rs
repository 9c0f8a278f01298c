//! All of authentication: the bot's API key, an event's own key, and the dispatch to the
//! signature schemes of `signatures`. Every failure counts against the client's address, and an
//! address with too many is answered 429 before its key is looked at (`limits`). A failure's
//! words are its cause, for the log; the caller hears only `UNAUTHORIZED_MESSAGE` (`error`).

use std::net::IpAddr;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};

use super::error::{WebhookError, UNAVAILABLE_RETRY_AFTER_SECS};
use super::receive::receive_body;
use super::signatures::{self, Claim};
use super::state::Inner;
use crate::events::{Event, EventAuth};
use crate::keys::{key_matches, key_matches_hex};

/// The key a request presents: the `Authorization` header as BotGhost sends it (the bare key),
/// or `Bearer <key>`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let key = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!key.is_empty()).then_some(key)
}

/// The key check passed for this request. A signed event's body had to be read to check it;
/// any other body is still to be read.
pub(super) struct Authenticated {
    pub body: BodyState,
    /// The delivery id being accepted: commit it once the run is stored.
    pub claim: Option<Claim>,
    /// A valid signature on a delivery accepted within its window: answer 200, run nothing.
    pub replayed: bool,
    /// The provider's id of this delivery (`X-GitHub-Delivery`, `webhook-id`, Stripe's event
    /// id), known once its signature checked out: the request's idempotency key.
    pub delivery: Option<String>,
}

pub(super) enum BodyState {
    Read(Bytes),
    Unread(Body),
}

/// The contract's key check for `event` (when it exists and is enabled): its `[auth]` scheme,
/// else the bot's API key. On a signature scheme only a valid signature authenticates, checked
/// over the body read here (within `http.max_body_bytes`), before anything parses it. Every
/// failure counts against the client address like a wrong key.
pub(super) async fn authenticate(
    inner: &Inner,
    client: IpAddr,
    event: Option<&Event>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Authenticated, WebhookError> {
    let unread = |body| Authenticated {
        body: BodyState::Unread(body),
        claim: None,
        replayed: false,
        delivery: None,
    };
    let Some(event) = event else {
        // The caller hears the same 401 as for a known event; the log says the event is unknown.
        return match check_bot_key(inner, client, headers).await {
            Ok(()) => Ok(unread(body)),
            Err(WebhookError::Unauthorized { cause }) => Err(WebhookError::Unauthorized {
                cause: format!("{cause} (and no enabled event has this id)"),
            }),
            Err(other) => Err(other),
        };
    };
    if let Some(retry_after_secs) = inner.auth_failures.blocked_for(client) {
        return Err(too_many_failures(retry_after_secs));
    }
    let fail = |message: String| match inner.auth_failures.record_failure(client) {
        Some(retry_after_secs) => too_many_failures(retry_after_secs),
        None => WebhookError::Unauthorized { cause: message },
    };
    match &event.auth {
        EventAuth::ApiKey => {
            check_bot_key(inner, client, headers).await?;
            Ok(unread(body))
        }
        EventAuth::Key {
            key_hash,
            allow_bot_key,
        } => {
            let presented = presented_key(headers);
            let own = presented.is_some_and(|key| key_matches_hex(key, key_hash));
            if own {
                return Ok(unread(body));
            }
            if *allow_bot_key {
                check_bot_key(inner, client, headers).await?;
                return Ok(unread(body));
            }
            Err(fail(match presented {
                None => "missing API key: this event takes its own key in the Authorization header (the bare key, or Bearer <key>)".to_owned(),
                Some(_) => "the event's API key is wrong; send the key its auth.secret_env or auth.secret_file holds".to_owned(),
            }))
        }
        signed => {
            let key = match signed.signing_key() {
                Some(Ok(key)) => key,
                _ => {
                    tracing::error!(event = %event.id, "the event's signing secret cannot be read now");
                    return Err(WebhookError::Unavailable {
                        message: "this event's signing secret cannot be read on the server; nothing was accepted, retry later".to_owned(),
                        retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS,
                    });
                }
            };
            let bytes = receive_body(headers, body, inner.max_body_bytes).await?;
            let now = crate::run::unix_now_ms() / 1000;
            let verified = match signed {
                EventAuth::Github { .. } => signatures::verify_github(&key, headers, &bytes),
                EventAuth::Stripe { .. } => signatures::verify_stripe(&key, headers, &bytes, now),
                EventAuth::StandardWebhooks { .. } => {
                    signatures::verify_standard(&key, headers, &bytes, now)
                }
                EventAuth::Hmac {
                    header, encoding, ..
                } => signatures::verify_hmac(&key, header, *encoding, headers, &bytes),
                EventAuth::ApiKey | EventAuth::Key { .. } => unreachable!("not a signature"),
            }
            .map_err(fail)?;
            let mut authenticated = Authenticated {
                body: BodyState::Read(bytes),
                claim: None,
                replayed: false,
                delivery: verified.delivery.clone(),
            };
            if let Some(delivery) = &verified.delivery {
                match inner.replays.claim(&event.id, delivery, verified.window) {
                    Some(claim) => authenticated.claim = Some(claim),
                    None => authenticated.replayed = true,
                }
            }
            Ok(authenticated)
        }
    }
}

/// The bot's API key, with the failed-auth throttle around it.
async fn check_bot_key(
    inner: &Inner,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<(), WebhookError> {
    if let Some(retry_after_secs) = inner.auth_failures.blocked_for(client) {
        return Err(too_many_failures(retry_after_secs));
    }
    let stored = inner.store.api_key_hash().await?;
    let failure = match (presented_key(headers), stored) {
        (Some(key), Some(hash)) if key_matches(key, &hash) => return Ok(()),
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
        None => Err(WebhookError::Unauthorized {
            cause: failure.to_owned(),
        }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn bare_and_bearer_keys_are_accepted() {
        assert_eq!(presented_key(&headers("hk_abc")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("Bearer hk_abc")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("bearer  hk_abc ")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("")), None);
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
