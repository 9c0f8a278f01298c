//! The journal's writer: one thread for the journal's life that writes the frames queued since
//! its last write to the current segment with one `write` and one `fdatasync`, then answers each
//! caller whose frames that made durable through the caller's own channel.
//!
//! A group commit thus costs no hand-off to tokio's blocking pool and no leader among the
//! callers: a caller queues its frame, registers where the queue ends, and sleeps until the
//! writer answers it; the writer wakes each caller once, after its own write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::oneshot;

use super::frame::{create_segment, segment_path};
use super::state::{Answer, IdRange, JournalState, Segment};

/// A segment this large asks for a checkpoint before the second is up.
const SEGMENT_WAKE_BYTES: u64 = 32 * 1024 * 1024;

/// The journal's state, shared by its handles, its checkpoint thread and its writer.
pub(super) struct Shared {
    pub state: Mutex<JournalState>,
    /// The writer sleeps on it while no caller waits.
    work: Condvar,
    /// How many `write` + `fdatasync` the writer has done.
    pub syncs: AtomicU64,
}

impl Shared {
    pub fn new(state: JournalState) -> Shared {
        Shared {
            state: Mutex::new(state),
            work: Condvar::new(),
            syncs: AtomicU64::new(0),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, JournalState> {
        self.state.lock().expect("journal lock")
    }

    /// What answers once every frame queued so far is durable; `None` when it is already.
    pub fn wait_for_queued(
        &self,
        state: &mut JournalState,
    ) -> Option<oneshot::Receiver<Result<(), sled::Error>>> {
        let end = state.queued_end();
        if end <= state.durable_end() {
            return None;
        }
        let (answer, answered) = oneshot::channel();
        state.waiters.push_back((end, answer));
        if state.writer_idle {
            // Cleared here so that callers arriving before the writer runs do not each pay a
            // futex wake.
            state.writer_idle = false;
            self.work.notify_one();
        }
        Some(answered)
    }

    /// Tells the writer to end once no caller waits.
    pub fn stop(&self) {
        self.lock().stop = true;
        self.work.notify_one();
    }
}

/// Starts the writer thread of the journal in `dir`; it asks the checkpoint thread (`wake`) for
/// an early checkpoint when the segment grows large, and ends after [`Shared::stop`].
pub(super) fn spawn(
    shared: Arc<Shared>,
    dir: PathBuf,
    wake: SyncSender<()>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("hookbot-journal-writer".into())
        .spawn(move || write_loop(&shared, &dir, &wake))
}

fn write_loop(shared: &Shared, dir: &Path, wake: &SyncSender<()>) {
    let mut state = shared.lock();
    loop {
        while state.waiters.is_empty() && !state.stop {
            state.writer_idle = true;
            state = shared.work.wait(state).expect("journal lock");
        }
        state.writer_idle = false;
        if state.waiters.is_empty() {
            return;
        }
        if state.torn || state.rotate_requested {
            if let Err(error) = rotate(dir, &mut state) {
                // Nothing queued can be written until a segment is made: every caller hears.
                let failed = state.queued_end();
                let answers = take_answers(&mut state, failed);
                drop(state);
                answer(answers, &Err(error));
                state = shared.lock();
                continue;
            }
        }
        let Some(bytes) = state.begin_write() else {
            // Nothing left to write: whoever still waits is durable already.
            let durable = state.durable_end();
            let answers = take_answers(&mut state, durable);
            drop(state);
            answer(answers, &Ok(()));
            state = shared.lock();
            continue;
        };
        // Where the frames it carries end: the callers up to there hear how it went.
        let through = state.durable_end() + bytes.len() as u64;
        let file = state.current_file();
        drop(state);
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        let result = (&*file).write_all(&bytes).and_then(|()| file.sync_data());
        drop(bytes);
        state = shared.lock();
        let (answers, result) = match result {
            Ok(()) => {
                if state.write_done() >= SEGMENT_WAKE_BYTES {
                    let _ = wake.try_send(());
                }
                (take_answers(&mut state, through), Ok(()))
            }
            Err(error) => {
                // The callers whose frames this write carried hear of it; their frames stay
                // queued and go first, to a new segment, in the next write (later callers').
                state.write_failed();
                (
                    take_answers(&mut state, through),
                    Err(sled::Error::Io(error)),
                )
            }
        };
        drop(state);
        answer(answers, &result);
        state = shared.lock();
    }
}

/// The callers waiting for frames that end at or before `through`, first to last.
fn take_answers(state: &mut JournalState, through: u64) -> Vec<Answer> {
    let mut answers = Vec::new();
    while let Some((end, _)) = state.waiters.front() {
        if *end > through {
            break;
        }
        if let Some((_, answer)) = state.waiters.pop_front() {
            answers.push(answer);
        }
    }
    answers
}

/// Outside the lock: waking a caller may wake a runtime thread.
fn answer(answers: Vec<Answer>, result: &Result<(), sled::Error>) {
    for answer in answers {
        // A caller that went away dropped its receiver.
        let _ = answer.send(result.clone());
    }
}

/// Starts a new segment for the frames not yet written; the one it replaces is sealed (or
/// deleted, when nothing was written to it). Runs under the state lock with no write under
/// way, so numbers only grow and no frame is queued while the file changes (a file made and
/// its folder synced: about a millisecond, once a second).
pub(super) fn rotate(dir: &Path, state: &mut JournalState) -> Result<(), sled::Error> {
    let number = state.current_number() + 1;
    let file = create_segment(dir, number).map_err(sled::Error::Io)?;
    let next = Segment {
        number,
        file: Arc::new(file),
        ids: IdRange::EMPTY,
        sealed_at: None,
    };
    if let Some(replaced) = state.rotate(next, Instant::now()) {
        std::fs::remove_file(segment_path(dir, replaced)).map_err(sled::Error::Io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn started(dir: &Path) -> (Arc<Shared>, std::thread::JoinHandle<()>) {
        let current = Segment {
            number: 1,
            file: Arc::new(create_segment(dir, 1).unwrap()),
            ids: IdRange::EMPTY,
            sealed_at: None,
        };
        let state = JournalState::new(BTreeMap::new(), BTreeMap::new(), 0, current);
        let shared = Arc::new(Shared::new(state));
        let (wake, _woken) = std::sync::mpsc::sync_channel(1);
        let writer = spawn(shared.clone(), dir.to_owned(), wake).unwrap();
        (shared, writer)
    }

    /// Callers that queue while the writer waits for the lock share its next write, and each
    /// hears once its frames are on disk.
    #[tokio::test]
    async fn callers_queued_meanwhile_share_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, writer) = started(dir.path());
        let answers: Vec<_> = {
            let mut state = shared.lock();
            (0..16u8)
                .map(|id| {
                    state.queue(|out| out.extend_from_slice(&[id; 10]), id.into(), false);
                    shared.wait_for_queued(&mut state).expect("not on disk yet")
                })
                .collect()
        };
        for answer in answers {
            answer.await.unwrap().unwrap();
        }
        assert_eq!(shared.syncs.load(Ordering::Relaxed), 1);
        let written = std::fs::read(segment_path(dir.path(), 1)).unwrap();
        assert_eq!(written.len(), 160);
        assert_eq!(&written[150..], &[15; 10]);
        // Nothing queued since: a caller has nothing to wait for.
        assert!(shared.wait_for_queued(&mut shared.lock()).is_none());
        shared.stop();
        writer.join().unwrap();
    }

    /// One caller at a time: each wakes the idle writer and hears after its own write.
    #[tokio::test]
    async fn a_lone_caller_wakes_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (shared, writer) = started(dir.path());
        for round in 0..50u8 {
            let answer = {
                let mut state = shared.lock();
                state.queue(
                    |out| out.extend_from_slice(&[round; 4]),
                    round.into(),
                    false,
                );
                shared.wait_for_queued(&mut state).expect("not on disk yet")
            };
            answer.await.unwrap().unwrap();
            assert_eq!(shared.lock().durable_end(), 4 * (u64::from(round) + 1));
        }
        shared.stop();
        writer.join().unwrap();
    }
}
