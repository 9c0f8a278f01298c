//! The accept journal's files: a frame's encoding, reading the frames of a segment back, and the
//! segment files of the journal's folder.
//!
//! A frame is `length (u32 LE) | crc32 (u32 LE) | payload`; a segment is read up to its first
//! frame that is short or fails its checksum. That can only be a write no caller was answered
//! for: a caller is answered after the `fdatasync` that covers its frame and every frame before
//! it.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::run::RunId;

/// No frame is larger: a run's record is bounded by the webhook body limit (a few MiB at most);
/// a larger length can only be a damaged frame.
const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;
const SEGMENT_SUFFIX: &str = ".log";
/// A frame's header: its payload's length and checksum.
const HEADER_BYTES: usize = 8;

/// One accepted run as the journal keeps it: the run's record as stored in the `runs` tree, and
/// its idempotency key with that key's record, both exactly as written to sled.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptFrame {
    pub run_id: RunId,
    pub run: Vec<u8>,
    pub idempotency: Option<(Vec<u8>, Vec<u8>)>,
}

impl AcceptFrame {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; HEADER_BYTES]);
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
        let payload = &out[start + HEADER_BYTES..];
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

/// One frame read back: where it starts in its segment, how many bytes it takes, and what it
/// holds.
#[derive(Debug, PartialEq)]
pub struct ReadFrame {
    pub offset: u64,
    pub len: u32,
    pub frame: AcceptFrame,
}

/// The frames of one segment, in order, up to the first damaged one.
pub fn read_frames(bytes: &[u8]) -> Vec<ReadFrame> {
    let mut frames = Vec::new();
    let mut offset = 0;
    while let Some(frame) = decode_at(&bytes[offset..]) {
        let len = frame_len(&bytes[offset..]).expect("a decoded frame has a header");
        frames.push(ReadFrame {
            offset: offset as u64,
            len: len as u32,
            frame,
        });
        offset += len;
    }
    frames
}

/// The whole length of the frame `bytes` starts with, header included, as its header says.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..HEADER_BYTES)?;
    let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    (length <= MAX_FRAME_BYTES).then_some(HEADER_BYTES + length)
}

/// The frame `bytes` starts with, if it is whole and its checksum holds.
pub fn decode_at(bytes: &[u8]) -> Option<AcceptFrame> {
    let len = frame_len(bytes)?;
    let frame = bytes.get(..len)?;
    let crc = u32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
    let payload = &frame[HEADER_BYTES..];
    if crc32fast::hash(payload) != crc {
        return None;
    }
    AcceptFrame::decode(payload)
}

/// The segments in `dir`, oldest first.
pub fn segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
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

pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:020}{SEGMENT_SUFFIX}"))
}

/// Makes a new, empty segment, and makes its name durable, so a frame synced into it is found
/// after a crash. Readable by the owner only, like the rest of the database; opened for reading
/// too, as a run waiting in the journal is read back from it.
pub(super) fn create_segment(dir: &Path, number: u64) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
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

    fn frames_of(read: Vec<ReadFrame>) -> Vec<AcceptFrame> {
        read.into_iter().map(|read| read.frame).collect()
    }

    #[test]
    fn frames_read_back_up_to_the_first_damaged_one() {
        let mut bytes = Vec::new();
        for (id, key) in [(1, false), (2, true), (3, false)] {
            frame(id, key).encode(&mut bytes);
        }
        let read = read_frames(&bytes);
        // Each frame is found where it starts, and read again from there alone.
        for found in &read {
            let at = found.offset as usize;
            assert_eq!(
                decode_at(&bytes[at..at + found.len as usize]).as_ref(),
                Some(&found.frame)
            );
        }
        assert_eq!(
            frames_of(read),
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
        assert_eq!(frames_of(read_frames(&damaged)), [frame(1, false)]);
        // Zeros (a file extended but never written) are no frame.
        assert!(read_frames(&[0; 64]).is_empty());
    }
}
