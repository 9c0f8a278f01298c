//! The accept journal: an append-only file that makes an accepted run durable with one `write`
//! and one `fdatasync` shared by every run accepted meanwhile, and that holds each accepted run
//! until it is taken up, so an accept writes nothing to sled's trees.
//!
//! An accepted run's frame (`frame`) goes to the journal and the run is listed in memory as
//! waiting there (`state`): readers and the executor find it through that list and read its
//! record back from the journal. The caller's answer waits for the journal's group commit
//! only. The first write of the run to sled (the executor's progress, its end, a retry) takes
//! it off the list under the journal's lock, so a run is always in exactly one of the two.
//!
//! One thread (`writer`) writes and syncs what the callers queued, and answers each of them.
//!
//! Every second (or sooner when a segment grows past 32 MiB) a checkpoint seals the segment
//! being written and starts a new one. A sealed segment in which no run waits any more is
//! deleted after a flush of sled (which holds everything its runs became); runs still waiting in
//! a segment sealed [`SETTLE_AFTER`] ago, or beyond the newest [`MAX_SEALED`] segments, are
//! moved into sled's trees first. Opening a database reads the segments left and lists the runs
//! still waiting in them (the engine's replay decides which), so a run answered 200 survives a
//! `kill -9` at any instant.

mod frame;
mod state;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use frame::{create_segment, decode_at, read_frames};
pub(super) use frame::{segment_path, segments, AcceptFrame};
use state::{IdRange, JournalState, Place, Resident, Sealed, Segment};
use writer::{rotate, Shared};

use crate::engine::error::StoreError;
use crate::run::RunId;

/// The journal's folder inside the database folder.
pub(super) const JOURNAL_DIR: &str = "accept-journal";
/// How often a checkpoint seals the segment being written and deletes or settles sealed ones.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How long a run may wait in a sealed segment before a checkpoint moves it into sled's trees.
/// Runs are normally taken up within milliseconds and never reach sled's trees as accepted;
/// a backlog (Discord's pace, an outage) is moved after this, which bounds how long retention
/// must leave newer runs alone (see [`Journal::unsettled_floor`]).
const SETTLE_AFTER: Duration = Duration::from_secs(30);
/// At most this many sealed segments are kept (each holds a descriptor open); the oldest ones
/// beyond it have their runs moved into sled's trees.
const MAX_SEALED: usize = 16;
/// Runs moved into sled per hold of the journal's lock, so an accept waits for at most this
/// many writes.
const MOVE_CHUNK: usize = 32;

/// Writes a run that waited in the journal into sled's trees: its record and its queue entry.
pub(super) type MoveIntoSled = Box<dyn Fn(&AcceptFrame) -> Result<(), StoreError> + Send + Sync>;

/// What an accept puts in the journal.
pub(super) enum Logged {
    /// Nothing: an idempotency key's replay.
    Nothing,
    /// The frame only, for a run written to sled's trees too (one accepted again).
    Frame,
    /// The frame, with the run listed as waiting in the journal.
    Waiting,
}

fn io_error(error: std::io::Error) -> sled::Error {
    sled::Error::Io(error)
}

/// What a replay found in the segments left in the journal's folder.
#[derive(Default)]
pub(super) struct Replayed {
    kept: BTreeMap<u64, Segment>,
    resident: BTreeMap<u64, Resident>,
    /// The logical position after the last segment, and that segment's number.
    end: u64,
    last_number: u64,
}

impl Replayed {
    /// Runs still waiting in the journal.
    pub(super) fn waiting(&self) -> usize {
        self.resident.len()
    }
}

