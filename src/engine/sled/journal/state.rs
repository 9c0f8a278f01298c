//! What the accept journal keeps in memory: the frames not yet on disk, its segments, and the
//! runs that wait in it (accepted, not yet taken up): where each one's frame lies, so its record
//! is read back from the journal instead of being written to sled's trees at accept.
//!
//! Positions are logical: one byte stream over every segment, each segment covering the stretch
//! from its start to the next one's. A frame keeps its position whatever segment it lands in:
//! frames queued before a new segment begins are written to the new one, at the same logical
//! place.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use crate::run::RunId;

/// How a caller waiting for the disk hears that its frames are durable, or that the write
/// carrying them failed.
pub(super) type Answer = tokio::sync::oneshot::Sender<Result<(), sled::Error>>;

/// Where an accepted run's frame lies in the journal's logical stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Resident {
    pub logical: u64,
    pub len: u32,
}

/// The lowest and highest run id a stretch of the journal holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct IdRange {
    pub lowest: u64,
    pub highest: u64,
}

impl IdRange {
    pub const EMPTY: IdRange = IdRange {
        lowest: u64::MAX,
        highest: 0,
    };

    pub fn add(&mut self, id: u64) {
        self.lowest = self.lowest.min(id);
        self.highest = self.highest.max(id);
    }

    pub fn merge(&mut self, other: IdRange) {
        self.lowest = self.lowest.min(other.lowest);
        self.highest = self.highest.max(other.highest);
    }
}

/// A segment file on disk.
pub(super) struct Segment {
    pub number: u64,
    pub file: Arc<File>,
    /// The run ids of the frames written to it.
    pub ids: IdRange,
    /// When frames stopped going to it; `None` for the segment being written.
    pub sealed_at: Option<Instant>,
}

/// Where a frame's bytes are to be read.
pub(super) enum Place {
    /// Not on disk yet: a copy of them.
    Buffered(Vec<u8>),
    /// In `file` at `offset`.
    File { file: Arc<File>, offset: u64 },
}

/// A sealed segment as a checkpoint sees it.
#[derive(Clone)]
pub(super) struct Sealed {
    pub start: u64,
    pub end: u64,
    pub number: u64,
    pub file: Arc<File>,
    pub ids: IdRange,
    pub sealed_at: Instant,
}

pub(super) struct JournalState {
    /// Frames not yet written, in the order they were accepted.
    pub pending: Vec<u8>,
    pub pending_ids: IdRange,
    /// Frames being written by the group commit in progress (they follow what is written and
    /// precede `pending`).
    pub in_flight: Option<Arc<Vec<u8>>>,
    pub in_flight_ids: IdRange,
    /// Every segment on disk by logical start; the last one is being written.
    pub segments: BTreeMap<u64, Segment>,
    /// Bytes written to the last segment.
    pub written: u64,
    /// Runs waiting in the journal, by id.
    pub resident: BTreeMap<u64, Resident>,
    /// A write to the last segment failed: the next write starts a new segment, so that no frame
    /// lands behind a torn one (a segment is read up to its first damaged frame).
    pub torn: bool,
    /// A checkpoint asked for a new segment while a write was in progress.
    pub rotate_requested: bool,
    /// The callers waiting for the disk, each with the logical position its frames end at (the
    /// end of what was queued when it asked), so positions never decrease along the queue.
    pub waiters: VecDeque<(u64, Answer)>,
    /// The writer sleeps, waiting for a caller: the next one must wake it.
    pub writer_idle: bool,
    /// The writer is to end once no caller waits.
    pub stop: bool,
}

impl JournalState {
    /// A state whose segments are `kept` (sealed, from an earlier life) and then `current`, at
    /// logical `start`; `resident` are the runs waiting in the kept ones.
    pub fn new(
        kept: BTreeMap<u64, Segment>,
        resident: BTreeMap<u64, Resident>,
        start: u64,
        current: Segment,
    ) -> JournalState {
        let mut segments = kept;
        segments.insert(start, current);
        JournalState {
            pending: Vec::new(),
            pending_ids: IdRange::EMPTY,
            in_flight: None,
            in_flight_ids: IdRange::EMPTY,
            segments,
            written: 0,
            resident,
            torn: false,
            rotate_requested: false,
            waiters: VecDeque::new(),
            writer_idle: false,
            stop: false,
        }
    }

