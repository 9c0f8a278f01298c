//! API keys: made at random, kept only as a SHA-256 hash, compared in constant time.
//!
//! The webhook listener checks presented keys with it; the admin commands and the first start
//! make new ones.

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

/// What is stored instead of the key itself.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares hashes, so neither the key's length nor its content leaks through timing.
pub fn key_matches(presented: &str, stored_hash: &[u8; 32]) -> bool {
    hash_key(presented).ct_eq(stored_hash).into()
}

/// Compares `presented`'s hash with a lower-case hex hash (an event's own key, as its parsed
/// `[auth]` keeps it), in constant time.
pub fn key_matches_hex(presented: &str, hex_hash: &str) -> bool {
    let ours: String = hash_key(presented)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    ours.as_bytes().ct_eq(hex_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_and_prefixed() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert!(a.starts_with("hk_"));
        assert_eq!(a.len(), 67);
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
        assert!(key_matches_hex("ev_key", &hash));
        assert!(!key_matches_hex("ev_kez", &hash));
    }
}