/// Reads every segment left in the journal folder at `dir`, oldest first, and hands each intact
/// frame to `apply`, which answers whether its run still waits (sled does not hold it).
pub(super) fn replay(
    dir: &Path,
    mut apply: impl FnMut(AcceptFrame) -> Result<bool, StoreError>,
) -> Result<Replayed, StoreError> {
    let mut replayed = Replayed::default();
    let sealed_at = Instant::now();
    for (number, path) in segments(dir).map_err(io_error)? {
        let bytes = std::fs::read(&path).map_err(io_error)?;
        // Every frame counts for retention's floor, waiting or not: a replay would look at it.
        let mut ids = IdRange::EMPTY;
        for read in read_frames(&bytes) {
            let id = read.frame.run_id.0;
            ids.add(id);
            if apply(read.frame)? {
                replayed.resident.insert(
                    id,
                    Resident {
                        logical: replayed.end + read.offset,
                        len: read.len,
                    },
                );
            } else {
                // Listed by an earlier segment, and in sled since.
                replayed.resident.remove(&id);
            }
        }
        let file = File::open(&path).map_err(io_error)?;
        replayed.kept.insert(
            replayed.end,
            Segment {
                number,
                file: Arc::new(file),
                ids,
                sealed_at: Some(sealed_at),
            },
        );
        replayed.end += bytes.len() as u64;
        replayed.last_number = number;
    }
    Ok(replayed)
}

/// The journal of a database opened from a folder; shared by every handle on it.
pub(super) struct Journal {
    dir: PathBuf,
    /// Flushed before a segment is deleted.
    db: sled::Db,
    shared: Arc<Shared>,
    /// The writer thread, stopped and joined when the journal closes. It asks the checkpoint
    /// thread for an early checkpoint; its end (the channel's) ends that thread too.
    writer: Option<JoinHandle<()>>,
    move_into_sled: MoveIntoSled,
}

impl Journal {
    /// Starts a journal in `dir` after what `replayed` found (a new segment numbered after the
    /// last one), its writer and its checkpoint thread.
    pub(super) fn start(
        dir: &Path,
        db: sled::Db,
        replayed: Replayed,
        move_into_sled: MoveIntoSled,
    ) -> Result<Arc<Journal>, StoreError> {
        let number = replayed.last_number + 1;
        let file = create_segment(dir, number).map_err(io_error)?;
        let current = Segment {
            number,
            file: Arc::new(file),
            ids: IdRange::EMPTY,
            sealed_at: None,
        };
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let shared = Arc::new(Shared::new(JournalState::new(
            replayed.kept,
            replayed.resident,
            replayed.end,
            current,
        )));
        let writer = writer::spawn(shared.clone(), dir.to_owned(), wake).map_err(io_error)?;
        let journal = Arc::new(Journal {
            dir: dir.to_owned(),
            db,
            shared,
            writer: Some(writer),
            move_into_sled,
        });
        // Segments whose runs are all in sled go now.
        journal.checkpoint()?;
        let weak = Arc::downgrade(&journal);
        std::thread::Builder::new()
            .name("hookbot-journal".into())
            .spawn(move || checkpoints(weak, woken))
            .map_err(io_error)?;
        Ok(journal)
    }

    /// Runs `apply` (the idempotency key's check and write), which hears whether the run waits
    /// in the journal already, and queues `frame` for the disk as `apply` answers, with no other
    /// accept, write-out or checkpoint in between. [`sync`](Self::sync) then makes it durable.
    pub(super) fn logged<T>(
        &self,
        frame: &AcceptFrame,
        apply: impl FnOnce(bool) -> Result<(T, Logged), StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let id = frame.run_id.0;
        let (value, logged) = apply(state.resident.contains_key(&id))?;
        match logged {
            Logged::Nothing => {}
            Logged::Frame => state.queue(|out| frame.encode(out), id, false),
            Logged::Waiting => state.queue(|out| frame.encode(out), id, true),
        }
        Ok(value)
    }

    /// Waits until every frame logged before this call is written and synced. Concurrent callers
    /// share one `write` and `fdatasync`: the writer's next.
    pub(super) async fn sync(&self) -> Result<(), StoreError> {
        let answered = {
            let mut state = self.lock();
            self.shared.wait_for_queued(&mut state)
        };
        let Some(answered) = answered else {
            return Ok(());
        };
        match answered.await {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => {
                Err(io_error(std::io::Error::other("the accept journal's writer stopped")).into())
            }
        }
    }