    fn current(&self) -> (u64, &Segment) {
        let (start, segment) = self.segments.last_key_value().expect("a current segment");
        (*start, segment)
    }

    pub fn current_file(&self) -> Arc<File> {
        self.current().1.file.clone()
    }

    pub fn current_number(&self) -> u64 {
        self.current().1.number
    }

    /// The logical position where what is written to the current segment ends.
    fn written_end(&self) -> u64 {
        self.current().0 + self.written
    }

    /// Where what is on disk ends: every frame before it is durable.
    pub fn durable_end(&self) -> u64 {
        self.written_end()
    }

    /// Where the frames queued so far end, written or not.
    pub fn queued_end(&self) -> u64 {
        self.written_end() + self.in_flight_len() + self.pending.len() as u64
    }

    fn in_flight_len(&self) -> u64 {
        self.in_flight
            .as_ref()
            .map_or(0, |bytes| bytes.len() as u64)
    }

    /// Queues the frame of run `id` (encoded by `encode`) for the disk, and lists the run as
    /// waiting in the journal when `waits`.
    pub fn queue(&mut self, encode: impl FnOnce(&mut Vec<u8>), id: u64, waits: bool) {
        let logical = self.queued_end();
        let mark = self.pending.len();
        encode(&mut self.pending);
        // Every frame counts for the floor: a replay looks at each one.
        self.pending_ids.add(id);
        if waits {
            let len = (self.pending.len() - mark) as u32;
            self.resident.insert(id, Resident { logical, len });
        }
    }

    /// Takes what is pending for a write; `None` when there is nothing to write.
    pub fn begin_write(&mut self) -> Option<Arc<Vec<u8>>> {
        debug_assert!(self.in_flight.is_none(), "one write at a time");
        if self.pending.is_empty() {
            return None;
        }
        let bytes = Arc::new(std::mem::take(&mut self.pending));
        self.in_flight = Some(bytes.clone());
        self.in_flight_ids = std::mem::replace(&mut self.pending_ids, IdRange::EMPTY);
        Some(bytes)
    }

    /// The write begun by [`begin_write`](Self::begin_write) is on disk.
    pub fn write_done(&mut self) -> u64 {
        let length = self.in_flight_len();
        self.in_flight = None;
        self.written += length;
        let ids = std::mem::replace(&mut self.in_flight_ids, IdRange::EMPTY);
        if let Some((_, current)) = self.segments.iter_mut().next_back() {
            current.ids.merge(ids);
        }
        self.written
    }

    /// The write failed: its frames go first in the next write, to a new segment.
    pub fn write_failed(&mut self) {
        if let Some(bytes) = self.in_flight.take() {
            let bytes = Arc::try_unwrap(bytes).unwrap_or_else(|shared| (*shared).clone());
            self.pending.splice(0..0, bytes);
        }
        let ids = std::mem::replace(&mut self.in_flight_ids, IdRange::EMPTY);
        self.pending_ids.merge(ids);
        self.torn = true;
    }

    /// Seals the current segment and makes `next` (numbered after it) the one written from here
    /// on, at the logical position where the written part ends: frames not yet written follow
    /// it there. A segment with nothing written is replaced instead; its number is returned,
    /// as its file is to be deleted.
    pub fn rotate(&mut self, next: Segment, now: Instant) -> Option<u64> {
        debug_assert!(self.in_flight.is_none(), "no rotation during a write");
        let start = self.written_end();
        let replaced = if self.written == 0 {
            self.segments.remove(&start).map(|old| old.number)
        } else {
            if let Some((_, current)) = self.segments.iter_mut().next_back() {
                current.sealed_at = Some(now);
            }
            None
        };
        self.segments.insert(start, next);
        self.written = 0;
        self.torn = false;
        self.rotate_requested = false;
        replaced
    }

    /// The sealed segments, oldest first.
    pub fn sealed(&self) -> Vec<Sealed> {
        let mut sealed = Vec::new();
        let mut starts = self.segments.keys().skip(1);
        for (start, segment) in &self.segments {
            let (Some(end), Some(sealed_at)) = (starts.next(), segment.sealed_at) else {
                continue;
            };
            sealed.push(Sealed {
                start: *start,
                end: *end,
                number: segment.number,
                file: segment.file.clone(),
                ids: segment.ids,
                sealed_at,
            });
        }
        sealed
    }

