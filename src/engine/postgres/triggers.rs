//! What triggers keep (`hookbot.schedule_dues`, `hookbot.button_values`): each schedule's next
//! due time and the values of buttons too long for their `custom_id`. Every call commits before
//! it returns.

use super::PostgresEngine;
use crate::engine::error::StoreError;
use crate::engine::records::ScheduleDue;

impl PostgresEngine {
    pub(super) async fn schedule_dues(&self) -> Result<Vec<(String, ScheduleDue)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT event_id, fingerprint, next_due_ms FROM hookbot.schedule_dues ORDER BY event_id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let next: i64 = row.get(2);
                (
                    row.get(0),
                    ScheduleDue {
                        fingerprint: row.get(1),
                        next_due_ms: next.max(0) as u64,
                    },
                )
            })
            .collect())
    }

    pub(super) async fn set_schedule_due(
        &self,
        event_id: &str,
        due: Option<&ScheduleDue>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match due {
            Some(due) => {
                let next = i64::try_from(due.next_due_ms).unwrap_or(i64::MAX);
                client
                    .execute(
                        "INSERT INTO hookbot.schedule_dues (event_id, fingerprint, next_due_ms)
                         VALUES ($1, $2, $3)
                         ON CONFLICT (event_id) DO UPDATE
                         SET fingerprint = excluded.fingerprint, next_due_ms = excluded.next_due_ms",
                        &[&event_id, &due.fingerprint, &next],
                    )
                    .await?;
            }
            None => {
                client
                    .execute(
                        "DELETE FROM hookbot.schedule_dues WHERE event_id = $1",
                        &[&event_id],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn button_values(&self) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key, value FROM hookbot.button_values ORDER BY key",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    pub(super) async fn button_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT value FROM hookbot.button_values WHERE key = $1",
                &[&key],
            )
            .await?;
        Ok(row.map(|row| row.get(0)))
    }

    pub(super) async fn keep_button_value(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO hookbot.button_values (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )
            .await?;
        Ok(())
    }
}
