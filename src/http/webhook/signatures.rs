//! Signed webhooks: GitHub, Stripe, Standard Webhooks and a generic HMAC-SHA256, checked over
//! the exact bytes received, in constant time, before anything parses the body; and the
//! replay guard that answers a delivery seen before without a second run.
//!
//! A refusal's words are for the log (the caller hears one message for every 401): they name the
//! header that was missing or wrong, never why a signature differed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::events::SignatureEncoding;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from now, either way (Stripe's and Standard Webhooks'
/// default).
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// How long a timestamped delivery's id is remembered: a timestamp stays acceptable for the
/// tolerance on either side of now.
pub const TIMESTAMPED_REPLAY_WINDOW: Duration = Duration::from_secs(2 * 5 * 60);
/// How long a GitHub delivery id is remembered: GitHub signs no timestamp, so a replay can only
/// be told by its id.
pub const GITHUB_REPLAY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The most delivery ids remembered at once; past it the one closest to expiring goes first.
pub const MAX_REMEMBERED_DELIVERIES: usize = 10_000;

/// A signature check passed; `delivery` is the id a replay would repeat, when the sender gives
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub delivery: Option<String>,
    pub window: Duration,
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body; `X-GitHub-Delivery` names the
/// delivery.
pub fn verify_github(key: &[u8], headers: &HeaderMap, body: &[u8]) -> Result<Verified, String> {
    const HEADER: &str = "X-Hub-Signature-256";
    let value = header(headers, HEADER)?;
    let signature = value
        .strip_prefix("sha256=")
        .and_then(decode_hex)
        .ok_or_else(|| format!("{HEADER} must be sha256= followed by 64 hex digits"))?;
    if !hmac_matches(key, &[body], &[signature]) {
        return Err(mismatch(HEADER));
    }
    Ok(Verified {
        delivery: optional_header(headers, "x-github-delivery").map(|id| format!("github:{id}")),
        window: GITHUB_REPLAY_WINDOW,
    })
}

/// Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>`, the
/// timestamp within [`TIMESTAMP_TOLERANCE`]; the event's `id` names the delivery.
pub fn verify_stripe(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now_secs: u64,
) -> Result<Verified, String> {
    const HEADER: &str = "Stripe-Signature";
    let value = header(headers, HEADER)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.trim()),
            Some(("v1", signature)) => signatures.push(
                decode_hex(signature.trim())
                    .ok_or_else(|| format!("{HEADER}: a v1 signature must be 64 hex digits"))?,
            ),
            _ => {}
        }
    }
    let timestamp = timestamp
        .ok_or_else(|| format!("{HEADER} has no t=<timestamp>"))
        .and_then(|t| parse_timestamp(HEADER, t))?;
    if signatures.is_empty() {
        return Err(format!("{HEADER} has no v1=<signature>"));
    }
    check_timestamp(HEADER, timestamp, now_secs)?;
    let prefix = format!("{timestamp}.");
    if !hmac_matches(key, &[prefix.as_bytes(), body], &signatures) {
        return Err(mismatch(HEADER));
    }
    let event_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|document| document.get("id")?.as_str().map(str::to_owned));
    Ok(Verified {
        delivery: event_id.map(|id| format!("stripe:{id}")),
        window: TIMESTAMPED_REPLAY_WINDOW,
    })
}

/// Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>`
/// entries separated by spaces, several while a key rotates) over `<id>.<timestamp>.<body>`.
pub fn verify_standard(
    key: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now_secs: u64,
) -> Result<Verified, String> {
    let id = header(headers, "webhook-id")?;
    let timestamp = header(headers, "webhook-timestamp")
        .and_then(|t| parse_timestamp("webhook-timestamp", t))?;
    let value = header(headers, "webhook-signature")?;
    let mut signatures = Vec::new();
    for entry in value.split_whitespace() {
        // Other versions (v1a: asymmetric) are not ours to check.
        if let Some(signature) = entry.strip_prefix("v1,") {
            signatures.push(
                base64::engine::general_purpose::STANDARD
                    .decode(signature)
                    .map_err(|_| "webhook-signature: a v1 signature must be base64".to_owned())?,
            );
        }
    }
    if signatures.is_empty() {
        return Err("webhook-signature has no v1,<signature> entry".to_owned());
    }
    check_timestamp("webhook-timestamp", timestamp, now_secs)?;
    let prefix = format!("{id}.{timestamp}.");
    if !hmac_matches(key, &[prefix.as_bytes(), body], &signatures) {
        return Err(mismatch("webhook-signature"));
    }
    Ok(Verified {
        delivery: Some(format!("webhook-id:{id}")),
        window: TIMESTAMPED_REPLAY_WINDOW,
    })
}