    /// Up to `limit` runs waiting in `segment`.
    pub fn resident_in(&self, segment: &Sealed, limit: usize) -> Vec<(u64, Resident)> {
        if segment.ids.lowest > segment.ids.highest {
            return Vec::new();
        }
        self.resident
            .range(segment.ids.lowest..=segment.ids.highest)
            .filter(|(_, at)| (segment.start..segment.end).contains(&at.logical))
            .take(limit)
            .map(|(id, at)| (*id, *at))
            .collect()
    }

    /// Where the frame at `at` is to be read.
    pub fn place(&self, at: Resident) -> Option<Place> {
        let written_end = self.written_end();
        let buffered_from = written_end + self.in_flight_len();
        let copy = |bytes: &[u8], from: u64| {
            let from = usize::try_from(from).ok()?;
            bytes
                .get(from..from + at.len as usize)
                .map(|frame| Place::Buffered(frame.to_vec()))
        };
        if at.logical >= buffered_from {
            return copy(&self.pending, at.logical - buffered_from);
        }
        if at.logical >= written_end {
            return copy(self.in_flight.as_deref()?, at.logical - written_end);
        }
        let (start, segment) = self.segments.range(..=at.logical).next_back()?;
        Some(Place::File {
            file: segment.file.clone(),
            offset: at.logical - start,
        })
    }

