//! The accept journal: an append-only file that makes an accepted run durable with one `write`
//! and one `fdatasync` shared by every run accepted meanwhile, instead of a flush of sled's log.
//!
//! An accepted run is written to sled at once (in memory: readers and the executor see it; no sled
//! transaction, whose io-buffer roll is what an accept used to cost) and its frame goes to the
//! journal; the caller's answer waits for the journal's group commit only.
//! Every second (or sooner when a segment grows past [`SEGMENT_WAKE_BYTES`]) a checkpoint starts a
//! new segment, flushes sled, and deletes the segments before it: everything they held is then in
//! sled's own log. Opening a database replays whatever segments are left into sled first
//! ([`SledEngine::replay_accept`](super::SledEngine) decides what is still missing), so a run
//! answered 200 survives a `kill -9` at any instant.
//!
//! A frame is `length (u32 LE) | crc32 (u32 LE) | payload`; replay stops reading a segment at
//! the first frame that is short or fails its checksum. That can only be a write no caller was
//! answered for: a caller is answered after the `fdatasync` that covers its frame and every frame
//! before it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::commit::GroupCommit;
use crate::engine::error::StoreError;
use crate::run::RunId;

/// The journal's folder inside the database folder.
pub(super) const JOURNAL_DIR: &str = "accept-journal";
/// How often a checkpoint moves the journal into sled's log. Bounds the journal to about one
/// second of accepted runs, and the replay at start with it.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// A segment this large asks for a checkpoint before the second is up.
const SEGMENT_WAKE_BYTES: u64 = 32 * 1024 * 1024;
/// No frame is larger: a run's record is bounded by the webhook body limit (a few MiB at most);
/// a larger length can only be a damaged frame.
const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;
const SEGMENT_SUFFIX: &str = ".log";
const NO_RUN: u64 = u64::MAX;

/// One accepted run as the journal keeps it: the run's record as stored in the `runs` tree, and
/// its idempotency key with that key's record, both exactly as written to sled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AcceptFrame {
    pub run_id: RunId,
    pub run: Vec<u8>,
    pub idempotency: Option<(Vec<u8>, Vec<u8>)>,
}

impl AcceptFrame {
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&self.run_id.0.to_le_bytes());
        put(out, &self.run);
        match &self.idempotency {
            Some((key, record)) => {
                out.push(1);
                put(out, key);
                put(out, record);
            }
            None => out.push(0),
        }
        let payload = &out[start + 8..];
        let length = payload.len() as u32;
        let crc = crc32fast::hash(payload);
        out[start..start + 4].copy_from_slice(&length.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    fn decode(mut payload: &[u8]) -> Option<AcceptFrame> {
        let run_id = RunId(u64::from_le_bytes(take(&mut payload, 8)?.try_into().ok()?));
        let run = take_sized(&mut payload)?.to_vec();
        let idempotency = match take(&mut payload, 1)?[0] {
            0 => None,
            1 => Some((
                take_sized(&mut payload)?.to_vec(),
                take_sized(&mut payload)?.to_vec(),
            )),
            _ => return None,
        };
        payload.is_empty().then_some(AcceptFrame {
            run_id,
            run,
            idempotency,
        })
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn take_sized<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = u32::from_le_bytes(take(input, 4)?.try_into().ok()?) as usize;
    take(input, n)
}

/// The frames of one segment, in order, up to the first damaged one.
fn read_frames(bytes: &[u8]) -> Vec<AcceptFrame> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while let Some(header) = take(&mut rest, 8) {
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if length > MAX_FRAME_BYTES {
            break;
        }
        let Some(payload) = take(&mut rest, length) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        match AcceptFrame::decode(payload) {
            Some(frame) => frames.push(frame),
            None => break,
        }
    }
    frames
}

/// The segments in `dir`, oldest first.
pub(super) fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .and_then(|name| name.strip_suffix(SEGMENT_SUFFIX))
            .and_then(|number| number.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

pub(super) fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}{SEGMENT_SUFFIX}"))
}

/// Makes a new, empty segment, and makes its name durable, so a frame synced into it is found
/// after a crash. Readable by the owner only, like the rest of the database.
fn create_segment(dir: &Path, number: u64) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(segment_path(dir, number))?;
    sync_dir(dir)?;
    Ok(file)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn io_error(error: std::io::Error) -> sled::Error {
    sled::Error::Io(error)
}

/// Reads every segment left in the journal folder at `dir`, oldest first, and
/// hands each intact frame to `apply`. Returns the segments read, to be deleted once what
/// `apply` wrote is durable in sled.
pub(super) fn replay(
    dir: &Path,
    mut apply: impl FnMut(AcceptFrame) -> Result<(), StoreError>,
) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let found = segments(dir).map_err(io_error)?;
    for (_, path) in &found {
        let bytes = std::fs::read(path).map_err(io_error)?;
        for frame in read_frames(&bytes) {
            apply(frame)?;
        }
    }
    Ok(found)
}