/// A HMAC-SHA256 of the body in `name`, hex (an optional `sha256=` before it) or base64.
pub fn verify_hmac(
    key: &[u8],
    name: &str,
    encoding: SignatureEncoding,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, String> {
    let value = header(headers, name)?;
    let value = value.strip_prefix("sha256=").unwrap_or(value);
    let signature = match encoding {
        SignatureEncoding::Hex => {
            decode_hex(value).ok_or_else(|| format!("{name} must be 64 hex digits"))?
        }
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| format!("{name} must be base64"))?,
    };
    if !hmac_matches(key, &[body], &[signature]) {
        return Err(mismatch(name));
    }
    Ok(Verified {
        delivery: None,
        window: Duration::ZERO,
    })
}

/// True when one of `signatures` is the HMAC of the concatenated `parts`. Each comparison takes
/// the same time whatever the bytes (`verify_slice` compares in constant time).
fn hmac_matches(key: &[u8], parts: &[&[u8]], signatures: &[Vec<u8>]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    let mut matched = false;
    for signature in signatures {
        // Every candidate is checked, so the time does not tell which one matched.
        matched |= mac.clone().verify_slice(signature).is_ok();
    }
    matched
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, String> {
    match headers.get(name) {
        None => Err(format!(
            "the {name} header is missing: this event only accepts requests signed with its secret"
        )),
        Some(value) => value
            .to_str()
            .map(str::trim)
            .ok()
            .filter(|value| !value.is_empty())
            .ok_or_else(|| format!("the {name} header is empty or not text")),
    }
}

fn optional_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn mismatch(name: &str) -> String {
    format!("the {name} header does not match the body: check that the sender signs with this event's secret")
}

fn parse_timestamp(name: &str, text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("the {name} timestamp must be whole seconds since 1970"))
}

