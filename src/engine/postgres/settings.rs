//! Settings kept beside the records (`hookbot.settings`): the API key's and the console key's
//! hashes, the bot's id, and the probe that tells whether the database takes writes. (The
//! install id is read at connect.)

use super::PostgresEngine;
use crate::engine::error::StoreError;

const API_KEY_HASH: &str = "api_key_sha256";
const CONSOLE_KEY_HASH: &str = "console_key_sha256";
const BOT_ID: &str = "bot_id";
/// Written and removed again by [`PostgresEngine::check_writable`].
const WRITE_PROBE: &str = "write_probe";

impl PostgresEngine {
    async fn setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT value FROM hookbot.settings WHERE name = $1",
                &[&name],
            )
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn set_setting(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO hookbot.settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&name, &value],
            )
            .await?;
        Ok(())
    }

    /// Whether the database takes writes now: a row written and removed in one committed
    /// transaction (`/readyz`).
    pub(super) async fn check_writable(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO hookbot.settings (name, value) VALUES ($1, '\\x01')
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&WRITE_PROBE],
            )
            .await?;
        transaction
            .execute(
                "DELETE FROM hookbot.settings WHERE name = $1",
                &[&WRITE_PROBE],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    pub(super) async fn api_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .setting(API_KEY_HASH)
            .await?
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()))
    }

    /// Replaces the key hash; committed when this returns, so a printed key is never lost.
    pub(super) async fn set_api_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        self.set_setting(API_KEY_HASH, &hash).await
    }

    /// See [`Engine::adopt_install`](crate::engine::Engine::adopt_install): one transaction,
    /// which holds the runs table so no run is accepted between the look and the change.
    pub(super) async fn adopt_install(
        &self,
        install_id: u128,
        next_counter: u64,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .batch_execute("LOCK TABLE hookbot.runs IN SHARE MODE")
            .await?;
        let has_runs: bool = transaction
            .query_one("SELECT EXISTS (SELECT 1 FROM hookbot.runs)", &[])
            .await?
            .get(0);
        if has_runs {
            return Ok(false);
        }
        transaction
            .execute(
                "UPDATE hookbot.settings SET value = $2 WHERE name = $1",
                &[&super::INSTALL_ID, &&install_id.to_be_bytes()[..]],
            )
            .await?;
        // The sequence's next value becomes at least `next_counter`.
        let last = i64::try_from(next_counter.saturating_sub(1))
            .unwrap_or(i64::MAX)
            .max(1);
        transaction
            .execute(
                "SELECT setval('hookbot.run_counter',
                     GREATEST($1, (SELECT last_value FROM hookbot.run_counter)))",
                &[&last],
            )
            .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Keeps the key hash if there is none: of instances racing on an empty database, the
    /// primary key lets exactly one insert.
    pub(super) async fn create_api_key_hash(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let made = client
            .execute(
                "INSERT INTO hookbot.settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&API_KEY_HASH, &&hash[..]],
            )
            .await?;
        Ok(made == 1)
    }

    pub(super) async fn console_key_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .setting(CONSOLE_KEY_HASH)
            .await?
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()))
    }

    /// Replaces the console key hash; committed when this returns.
    pub(super) async fn set_console_key_hash(&self, hash: [u8; 32]) -> Result<(), StoreError> {
        self.set_setting(CONSOLE_KEY_HASH, &hash).await
    }

    pub(super) async fn bot_id(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .setting(BOT_ID)
            .await?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes))
    }

    pub(super) async fn set_bot_id(&self, id: u64) -> Result<(), StoreError> {
        self.set_setting(BOT_ID, &id.to_be_bytes()).await
    }
}