    /// The record of `id` while it waits in the journal.
    pub(super) fn waiting_run(&self, id: RunId) -> Result<Option<Vec<u8>>, StoreError> {
        let place = {
            let state = self.lock();
            match state.resident.get(&id.0) {
                Some(at) => state.place(*at).map(|place| (place, at.len)),
                None => return Ok(None),
            }
        };
        let Some((place, len)) = place else {
            return Err(damaged(id).into());
        };
        Ok(Some(read_place(place, len, id)?.run))
    }

    /// Whether `id` waits in the journal.
    #[cfg(test)]
    pub(super) fn holds(&self, id: RunId) -> bool {
        self.lock().resident.contains_key(&id.0)
    }

    /// How many runs wait in the journal.
    pub(super) fn waiting_count(&self) -> u64 {
        self.lock().resident.len() as u64
    }

    /// Runs waiting in the journal from `from` on, oldest first, at most `limit`.
    pub(super) fn waiting_from(&self, from: RunId, limit: usize) -> Vec<RunId> {
        self.lock().resident_from(from, limit)
    }

    /// Runs waiting in the journal below `below`, newest first, at most `limit`, each with its
    /// record.
    pub(super) fn waiting_below(
        &self,
        below: u64,
        limit: usize,
    ) -> Result<Vec<(RunId, Vec<u8>)>, StoreError> {
        let places: Vec<_> = {
            let state = self.lock();
            state
                .resident_below(below, limit)
                .into_iter()
                .filter_map(|(id, at)| Some((RunId(id), state.place(at)?, at.len)))
                .collect()
        };
        places
            .into_iter()
            .map(|(id, place, len)| Ok((id, read_place(place, len, id)?.run)))
            .collect()
    }

    /// Runs `write` (a write of run `id` to sled) with the run taken off the journal's list
    /// first, if it was there, under the journal's lock: a checkpoint cannot move it or delete
    /// its segment before the write is made, and nothing reads it from both places. `write`
    /// hears whether the run waited in the journal; if it fails, the run waits there again.
    pub(super) fn settle<T>(
        &self,
        id: RunId,
        write: impl FnOnce(bool) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let Some(at) = state.resident.remove(&id.0) else {
            drop(state);
            return write(false);
        };
        let written = write(true);
        if written.is_err() {
            state.resident.insert(id.0, at);
        }
        written
    }

    /// The lowest run id that a replay could bring back (its frame is in a segment still on
    /// disk, or about to be); [`u64::MAX`] when there is none. Retention leaves runs from there on
    /// alone, so a run it deletes is never brought back.
    pub(super) fn unsettled_floor(&self) -> u64 {
        self.lock().floor()
    }

    /// Seals the segment being written, and deletes the sealed segments in which no run waits
    /// any more, after moving into sled the runs of those due to settle.
    fn checkpoint(&self) -> Result<(), StoreError> {
        {
            let mut state = self.lock();
            if state.written > 0 {
                if state.in_flight.is_none() {
                    rotate(&self.dir, &mut state)?;
                } else {
                    state.rotate_requested = true;
                }
            }
        }
        let sealed = self.lock().sealed();
        let now = Instant::now();
        let crowded = sealed.len().saturating_sub(MAX_SEALED);
        let mut emptied = Vec::new();
        for (index, segment) in sealed.iter().enumerate() {
            let due = index < crowded || now.duration_since(segment.sealed_at) >= SETTLE_AFTER;
            if self.settle_segment(segment, due)? {
                emptied.push(segment);
            }
        }
        if emptied.is_empty() {
            return Ok(());
        }
        // Every run that waited in them was written to sled (taken up, or moved) before it left
        // the journal's list: this flush makes those writes durable before their frames go.
        self.db.flush()?;
        for segment in emptied {
            std::fs::remove_file(segment_path(&self.dir, segment.number)).map_err(io_error)?;
            self.lock().remove_segment(segment.start);
        }
        Ok(())
    }

