//! Watches the events folder: a valid change goes live within a second, without a restart; an
//! invalid one leaves the last good version serving; a deleted file's event stops (404).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio_util::sync::CancellationToken;

use crate::engine::{Store, StoreError};
use crate::events::{load_dir, Event, LoadedEvents};

/// How long the folder must be quiet before it is read again: an editor's save is often several
/// writes (a temporary file, a rename), and reading in between would see half of it.
pub const SETTLE: Duration = Duration::from_millis(200);

/// What serving after a reload looks like: the definitions to serve, and what was wrong.
#[derive(Debug)]
pub struct Reloaded {
    pub events: Vec<Event>,
    pub loaded: LoadedEvents,
    /// Ids served from their last good version because their file is broken now.
    pub kept: Vec<String>,
}

/// The events to serve after reading the folder: every valid file's, plus the last good version
/// of each event whose file exists but is broken now. A deleted file's event is gone.
pub fn with_last_good(previous: &[Event], loaded: LoadedEvents) -> Reloaded {
    let broken: HashSet<PathBuf> = loaded.problems.iter().map(|p| p.file.clone()).collect();
    let fresh: HashSet<&str> = loaded.events.iter().map(|e| e.id.as_str()).collect();
    let kept: Vec<Event> = previous
        .iter()
        .filter(|e| !fresh.contains(e.id.as_str()))
        .filter(|e| {
            let file = Path::new(&e.file);
            broken.contains(file) && file.exists()
        })
        .cloned()
        .collect();
    let kept_ids = kept.iter().map(|e| e.id.clone()).collect();
    let mut events = loaded.events.clone();
    events.extend(kept);
    events.sort_by(|a, b| a.file.cmp(&b.file).then_with(|| a.id.cmp(&b.id)));
    Reloaded {
        events,
        loaded,
        kept: kept_ids,
    }
}

/// Reads the folder and replaces the served definitions, logging every problem.
pub async fn reload(dir: &Path, store: &Store) -> Result<Reloaded, StoreError> {
    serve(load_dir(dir), store).await
}

/// Serves what was read from the folder, logging every problem.
async fn serve(loaded: LoadedEvents, store: &Store) -> Result<Reloaded, StoreError> {
    let previous = store.events().await?;
    let reloaded = with_last_good(&previous, loaded);
    for problem in &reloaded.loaded.problems {
        tracing::error!("{problem}");
    }
    for warning in &reloaded.loaded.warnings {
        tracing::warn!("{warning}");
    }
    if !reloaded.loaded.problems.is_empty() {
        metrics::counter!(crate::metrics::RELOAD_FAILURES).increment(1);
    }
    for id in &reloaded.kept {
        tracing::warn!(event = %id, "its file has problems; the last good version keeps serving");
    }
    let changed = store.replace_events(&reloaded.events).await?;
    for id in &changed.added_or_changed {
        tracing::info!(event = %id, "event definition is live");
    }
    for id in &changed.removed {
        tracing::info!(event = %id, "event removed; its webhook answers 404");
    }
    Ok(reloaded)
}

/// The events folder under watch. The watch starts before the folder is first read, so an edit
/// made while hookbot starts is never lost between that read and the watch: at worst it is
/// read twice.
pub struct FolderWatch {
    dir: PathBuf,
    /// `None` when the folder cannot be watched (logged): hookbot serves what it read at start.
    watcher: Option<notify::RecommendedWatcher>,
    changes: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl FolderWatch {
    /// Starts watching `dir`; errors of the watcher itself are logged, not fatal.
    pub fn start(dir: PathBuf) -> FolderWatch {
        let (changes_tx, changes) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading the folder (hookbot's own reload included) is not a change: counting it
            // would reload for ever.
            if event.is_ok_and(|event| !event.kind.is_access()) {
                let _ = changes_tx.send(());
            }
        });
        let watcher = match watcher {
            Ok(mut watcher) => match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => Some(watcher),
                Err(error) => {
                    tracing::error!(%error, dir = %dir.display(), "cannot watch the events folder; edits need a restart");
                    None
                }
            },
            Err(error) => {
                tracing::error!(%error, "cannot watch the events folder; edits need a restart");
                None
            }
        };
        FolderWatch {
            dir,
            watcher,
            changes,
        }
    }

    /// Reloads after each burst of changes until `shutdown`.
    pub async fn run(self, store: Store, shutdown: CancellationToken) {
        let FolderWatch {
            dir,
            watcher,
            mut changes,
        } = self;
        if watcher.is_none() {
            return;
        }
        // Kept alive for as long as changes are read: dropping it ends the watch.
        let _watcher = watcher;
        loop {
            tokio::select! {
                change = changes.recv() => if change.is_none() { return },
                _ = shutdown.cancelled() => return,
            }
            // Let the burst settle: every change within SETTLE of the last one joins this reload.
            loop {
                tokio::select! {
                    more = tokio::time::timeout(SETTLE, changes.recv()) => match more {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_) => break,
                    },
                    _ = shutdown.cancelled() => return,
                }
            }
            // Reading the folder is blocking file I/O: off the async threads.
            let folder = dir.clone();
            let loaded = match tokio::task::spawn_blocking(move || load_dir(&folder)).await {
                Ok(loaded) => loaded,
                Err(error) => {
                    tracing::error!(%error, "reloading the events failed");
                    continue;
                }
            };
            if let Err(error) = serve(loaded, &store).await {
                tracing::error!(%error, "cannot store the reloaded events");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;

    fn event(id: &str, file: &Path) -> Event {
        Event {
            id: id.into(),
            name: id.into(),
            server: 1,
            enabled: true,
            actions: vec![],
            file: file.display().to_string(),
            ..Event::default()
        }
    }

    #[test]
    fn broken_files_keep_their_last_good_version_and_deleted_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a.toml"),
            dir.path().join("b.toml"),
            dir.path().join("c.toml"),
        );
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        // c.toml was deleted.
        let previous = [event("a", &a), event("b", &b), event("c", &c)];
        let loaded = LoadedEvents {
            events: vec![event("a2", &a)],
            problems: vec![Problem::new(&b, 1, 1, "broken")],
            warnings: vec![],
        };
        let reloaded = with_last_good(&previous, loaded);
        let ids: Vec<&str> = reloaded.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a2", "b"]);
        assert_eq!(reloaded.kept, ["b"]);
    }
}
