//! The API key's hash kept in memory beside `meta`, so a webhook's key check does not read sled.

use std::sync::{Arc, RwLock};

/// The key in `meta` that holds the API key's hash (32 bytes of SHA-256).
pub(super) const API_KEY_HASH: &str = "api_key_sha256";

/// The API key's hash as `meta` holds it, read once at open and replaced by every write of it,
/// so a webhook's key check does not read sled. Exact: this process is the database's only
/// writer (sled's file lock), every write of the hash goes through the two setters in
/// `settings`, and they change memory while holding its lock across their write to `meta`.
#[derive(Clone)]
pub(super) struct ApiKeyCache(Arc<RwLock<Option<[u8; 32]>>>);

impl ApiKeyCache {
    pub(super) fn load(meta: &sled::Tree) -> Result<ApiKeyCache, sled::Error> {
        let hash = meta
            .get(API_KEY_HASH)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok());
        Ok(ApiKeyCache(Arc::new(RwLock::new(hash))))
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<[u8; 32]>> {
        // A 32-byte value is never left half-written: a poisoned lock still holds a whole one.
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<[u8; 32]>> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
