//! Event definitions (`hookbot.events`), served from memory once read, and every accepted
//! version of each (`hookbot.event_revisions`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio_postgres::types::Json;

use super::coordination::announce;
use super::{json, PostgresEngine};
use crate::engine::coordination::Change;
use crate::engine::error::StoreError;
use crate::engine::limits::MAX_REVISIONS_PER_EVENT;
use crate::engine::records::{EventRevision, ReplacedEvents};
use crate::events::Event;
use crate::run::unix_now_ms;

/// The advisory lock a replacement holds (within its transaction), so two instances replacing
/// the definitions at once number their revisions one after the other.
const REPLACE_LOCK: i64 = 0x686f_6f6b_626f_7402;

impl PostgresEngine {
    /// Makes `events` the whole set of served event definitions, at once for every reader (one
    /// transaction), and keeps each new or changed definition as a new revision.
    pub(super) async fn replace_events(
        &self,
        events: &[Event],
    ) -> Result<ReplacedEvents, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&REPLACE_LOCK])
            .await?;
        let stored: HashMap<String, serde_json::Value> = transaction
            .query("SELECT id, definition FROM hookbot.events", &[])
            .await?
            .into_iter()
            .map(|row| Ok((row.try_get(0)?, json(&row, 1)?)))
            .collect::<Result<_, StoreError>>()?;
        let keep: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let mut replaced = ReplacedEvents::default();
        let mut removed: Vec<&String> = stored
            .keys()
            .filter(|id| !keep.contains(id.as_str()))
            .collect();
        removed.sort();
        for id in removed {
            transaction
                .execute("DELETE FROM hookbot.events WHERE id = $1", &[id])
                .await?;
            replaced.removed.push(id.clone());
        }
        let now_ms = unix_now_ms() as i64;
        for event in events {
            let definition = serde_json::to_value(event)?;
            if stored.get(&event.id) == Some(&definition) {
                continue;
            }
            transaction
                .execute(
                    "INSERT INTO hookbot.events (id, definition) VALUES ($1, $2)
                     ON CONFLICT (id) DO UPDATE SET definition = excluded.definition",
                    &[&event.id, &Json(&definition)],
                )
                .await?;
            transaction
                .execute(
                    "INSERT INTO hookbot.event_revisions (event_id, revision, accepted_at_ms, definition)
                     SELECT $1, coalesce(max(revision), 0) + 1, $2, $3
                     FROM hookbot.event_revisions WHERE event_id = $1",
                    &[&event.id, &now_ms, &Json(&definition)],
                )
                .await?;
            // Only the newest are kept: a file saved every minute for a year must not fill the
            // database.
            transaction
                .execute(
                    "DELETE FROM hookbot.event_revisions WHERE event_id = $1 AND revision <= (
                         SELECT max(revision) - $2 FROM hookbot.event_revisions WHERE event_id = $1)",
                    &[&event.id, &(MAX_REVISIONS_PER_EVENT as i32)],
                )
                .await?;
            replaced.added_or_changed.push(event.id.clone());
        }
        // Every other instance drops its cached definitions when this commits.
        if !replaced.added_or_changed.is_empty() || !replaced.removed.is_empty() {
            announce(&transaction, Change::Definitions).await?;
        }
        transaction.commit().await?;
        let mut loaded = self.loaded_events.write().expect("event cache lock");
        loaded.clear();
        loaded.extend(events.iter().map(|e| (e.id.clone(), Arc::new(e.clone()))));
        Ok(replaced)
    }

    /// Keeps one of an event's revisions unless its number is taken; true when written.
    pub(super) async fn restore_revision(
        &self,
        event_id: &str,
        revision: &EventRevision,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let written = client
            .execute(
                "INSERT INTO hookbot.event_revisions (event_id, revision, accepted_at_ms, definition)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, revision) DO NOTHING",
                &[
                    &event_id,
                    &(revision.revision as i32),
                    &(revision.accepted_at_ms as i64),
                    &Json(&revision.event),
                ],
            )
            .await?;
        Ok(written == 1)
    }

    /// An event's accepted versions, oldest first (at most [`MAX_REVISIONS_PER_EVENT`]).
    pub(super) async fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT revision, accepted_at_ms, definition FROM hookbot.event_revisions
                 WHERE event_id = $1 ORDER BY revision",
                &[&id],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(EventRevision {
                    revision: row.get::<_, i32>(0) as u32,
                    accepted_at_ms: row.get::<_, i64>(1) as u64,
                    event: json(&row, 2)?,
                })
            })
            .collect()
    }

    /// An event definition. Served from memory once read, so a run does not decode the
    /// definition or recompile its regexes; [`replace_events`](Self::replace_events) refreshes
    /// it, and a replacement on another instance empties it (`coordination`).
    pub(super) async fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError> {
        if let Some(event) = self.loaded_events.read().expect("event cache lock").get(id) {
            return Ok(Some(event.clone()));
        }
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT definition FROM hookbot.events WHERE id = $1",
                &[&id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let event: Event = json(&row, 0)?;
        let event = Arc::new(event);
        self.loaded_events
            .write()
            .expect("event cache lock")
            .insert(id.to_owned(), event.clone());
        Ok(Some(event))
    }

    /// Every served definition, by id.
    pub(super) async fn events(&self) -> Result<Vec<Event>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT definition FROM hookbot.events ORDER BY id", &[])
            .await?;
        rows.iter().map(|row| json(row, 0)).collect()
    }
}
