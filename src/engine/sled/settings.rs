//! Settings kept beside the records: the API key's and the console key's hashes, the bot's id,
//! and the probe that tells whether the database takes writes. The API key's hash is also kept
//! in memory (`key_cache`), since every webhook asks for it.

use super::key_cache::API_KEY_HASH;
use super::SledEngine;
use crate::engine::error::StoreError;

const CONSOLE_KEY_HASH: &str = "console_key_sha256";
const BOT_ID: &str = "bot_id";
/// Written and removed again by [`SledEngine::check_writable`].
const WRITE_PROBE: &str = "write_probe";

impl SledEngine {
    /// Whether the database takes writes now: a key written, removed and flushed (`/readyz`).
    pub(super) async fn check_writable(&self) -> Result<(), StoreError> {
        self.meta.insert(WRITE_PROBE, &[1u8][..])?;
        self.meta.remove(WRITE_PROBE)?;
        self.flush().await
    }

    /// From memory: what `meta` holds, as the writers below keep it.
    pub(super) fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(*self.api_key.read())
    }

    /// Replaces the key hash and waits until it is on disk, so a printed key is never lost.
    pub(super) async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        {
            // Held across the write, so racing writers leave memory as they leave `meta`.
            let mut cached = self.api_key.write();
            self.meta.insert(API_KEY_HASH, &hash[..])?;
            *cached = Some(hash);
        }
        self.flush().await
    }

    /// See [`Engine::adopt_install`](crate::engine::Engine::adopt_install).
    pub(super) async fn adopt_install(
        &self,
        install_id: u128,
        next_counter: u64,
    ) -> Result<bool, StoreError> {
        let waiting = self
            .journal
            .as_ref()
            .is_some_and(|journal| journal.waiting_count() > 0);
        if waiting || self.runs.first()?.is_some() || self.pending.first()?.is_some() {
            return Ok(false);
        }
        self.meta
            .insert(super::INSTALL_ID, &install_id.to_be_bytes()[..])?;
        self.meta
            .insert(super::RUN_COUNTER_FLOOR, &next_counter.to_be_bytes()[..])?;
        self.flush().await?;
        Ok(true)
    }

    /// Keeps the key hash if there is none (one compare-and-swap), on disk when this returns.
    pub(super) async fn create_api_key_hash(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        let made = {
            let mut cached = self.api_key.write();
            let made = self
                .meta
                .compare_and_swap(API_KEY_HASH, None::<&[u8]>, Some(&hash[..]))?
                .is_ok();
            if made {
                *cached = Some(hash);
            }
            made
        };
        self.flush().await?;
        Ok(made)
    }

    pub(super) fn console_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .meta
            .get(CONSOLE_KEY_HASH)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()))
    }

    pub(super) async fn set_console_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        self.meta.insert(CONSOLE_KEY_HASH, &hash[..])?;
        self.flush().await
    }

    pub(super) fn bot_id(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta
            .get(BOT_ID)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    pub(super) fn set_bot_id(&self, id: u64) -> Result<(), StoreError> {
        self.meta.insert(BOT_ID, &id.to_be_bytes())?;
        Ok(())
    }
}