/// The journal of a database opened from a folder; shared by every handle on it.
pub(super) struct Journal {
    dir: PathBuf,
    /// Flushed by each checkpoint.
    db: sled::Db,
    state: Mutex<JournalState>,
    commit: GroupCommit,
    /// Asks the checkpoint thread for an early checkpoint; dropping it stops the thread.
    wake: SyncSender<()>,
}

struct JournalState {
    /// Frames not yet written, in the order they were accepted.
    pending: Vec<u8>,
    file: Arc<File>,
    segment: u64,
    /// Bytes written to `file`.
    written: u64,
    /// The lowest run id in `file` and `pending`, and in the segments a checkpoint in progress
    /// is moving into sled; [`NO_RUN`] when there is none.
    current_floor: u64,
    settling_floor: u64,
    /// A write to `file` failed: the next write starts a new segment, so that no frame lands
    /// behind a torn one (replay stops at the first damaged frame of a segment).
    torn: bool,
}

impl Journal {
    /// Starts a journal in `dir` with a new segment numbered after `after`, and its checkpoint
    /// thread.
    pub(super) fn start(dir: &Path, db: sled::Db, after: u64) -> Result<Arc<Journal>, StoreError> {
        let segment = after + 1;
        let file = create_segment(dir, segment).map_err(io_error)?;
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let journal = Arc::new(Journal {
            dir: dir.to_owned(),
            db,
            state: Mutex::new(JournalState {
                pending: Vec::new(),
                file: Arc::new(file),
                segment,
                written: 0,
                current_floor: NO_RUN,
                settling_floor: NO_RUN,
                torn: false,
            }),
            commit: GroupCommit::default(),
            wake,
        });
        let weak = Arc::downgrade(&journal);
        std::thread::Builder::new()
            .name("hookbot-journal".into())
            .spawn(move || checkpoints(weak, woken))
            .map_err(io_error)?;
        Ok(journal)
    }

    /// Puts `frame` in the journal and runs `apply` (the write to sled) while no checkpoint
    /// and no other accept can come between the two: a run is seen by readers only once its
    /// frame is queued for the disk, and a checkpoint's sled flush covers every frame of the
    /// segments it deletes. `apply` answers whether the frame stands; if not (an idempotency
    /// key's replay: nothing was written) it is taken out again.
    pub(super) fn logged<T>(
        &self,
        frame: &AcceptFrame,
        apply: impl FnOnce() -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let mark = state.pending.len();
        frame.encode(&mut state.pending);
        match apply() {
            Ok((value, true)) => {
                state.current_floor = state.current_floor.min(frame.run_id.0);
                Ok(value)
            }
            Ok((value, false)) => {
                state.pending.truncate(mark);
                Ok(value)
            }
            Err(error) => {
                state.pending.truncate(mark);
                Err(error)
            }
        }
    }

    /// Waits until every frame logged before this call is written and synced. Concurrent callers
    /// share one `write` and `fdatasync`.
    pub(super) async fn sync(&self) -> Result<(), StoreError> {
        self.commit.flush_with(|| self.write_out()).await
    }

    /// The lowest run id that may be in the journal and not yet in sled's log; [`u64::MAX`]
    /// when there is none. Retention leaves runs from there on alone, so a run that a replay
    /// could bring back is never deleted first.
    pub(super) fn unsettled_floor(&self) -> u64 {
        let state = self.lock();
        state.current_floor.min(state.settling_floor)
    }

    /// Writes what is pending to the current segment and syncs it: one group commit's disk work.
    async fn write_out(&self) -> Result<usize, sled::Error> {
        let (bytes, file) = {
            let mut state = self.lock();
            if state.torn {
                self.rotate(&mut state)?;
            }
            (std::mem::take(&mut state.pending), state.file.clone())
        };
        if bytes.is_empty() {
            return Ok(0);
        }
        let length = bytes.len();
        let (bytes, written) = {
            let file = file.clone();
            tokio::task::spawn_blocking(move || {
                let written = (&*file).write_all(&bytes).and_then(|()| file.sync_data());
                (bytes, written)
            })
            .await
            .map_err(|join| io_error(std::io::Error::other(join)))?
        };
        let mut state = self.lock();
        let same_file = Arc::ptr_eq(&state.file, &file);
        match written {
            Ok(()) => {
                if same_file {
                    state.written += length as u64;
                    if state.written >= SEGMENT_WAKE_BYTES {
                        let _ = self.wake.try_send(());
                    }
                }
                Ok(length)
            }
            Err(error) => {
                // The frames go first in the next write, to a new segment: a caller whose ticket
                // came after this write began waits for that one, and must find its frame there.
                state.pending.splice(0..0, bytes);
                state.torn = true;
                Err(io_error(error))
            }
        }
    }

