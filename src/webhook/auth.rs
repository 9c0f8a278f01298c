//! API keys: generated at random, stored only as a SHA-256 hash, compared in constant time; and
//! each event's own `[auth]`: an event key, or a signature over the exact bytes received.

use std::net::IpAddr;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::signatures::{self, Claim};
use super::{Inner, WebhookError};
use crate::events::{Event, EventAuth};

/// Every key starts with this, so a leaked one is easy to spot in a diff or a secret scanner.
const KEY_PREFIX: &str = "hk_";

/// A fresh key: 256 random bits, hex encoded.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut key = String::with_capacity(KEY_PREFIX.len() + 64);
    key.push_str(KEY_PREFIX);
    for b in bytes {
        key.push_str(&format!("{b:02x}"));
    }
    key
}

pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The key a request presents: the `Authorization` header as BotGhost sends it (the bare key),
/// or `Bearer <key>`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let key = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!key.is_empty()).then_some(key)
}

/// Compares hashes, so neither the key's length nor its content leaks through timing.
pub fn key_matches(presented: &str, stored_hash: &[u8; 32]) -> bool {
    hash_key(presented).ct_eq(stored_hash).into()
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
pub(super) async fn authenticate_event(
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
        super::authenticate(inner, client, headers).await?;
        return Ok(unread(body));
    };
    if let Some(retry_after_secs) = inner.auth_failures.blocked_for(client) {
        return Err(super::too_many_failures(retry_after_secs));
    }
    let fail = |message: String| match inner.auth_failures.record_failure(client) {
        Some(retry_after_secs) => super::too_many_failures(retry_after_secs),
        None => WebhookError::Unauthorized(message),
    };
    match &event.auth {
        EventAuth::ApiKey => {
            super::authenticate(inner, client, headers).await?;
            Ok(unread(body))
        }
        EventAuth::Key {
            key_hash,
            allow_bot_key,
        } => {
            let presented = presented_key(headers);
            let own = presented.is_some_and(|key| hex_hash_matches(key, key_hash));
            if own {
                return Ok(unread(body));
            }
            if *allow_bot_key {
                super::authenticate(inner, client, headers).await?;
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
                        retry_after_secs: super::UNAVAILABLE_RETRY_AFTER_SECS,
                    });
                }
            };
            if super::content_length_exceeds(headers, inner.max_body_bytes) {
                return Err(WebhookError::PayloadTooLarge {
                    limit: inner.max_body_bytes,
                });
            }
            let bytes = super::read_body(body, inner.max_body_bytes).await?;
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

/// Compares `presented`'s hash with a lower-case hex hash, in constant time.
fn hex_hash_matches(presented: &str, hex_hash: &str) -> bool {
    let ours: String = hash_key(presented)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    ours.as_bytes().ct_eq(hex_hash.as_bytes()).into()
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
    fn generated_keys_are_unique_and_prefixed() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert!(a.starts_with("hk_"));
        assert_eq!(a.len(), 67);
    }

    #[test]
    fn bare_and_bearer_keys_are_accepted() {
        assert_eq!(presented_key(&headers("hk_abc")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("Bearer hk_abc")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("bearer  hk_abc ")), Some("hk_abc"));
        assert_eq!(presented_key(&headers("")), None);
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }

    #[test]
    fn only_the_right_key_matches() {
        let key = generate_key();
        let hash = hash_key(&key);
        assert!(key_matches(&key, &hash));
        assert!(!key_matches("hk_wrong", &hash));
    }

    #[test]
    fn event_keys_compare_by_hex_hash() {
        let hash: String = hash_key("ev_key")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(hex_hash_matches("ev_key", &hash));
        assert!(!hex_hash_matches("ev_kez", &hash));
    }
}
