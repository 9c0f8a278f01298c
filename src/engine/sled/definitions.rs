//! Event definitions, served from memory once read, and every accepted version of each.

use std::sync::Arc;

use super::{get_json, SledEngine};
use crate::engine::coordination::Change;
use crate::engine::error::StoreError;
use crate::engine::limits::MAX_REVISIONS_PER_EVENT;
use crate::engine::records::{EventRevision, ReplacedEvents};
use crate::events::Event;
use crate::run::unix_now_ms;

impl SledEngine {
    /// Makes `events` the whole set of served event definitions, at once for every reader, and
    /// keeps each new or changed definition as a new revision.
    pub(super) fn replace_events(&self, events: &[Event]) -> Result<ReplacedEvents, StoreError> {
        let mut replaced = ReplacedEvents::default();
        let mut batch = sled::Batch::default();
        let keep: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        for key in self.events.iter().keys() {
            let key = key?;
            let id = String::from_utf8_lossy(&key).into_owned();
            if !keep.contains(id.as_str()) {
                batch.remove(key);
                replaced.removed.push(id);
            }
        }
        let now_ms = unix_now_ms();
        for event in events {
            let definition = serde_json::to_vec(event)?;
            let unchanged = self
                .events
                .get(event.id.as_bytes())?
                .is_some_and(|stored| stored.as_ref() == definition.as_slice());
            if !unchanged {
                self.add_revision(event, now_ms)?;
                replaced.added_or_changed.push(event.id.clone());
            }
            batch.insert(event.id.as_bytes(), definition);
        }
        self.events.apply_batch(batch)?;
        let mut loaded = self.loaded_events.write().expect("event cache lock");
        loaded.clear();
        loaded.extend(events.iter().map(|e| (e.id.clone(), Arc::new(e.clone()))));
        drop(loaded);
        if !replaced.added_or_changed.is_empty() || !replaced.removed.is_empty() {
            self.changes.announce(Change::Definitions);
        }
        Ok(replaced)
    }

    fn add_revision(&self, event: &Event, at_ms: u64) -> Result<(), StoreError> {
        let mut prefix = event.id.as_bytes().to_vec();
        prefix.push(0);
        let last = self
            .revisions
            .scan_prefix(&prefix)
            .keys()
            .next_back()
            .transpose()?;
        let revision = last.map_or(1, |key| decode_revision(&key) + 1);
        let mut key = prefix.clone();
        key.extend_from_slice(&revision.to_be_bytes());
        let record = EventRevision {
            revision,
            accepted_at_ms: at_ms,
            event: event.clone(),
        };
        self.revisions.insert(key, serde_json::to_vec(&record)?)?;
        // Only the newest are kept: a file saved every minute for a year must not fill the disk.
        let count = self.revisions.scan_prefix(&prefix).count();
        if count > MAX_REVISIONS_PER_EVENT {
            for old in self
                .revisions
                .scan_prefix(&prefix)
                .keys()
                .take(count - MAX_REVISIONS_PER_EVENT)
            {
                self.revisions.remove(old?)?;
            }
        }
        Ok(())
    }

    /// Keeps one of an event's revisions unless its number is taken; true when written.
    pub(super) fn restore_revision(
        &self,
        event_id: &str,
        revision: &EventRevision,
    ) -> Result<bool, StoreError> {
        let mut key = event_id.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&revision.revision.to_be_bytes());
        let written = self.revisions.compare_and_swap(
            key,
            None::<&[u8]>,
            Some(serde_json::to_vec(revision)?),
        )?;
        Ok(written.is_ok())
    }

    /// An event's accepted versions, oldest first (at most [`MAX_REVISIONS_PER_EVENT`]).
    pub(super) fn event_revisions(&self, id: &str) -> Result<Vec<EventRevision>, StoreError> {
        let mut prefix = id.as_bytes().to_vec();
        prefix.push(0);
        self.revisions
            .scan_prefix(prefix)
            .values()
            .map(|value| Ok(serde_json::from_slice(&value?)?))
            .collect()
    }

    /// An event definition. Served from memory once read, so a run does not decode the
    /// definition or recompile its regexes; [`replace_events`](Self::replace_events) is the only
    /// writer and refreshes it.
    pub(super) fn event(&self, id: &str) -> Result<Option<Arc<Event>>, StoreError> {
        if let Some(event) = self.loaded_events.read().expect("event cache lock").get(id) {
            return Ok(Some(event.clone()));
        }
        let stored: Option<Event> = get_json(&self.events, id.as_bytes())?;
        Ok(stored.map(|event| {
            let event = Arc::new(event);
            self.loaded_events
                .write()
                .expect("event cache lock")
                .insert(id.to_owned(), event.clone());
            event
        }))
    }

    pub(super) fn events(&self) -> Result<Vec<Event>, StoreError> {
        self.events
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice::<Event>(&v?)?))
            .collect()
    }
}

fn decode_revision(key: &[u8]) -> u32 {
    key.len()
        .checked_sub(4)
        .and_then(|start| key[start..].try_into().ok())
        .map_or(0, u32::from_be_bytes)
}