    /// Starts a new segment for the frames from now on; returns the number of the one it
    /// replaced. Runs under the state lock, so numbers only grow and no frame is queued while
    /// the file changes (a file made and its folder synced: about a millisecond, once a second).
    fn rotate(&self, state: &mut JournalState) -> Result<u64, sled::Error> {
        let number = state.segment + 1;
        let file = create_segment(&self.dir, number).map_err(io_error)?;
        let replaced = state.segment;
        state.file = Arc::new(file);
        state.segment = number;
        state.written = 0;
        state.torn = false;
        Ok(replaced)
    }

    /// Moves the journal into sled's log: a new segment takes the frames from now on, sled is
    /// flushed, and the segments before the new one are deleted.
    fn checkpoint(&self) -> Result<(), StoreError> {
        let replaced = {
            let mut state = self.lock();
            if state.written == 0 && state.pending.is_empty() && !state.torn {
                // Nothing new since the last checkpoint.
                state.segment - 1
            } else {
                let replaced = self.rotate(&mut state)?;
                // Kept from a checkpoint that failed: its segments are still there.
                state.settling_floor = state.settling_floor.min(state.current_floor);
                state.current_floor = NO_RUN;
                replaced
            }
        };
        let old: Vec<PathBuf> = segments(&self.dir)
            .map_err(io_error)?
            .into_iter()
            .filter(|(number, _)| *number <= replaced)
            .map(|(_, path)| path)
            .collect();
        if !old.is_empty() {
            // Every frame in the replaced segments was applied to sled before the rotation
            // (`logged` holds the lock across both), so this flush covers them all.
            self.db.flush()?;
        }
        self.lock().settling_floor = NO_RUN;
        for path in old {
            std::fs::remove_file(path).map_err(io_error)?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JournalState> {
        self.state.lock().expect("journal lock")
    }

    /// How many group commits (each one `write` and `fdatasync`) the journal has done.
    #[cfg(test)]
    pub(super) fn syncs(&self) -> u64 {
        self.commit
            .flushes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A checkpoint now, on the caller's thread (retention calls it before it deletes).
    pub(super) fn checkpoint_now(&self) -> Result<(), StoreError> {
        self.checkpoint()
    }
}

impl Drop for Journal {
    /// A database closed in good order leaves no journal behind: sled is flushed (it would be
    /// anyway as it closes) and the segments go, so only a crash leaves anything to replay.
    fn drop(&mut self) {
        let closed = self.db.flush().map_err(StoreError::from).and_then(|_| {
            for (_, path) in segments(&self.dir).map_err(io_error)? {
                std::fs::remove_file(path).map_err(io_error)?;
            }
            Ok(())
        });
        if let Err(error) = closed {
            tracing::warn!(%error, "the accept journal is left for the next start to replay");
        }
    }
}

/// The checkpoint thread: one checkpoint a second, or sooner when asked; it ends when the
/// journal is dropped.
fn checkpoints(journal: Weak<Journal>, woken: Receiver<()>) {
    loop {
        match woken.recv_timeout(CHECKPOINT_EVERY) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(journal) = journal.upgrade() else {
            return;
        };
        if let Err(error) = journal.checkpoint() {
            tracing::warn!(%error, "could not move the accept journal into the database; trying again in a second");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64, key: bool) -> AcceptFrame {
        AcceptFrame {
            run_id: RunId(id),
            run: format!("{{\"id\":{id}}}").into_bytes(),
            idempotency: key.then(|| (b"e\0k".to_vec(), b"{}".to_vec())),
        }
    }

    #[test]
    fn frames_read_back_up_to_the_first_damaged_one() {
        let mut bytes = Vec::new();
        for (id, key) in [(1, false), (2, true), (3, false)] {
            frame(id, key).encode(&mut bytes);
        }
        assert_eq!(
            read_frames(&bytes),
            [frame(1, false), frame(2, true), frame(3, false)]
        );
        // A torn tail: the last frame cut short.
        assert_eq!(read_frames(&bytes[..bytes.len() - 3]).len(), 2);
        // A flipped bit in the second frame hides it and everything after it.
        let mut damaged = bytes.clone();
        let second = {
            let mut first = Vec::new();
            frame(1, false).encode(&mut first);
            first.len()
        };
        damaged[second + 12] ^= 0x40;
        assert_eq!(read_frames(&damaged), [frame(1, false)]);
        // Zeros (a file extended but never written) are no frame.
        assert!(read_frames(&[0; 64]).is_empty());
    }
}