    /// Whether no run waits in `segment` any more, after moving the ones that do into sled when
    /// `move_them`.
    fn settle_segment(&self, segment: &Sealed, move_them: bool) -> Result<bool, StoreError> {
        loop {
            let mut state = self.lock();
            let waiting = state.resident_in(segment, MOVE_CHUNK);
            if waiting.is_empty() {
                return Ok(true);
            }
            if !move_them {
                return Ok(false);
            }
            for (id, at) in waiting {
                let place = Place::File {
                    file: segment.file.clone(),
                    offset: at.logical - segment.start,
                };
                let frame = read_place(place, at.len, RunId(id))?;
                (self.move_into_sled)(&frame)?;
                state.resident.remove(&id);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, JournalState> {
        self.shared.lock()
    }

    /// How many group commits (each one `write` and `fdatasync`) the journal has done.
    #[cfg(test)]
    pub(super) fn syncs(&self) -> u64 {
        self.shared.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A checkpoint now, on the caller's thread.
    #[cfg(test)]
    pub(super) fn checkpoint_now(&self) -> Result<(), StoreError> {
        self.checkpoint()
    }

    /// Seals the segment being written and moves every run waiting in the journal into sled, so
    /// only frames accepted from now on can be brought back by a replay. Retention calls it
    /// before it deletes (every few minutes: the moves cost what accepting into sled did).
    pub(super) fn settle_all(&self) -> Result<(), StoreError> {
        self.checkpoint()?;
        let sealed = self.lock().sealed();
        for segment in sealed {
            self.settle_segment(&segment, true)?;
        }
        self.checkpoint()
    }
}

fn damaged(id: RunId) -> sled::Error {
    io_error(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the accept journal's frame of run {id:?} is damaged"),
    ))
}

/// Reads the frame of run `id` from where it lies.
fn read_place(place: Place, len: u32, id: RunId) -> Result<AcceptFrame, StoreError> {
    let bytes = match place {
        Place::Buffered(bytes) => bytes,
        Place::File { file, offset } => {
            use std::os::unix::fs::FileExt;
            let mut bytes = vec![0; len as usize];
            file.read_exact_at(&mut bytes, offset).map_err(io_error)?;
            bytes
        }
    };
    decode_at(&bytes)
        .filter(|frame| frame.run_id == id)
        .ok_or_else(|| damaged(id).into())
}

impl Drop for Journal {
    /// Closing in good order writes out any frame still buffered (none of whose callers was
    /// answered yet), moves every run still waiting into sled, flushes it and deletes the
    /// segments: only a crash leaves anything for the next start to read. (Moving costs what
    /// accepting into sled did: about a second for 100,000 waiting runs.)
    fn drop(&mut self) {
        // No caller waits (each holds a handle); the writer ends at once, and is not in the
        // middle of a write after the join.
        self.shared.stop();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::warn!("the accept journal's writer panicked");
            }
        }
        let closed = (|| -> Result<(), StoreError> {
            {
                let mut state = self.lock();
                if state.in_flight.is_none() {
                    if state.torn {
                        rotate(&self.dir, &mut state)?;
                    }
                    if let Some(bytes) = state.begin_write() {
                        let file = state.current_file();
                        match (&*file).write_all(&bytes).and_then(|()| file.sync_data()) {
                            Ok(()) => {
                                state.write_done();
                            }
                            Err(error) => {
                                state.write_failed();
                                return Err(io_error(error).into());
                            }
                        }
                    }
                }
            }
            self.settle_all()?;
            let left = self.lock().spans();
            for (number, start, end) in left {
                if !self.lock().has_resident_in(start, end) {
                    std::fs::remove_file(segment_path(&self.dir, number)).map_err(io_error)?;
                }
            }
            Ok(())
        })();
        if let Err(error) = closed {
            tracing::warn!(%error, "the accept journal is left for the next start to read");
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
            tracing::warn!(%error, "could not checkpoint the accept journal; trying again in a second");
        }
    }
}
