//! API keys: generated at random, stored only as a SHA-256 hash, compared in constant time.

use axum::http::{header, HeaderMap};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
}
