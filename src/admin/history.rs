//! The history an export carries besides settings and variables: every run with its journal and
//! its place in the queue, the idempotency keys, the events' revisions, each schedule's next due
//! time and the values of long buttons. Read from one store
//! and written into another (sled to PostgreSQL or back) so a move loses nothing: a queued run is
//! carried out after the import, a repeated idempotency key still gets its first answer.

use super::error::AdminError;
use super::protocol::{
    ExportedButtonValue, ExportedDue, ExportedKey, ExportedRevision, ExportedRun, StoreExport,
    StoreImported,
};
use crate::engine::{run_id, IdempotencyKey, RunFilter, Store};
use crate::problem::quoted;
use crate::run::{RunId, RunStatus};

/// The run counter a store that adopts `install_id` starts from: past every exported run of
/// that install, so no new run id repeats one.
pub fn next_counter(install_id: u128, data: &StoreExport) -> u64 {
    const COUNTER: u64 = (1 << 40) - 1;
    data.runs
        .iter()
        .map(|exported| exported.run.id)
        .filter(|id| run_id(install_id, id.0 & COUNTER) == *id)
        .map(|id| (id.0 & COUNTER) + 1)
        .max()
        .unwrap_or(0)
}

/// Runs (oldest first), keys, revisions, schedule due times and button values, as
/// [`StoreExport`] carries them.
pub async fn export(store: &Store, into: &mut StoreExport) -> Result<(), AdminError> {
    for (event, due) in store.schedule_dues().await? {
        into.schedule_dues.push(ExportedDue { event, due });
    }
    for (key, value) in store.button_values().await? {
        into.button_values.push(ExportedButtonValue { key, value });
    }
    let queued: std::collections::HashSet<RunId> =
        store.pending_runs(usize::MAX).await?.into_iter().collect();
    let retry_at: std::collections::HashMap<RunId, u64> =
        store.pending_retry_times().await?.into_iter().collect();
    let mut runs = store
        .runs_newest_first(&RunFilter {
            event: None,
            failed: false,
            limit: usize::MAX,
        })
        .await?;
    runs.reverse();
    for run in runs {
        into.runs.push(ExportedRun {
            steps: store.steps(run.id).await?,
            queued: queued.contains(&run.id),
            retry_at_ms: retry_at.get(&run.id).copied(),
            run,
        });
    }
    for (event, key, record) in store.idempotency_records().await? {
        into.idempotency_keys.push(ExportedKey {
            event,
            key_hex: key.iter().map(|b| format!("{b:02x}")).collect(),
            record,
        });
    }
    // The revisions of every event it serves or keeps runs or keys of (an event imported but
    // not yet loaded from its file is served by none).
    let mut ids: std::collections::BTreeSet<String> =
        store.events().await?.into_iter().map(|e| e.id).collect();
    ids.extend(into.runs.iter().map(|r| r.run.event_id.clone()));
    ids.extend(into.idempotency_keys.iter().map(|k| k.event.clone()));
    for id in ids {
        for revision in store.event_revisions(&id).await? {
            into.revisions.push(ExportedRevision {
                event: id.clone(),
                revision,
            });
        }
    }
    Ok(())
}

/// Writes the history of `data` into `store`, checked whole first. What the store has already
/// (a run id, a key, an event's revision number) is left as it is, so importing twice, or into
/// an install that runs, never duplicates a run. Not flushed: the caller flushes once.
pub async fn import(
    store: &Store,
    data: &StoreExport,
    imported: &mut StoreImported,
) -> Result<(), AdminError> {
    let mut keys = Vec::with_capacity(data.idempotency_keys.len());
    for exported in &data.idempotency_keys {
        let key = unhex(&exported.key_hex).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "idempotency key {} of event {} is not hex",
                quoted(&exported.key_hex),
                quoted(&exported.event)
            ))
        })?;
        keys.push((exported, key));
    }
    for exported in &data.runs {
        let run = &exported.run;
        if store.run(run.id).await?.is_some() {
            continue;
        }
        for (index, step) in exported.steps.iter().enumerate() {
            store.append_step(run.id, index as u32, step).await?;
        }
        // Accepting records the run and queues it; a finished one then leaves the queue, and a
        // queued one waiting for a retry gets its time back.
        store.accept_run(run, None).await?;
        if exported.queued {
            let mut waiting = run.clone();
            waiting.status = RunStatus::Pending;
            if waiting.next_attempt_at_ms.is_none() {
                waiting.next_attempt_at_ms = exported.retry_at_ms;
            }
            store.save_run(&waiting).await?;
            imported.queued += 1;
        } else {
            store.finish_run(run).await?;
        }
        imported.runs += 1;
    }
    for (exported, key) in keys {
        let key = IdempotencyKey {
            event_id: &exported.event,
            key: &key,
        };
        if store.restore_idempotency(key, &exported.record).await? {
            imported.idempotency_keys += 1;
        }
    }
    for exported in &data.revisions {
        if store
            .restore_revision(&exported.event, &exported.revision)
            .await?
        {
            imported.revisions += 1;
        }
    }
    // A due time the store keeps already is its own schedule's, newer than the export's.
    let kept: std::collections::HashSet<String> = store
        .schedule_dues()
        .await?
        .into_iter()
        .map(|(event, _)| event)
        .collect();
    for exported in &data.schedule_dues {
        if !kept.contains(&exported.event) {
            store
                .set_schedule_due(&exported.event, Some(&exported.due))
                .await?;
            imported.schedule_dues += 1;
        }
    }
    for exported in &data.button_values {
        store
            .keep_button_value(&exported.key, &exported.value)
            .await?;
        imported.button_values += 1;
    }
    Ok(())
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::unhex;

    #[test]
    fn keys_travel_as_hex() {
        assert_eq!(unhex("00ff41"), Some(vec![0, 255, b'A']));
        assert_eq!(unhex(""), Some(vec![]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