fn check_timestamp(name: &str, timestamp: u64, now_secs: u64) -> Result<(), String> {
    if timestamp.abs_diff(now_secs) > TIMESTAMP_TOLERANCE.as_secs() {
        return Err(format!(
            "the {name} timestamp is more than {} minutes from this server's clock: the request \
             is too old (or a replay), or a clock is wrong",
            TIMESTAMP_TOLERANCE.as_secs() / 60
        ));
    }
    Ok(())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Delivery ids seen lately, per event, kept in memory (bounded, each for its window). Not
/// durable: after a restart a replay inside the window would run again.
#[derive(Clone, Default)]
pub struct ReplayGuard {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
}

#[derive(Debug, Clone, Copy)]
enum Seen {
    /// A request with this id is being accepted now.
    InFlight,
    /// A run was accepted for it; remembered until then.
    Until(Instant),
}

/// A delivery id being accepted: [`Claim::commit`] once its run is stored; dropped without that
/// (the request failed) the id is forgotten, so the sender's retry is not taken for a replay.
pub struct Claim {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
    key: String,
    window: Duration,
    committed: bool,
}

impl ReplayGuard {
    /// `None` when `delivery` of `event` was seen within its window (or is being accepted now).
    pub fn claim(&self, event: &str, delivery: &str, window: Duration) -> Option<Claim> {
        self.claim_at(event, delivery, window, Instant::now())
    }

    fn claim_at(
        &self,
        event: &str,
        delivery: &str,
        window: Duration,
        now: Instant,
    ) -> Option<Claim> {
        let key = format!("{event}\n{delivery}");
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&key) {
            Some(Seen::InFlight) => return None,
            Some(Seen::Until(until)) if *until > now => return None,
            _ => {}
        }
        if seen.len() >= MAX_REMEMBERED_DELIVERIES {
            seen.retain(|_, state| !matches!(state, Seen::Until(until) if *until <= now));
        }
        if seen.len() >= MAX_REMEMBERED_DELIVERIES {
            let oldest = seen
                .iter()
                .filter_map(|(key, state)| match state {
                    Seen::Until(until) => Some((*until, key.clone())),
                    Seen::InFlight => None,
                })
                .min();
            if let Some((_, key)) = oldest {
                seen.remove(&key);
            }
        }
        seen.insert(key.clone(), Seen::InFlight);
        Some(Claim {
            seen: self.seen.clone(),
            key,
            window,
            committed: false,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Claim {
    /// The run is stored: remember the id for its window.
    pub fn commit(mut self) {
        self.committed = true;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(self.key.clone(), Seen::Until(Instant::now() + self.window));
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.committed {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn github_signatures() {
        // GitHub's documented test vector.
        let key = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let ok = verify_github(
            key,
            &headers(&[("x-hub-signature-256", good), ("x-github-delivery", "d-1")]),
            body,
        )
        .unwrap();
        assert_eq!(ok.delivery.as_deref(), Some("github:d-1"));
        let wrong = good.replace("757", "758");
        let err = verify_github(key, &headers(&[("x-hub-signature-256", &wrong)]), body);
        assert!(err
            .unwrap_err()
            .contains("X-Hub-Signature-256 header does not match"));
        let err = verify_github(key, &HeaderMap::new(), body).unwrap_err();
        assert!(
            err.contains("X-Hub-Signature-256 header is missing"),
            "{err}"
        );
        let err = verify_github(key, &headers(&[("x-hub-signature-256", "abc")]), body);
        assert!(err.unwrap_err().contains("sha256="));
    }

    #[test]
    fn stripe_signatures() {
        let key = b"whsec_test";
        let body = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
        let now = 1_700_000_000;
        let signature = hex(&sign(
            key,
            format!("{now}.")
                .as_bytes()
                .iter()
                .chain(body)
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
        ));
        let value = format!("t={now},v1={},v0=ignored", signature);
        let ok = verify_stripe(
            key,
            &headers(&[("stripe-signature", &value)]),
            body,
            now + 10,
        );
        assert_eq!(ok.unwrap().delivery.as_deref(), Some("stripe:evt_1"));
        let late = verify_stripe(
            key,
            &headers(&[("stripe-signature", &value)]),
            body,
            now + 301,
        );
        assert!(late.unwrap_err().contains("more than 5 minutes"));
        let rotated = format!("t={now},v1={},v1={signature}", "00".repeat(32));
        assert!(verify_stripe(key, &headers(&[("stripe-signature", &rotated)]), body, now).is_ok());
        let bad = format!("t={now},v1={}", "00".repeat(32));
        let err = verify_stripe(key, &headers(&[("stripe-signature", &bad)]), body, now);
        assert!(err
            .unwrap_err()
            .contains("Stripe-Signature header does not match"));
        let err = verify_stripe(key, &headers(&[("stripe-signature", "v1=00")]), body, now);
        assert!(err.unwrap_err().contains("t=<timestamp>"));
    }

    #[test]
    fn standard_webhooks_signatures() {
        // The Standard Webhooks spec's example secret.
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let body = br#"{"type":"user.created"}"#;
        let now = 1_700_000_000u64;
        let message = [format!("msg_1.{now}.").as_bytes(), body].concat();
        let signature = base64::engine::general_purpose::STANDARD.encode(sign(&key, &message));
        let value = format!("v1,bm90IGl0 v1a,xyz v1,{signature}");
        let now_text = now.to_string();
        let h = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &now_text),
            ("webhook-signature", &value),
        ]);
        let ok = verify_standard(&key, &h, body, now).unwrap();
        assert_eq!(ok.delivery.as_deref(), Some("webhook-id:msg_1"));
        assert!(verify_standard(&key, &h, b"{}", now)
            .unwrap_err()
            .contains("webhook-signature header does not match"));
        assert!(verify_standard(&key, &h, body, now - 400)
            .unwrap_err()
            .contains("webhook-timestamp timestamp is more than 5 minutes"));
        let no_id = headers(&[
            ("webhook-timestamp", &now_text),
            ("webhook-signature", &value),
        ]);
        assert!(verify_standard(&key, &no_id, body, now)
            .unwrap_err()
            .contains("webhook-id header is missing"));
    }

    #[test]
    fn generic_hmac_in_hex_or_base64() {
        let key = b"k";
        let body = b"payload";
        let mac = sign(key, body);
        let h = headers(&[("x-signature", &hex(&mac))]);
        assert!(verify_hmac(key, "x-signature", SignatureEncoding::Hex, &h, body).is_ok());
        let prefixed = headers(&[("x-signature", &format!("sha256={}", hex(&mac)))]);
        assert!(verify_hmac(key, "x-signature", SignatureEncoding::Hex, &prefixed, body).is_ok());
        let b64 = headers(&[(
            "x-signature",
            &base64::engine::general_purpose::STANDARD.encode(&mac),
        )]);
        assert!(verify_hmac(key, "x-signature", SignatureEncoding::Base64, &b64, body).is_ok());
        assert!(verify_hmac(key, "x-signature", SignatureEncoding::Hex, &b64, body).is_err());
        assert!(
            verify_hmac(key, "x-signature", SignatureEncoding::Hex, &h, b"other")
                .unwrap_err()
                .contains("does not match")
        );
    }

    #[test]
    fn replays_are_refused_within_the_window_and_failures_forget() {
        let guard = ReplayGuard::default();
        let window = Duration::from_secs(60);
        let claim = guard.claim("e", "d1", window).unwrap();
        assert!(guard.claim("e", "d1", window).is_none(), "in flight");
        drop(claim);
        let claim = guard
            .claim("e", "d1", window)
            .expect("a failed request is forgotten");
        claim.commit();
        assert!(guard.claim("e", "d1", window).is_none());
        assert!(guard.claim("other", "d1", window).is_some(), "per event");
        let later = Instant::now() + Duration::from_secs(61);
        assert!(
            guard.claim_at("e", "d1", window, later).is_some(),
            "expired"
        );
    }

    #[test]
    fn the_guard_stays_bounded() {
        let guard = ReplayGuard::default();
        for i in 0..MAX_REMEMBERED_DELIVERIES + 5 {
            guard
                .claim("e", &i.to_string(), Duration::from_secs(60))
                .unwrap()
                .commit();
        }
        assert!(guard.len() <= MAX_REMEMBERED_DELIVERIES);
    }
}