    /// The lowest run id any segment on disk or any frame not yet written may hold; [`u64::MAX`]
    /// when there is none.
    pub fn floor(&self) -> u64 {
        self.segments
            .values()
            .map(|segment| segment.ids.lowest)
            .chain([self.pending_ids.lowest, self.in_flight_ids.lowest])
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Every segment on disk: its number and the logical stretch it covers (the last one's
    /// runs on).
    pub fn spans(&self) -> Vec<(u64, u64, u64)> {
        let mut ends = self.segments.keys().skip(1).copied().chain([u64::MAX]);
        self.segments
            .iter()
            .map(|(start, segment)| (segment.number, *start, ends.next().unwrap_or(u64::MAX)))
            .collect()
    }

    /// Whether a run waits in the logical stretch from `start` to `end`.
    pub fn has_resident_in(&self, start: u64, end: u64) -> bool {
        self.resident
            .values()
            .any(|at| (start..end).contains(&at.logical))
    }

    /// Forgets a deleted segment.
    pub fn remove_segment(&mut self, start: u64) {
        self.segments.remove(&start);
    }

    /// Resident runs with an id from `from` on, oldest first, at most `limit`.
    pub fn resident_from(&self, from: RunId, limit: usize) -> Vec<RunId> {
        self.resident
            .range(from.0..)
            .take(limit)
            .map(|(id, _)| RunId(*id))
            .collect()
    }

    /// Resident runs with an id below `below`, newest first, at most `limit`, with where each
    /// one's frame lies.
    pub fn resident_below(&self, below: u64, limit: usize) -> Vec<(u64, Resident)> {
        self.resident
            .range(..below)
            .rev()
            .take(limit)
            .map(|(id, at)| (*id, *at))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(number: u64) -> Segment {
        Segment {
            number,
            file: Arc::new(tempfile::tempfile().unwrap()),
            ids: IdRange::EMPTY,
            sealed_at: None,
        }
    }

    fn frame(id: u64, bytes: usize) -> impl FnOnce(&mut Vec<u8>) {
        move |out: &mut Vec<u8>| out.extend(std::iter::repeat(id as u8).take(bytes))
    }

    fn buffered(place: Option<Place>) -> Vec<u8> {
        match place {
            Some(Place::Buffered(bytes)) => bytes,
            _ => panic!("not buffered"),
        }
    }

    fn in_file(place: Option<Place>) -> u64 {
        match place {
            Some(Place::File { offset, .. }) => offset,
            _ => panic!("not in a file"),
        }
    }

    #[test]
    fn a_frame_keeps_its_place_through_writes_and_new_segments() {
        let mut state = JournalState::new(BTreeMap::new(), BTreeMap::new(), 0, segment(1));
        state.queue(frame(1, 10), 1, true);
        state.queue(frame(9, 4), 9, false);
        state.queue(frame(2, 6), 2, true);
        let one = state.resident[&1];
        let two = state.resident[&2];
        assert_eq!((one.logical, two.logical, two.len), (0, 14, 6));
        assert_eq!(buffered(state.place(two)), vec![2; 6]);

        // Being written: read from the write's buffer; a frame queued meanwhile follows it.
        let write = state.begin_write().unwrap();
        assert_eq!(write.len(), 20);
        state.queue(frame(3, 5), 3, true);
        assert_eq!(buffered(state.place(two)), vec![2; 6]);
        assert_eq!(state.resident[&3].logical, 20);
        assert_eq!(buffered(state.place(state.resident[&3])), vec![3; 5]);

        // Written: read from the file.
        state.write_done();
        assert_eq!(in_file(state.place(two)), 14);
        assert_eq!(
            state.segments[&0].ids,
            IdRange {
                lowest: 1,
                highest: 9
            }
        );

        // A new segment takes what is not written yet, at the same logical place.
        state.rotate(segment(2), Instant::now());
        let write = state.begin_write().unwrap();
        assert_eq!(write.as_slice(), &[3; 5]);
        state.write_done();
        assert_eq!(in_file(state.place(state.resident[&3])), 0);
        assert_eq!(in_file(state.place(one)), 0);
        let sealed = state.sealed();
        assert_eq!(sealed.len(), 1);
        assert_eq!(
            (sealed[0].start, sealed[0].end, sealed[0].number),
            (0, 20, 1)
        );
        assert_eq!(state.resident_in(&sealed[0], 10).len(), 2);
        assert_eq!(state.floor(), 1);
    }

    #[test]
    fn a_failed_write_goes_first_into_a_new_segment() {
        let mut state = JournalState::new(BTreeMap::new(), BTreeMap::new(), 100, segment(4));
        state.queue(frame(1, 8), 1, true);
        state.begin_write().unwrap();
        state.write_done();
        state.queue(frame(2, 8), 2, true);
        state.begin_write().unwrap();
        state.queue(frame(3, 8), 3, true);
        state.write_failed();
        assert!(state.torn);
        // Both unwritten frames are buffered again, in order.
        assert_eq!(buffered(state.place(state.resident[&2])), vec![2; 8]);
        assert_eq!(buffered(state.place(state.resident[&3])), vec![3; 8]);
        assert_eq!(state.rotate(segment(5), Instant::now()), None);
        let write = state.begin_write().unwrap();
        assert_eq!(write.len(), 16);
        state.write_done();
        assert_eq!(in_file(state.place(state.resident[&2])), 0);
        assert_eq!(in_file(state.place(state.resident[&3])), 8);
        assert_eq!(
            state.segments[&108].ids,
            IdRange {
                lowest: 2,
                highest: 3
            }
        );
        assert_eq!(
            state.sealed()[0].ids,
            IdRange {
                lowest: 1,
                highest: 1
            }
        );

        // A segment that failed before anything was written to it is replaced, not sealed.
        state.queue(frame(4, 8), 4, true);
        state.begin_write().unwrap();
        state.write_done();
        let mut fresh = JournalState::new(BTreeMap::new(), BTreeMap::new(), 0, segment(8));
        fresh.queue(frame(7, 3), 7, true);
        fresh.begin_write().unwrap();
        fresh.write_failed();
        assert_eq!(fresh.rotate(segment(9), Instant::now()), Some(8));
        assert_eq!(fresh.segments.len(), 1);
        assert!(fresh.sealed().is_empty());
    }

    #[test]
    fn resident_runs_are_listed_by_id_both_ways() {
        let mut state = JournalState::new(BTreeMap::new(), BTreeMap::new(), 0, segment(1));
        for id in [5, 3, 9] {
            state.queue(frame(id, 2), id, true);
        }
        assert_eq!(state.resident_from(RunId(4), 10), [RunId(5), RunId(9)]);
        let newest: Vec<u64> = state.resident_below(9, 10).iter().map(|r| r.0).collect();
        assert_eq!(newest, [5, 3]);
        assert_eq!(state.floor(), 3);
    }
}
