//! A large read buffer that hands out borrowed windows of the stream, and can share them.
//!
//! A plain capture file is mapped whole instead of read (`sys::Mapping`): the buffer then
//! starts on the mapping, and only bytes the file gained after it was opened are read into
//! heap buffers. Either way the windows handed out are [`Chunk`]s, shared without copying.

use std::io::{self, Read};
use std::sync::Arc;

/// Reads a stream in chunks of 1 MiB (measured against 256 KiB and 4 MiB: no difference
/// beyond noise) and lets a parser look at the next `n` bytes in place.
pub struct ChunkBuffer {
    src: Box<dyn Read + Send>,
    /// Shared with whoever holds a [`Self::shared`] handle; a refill then moves to a new
    /// buffer instead of overwriting bytes someone may still read.
    buf: Arc<Chunk>,
    /// Buffers handed out before, reused once nobody holds them any more.
    spare: Vec<Arc<Chunk>>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
    /// Set when the stream starts with a mapping (whose bytes no reader counts).
    mapped: Option<MappedProgress>,
    /// Stream offset at which [`Self::consume`] next reports the mapping's progress
    /// (`u64::MAX`: no mapping, or all of it reported): one comparison per record.
    report_at: u64,
}

const CHUNK: usize = 1 << 20;

/// Bytes a [`ChunkBuffer`] hands out: a heap buffer it read into, or a file mapped whole.
pub enum Chunk {
    Heap(Vec<u8>),
    Mapped(crate::sys::Mapping),
}

impl std::ops::Deref for Chunk {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Heap(v) => v,
            Chunk::Mapped(m) => m.bytes(),
        }
    }
}

/// Progress is reported for a mapping as it is consumed, in steps of this many bytes.
const PROGRESS_STEP: u64 = 1 << 20;

/// A mapped start's progress: bytes of the mapping consumed and reported so far.
struct MappedProgress {
    progress: crate::input::Progress,
    len: u64,
    reported: u64,
    /// Bytes of the mapping handed back to the kernel (see [`RELEASE_BEHIND`]).
    released: u64,
}

/// Pages of the mapping this far behind the reader are handed back to the kernel
/// (`Mapping::release`): batches in flight to workers are far closer than that, and a worker
/// that did read there would fault the same bytes back in.
const RELEASE_BEHIND: u64 = 16 << 20;
/// ... in steps of this many bytes.
const RELEASE_STEP: u64 = 16 << 20;
/// Buffers kept for reuse after being shared (about what the workers' queues hold).
const MAX_SPARE: usize = 64;

impl ChunkBuffer {
    pub fn new(src: Box<dyn Read + Send>) -> ChunkBuffer {
        ChunkBuffer {
            src,
            buf: Arc::new(Chunk::Heap(vec![0; CHUNK])),
            spare: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            mapped: None,
            report_at: u64::MAX,
        }
    }

    /// A stream that starts with `map` and goes on with `rest` (the file read from the end
    /// of the mapping, for bytes it gained since). Bytes consumed from the mapping are
    /// counted in `progress`.
    pub fn mapped(
        map: crate::sys::Mapping,
        rest: Box<dyn Read + Send>,
        progress: crate::input::Progress,
    ) -> ChunkBuffer {
        let len = map.bytes().len();
        ChunkBuffer {
            src: rest,
            buf: Arc::new(Chunk::Mapped(map)),
            spare: Vec::new(),
            start: 0,
            end: len,
            eof: false,
            offset: 0,
            mapped: Some(MappedProgress {
                progress,
                len: len as u64,
                reported: 0,
                released: 0,
            }),
            report_at: PROGRESS_STEP.min(len as u64),
        }
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Unconsumed bytes currently buffered.
    #[inline]
    pub fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes at least `n` bytes available. Returns `Ok(false)` when the stream ends first
    /// (whatever was left stays available).
    #[inline]
    pub fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.fill_slow(n)
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<bool> {
        // A heap buffer keeps its size (it grew for a large record); after the mapping,
        // reading goes on in chunks (its length is the whole file's).
        let current = match &*self.buf {
            Chunk::Heap(v) => v.len(),
            Chunk::Mapped(_) => CHUNK,
        };
        let size = current.max(n.next_power_of_two());
        // A heap buffer nobody else holds is reused in place; a shared one, or the mapping,
        // is left as it is and the unread tail moves to another heap buffer.
        if let Some(Chunk::Heap(buf)) = Arc::get_mut(&mut self.buf) {
            buf.copy_within(self.start..self.end, 0);
        } else {
            // One nobody holds any more if there is one (no zeroing, no fresh pages), else a
            // new one.
            let free = self
                .spare
                .iter_mut()
                .position(|b| Arc::get_mut(b).is_some());
            let mut next = match free {
                Some(i) => self.spare.swap_remove(i),
                None => Arc::new(Chunk::Heap(vec![0; size])),
            };
            let tail = self.end - self.start;
            if let Some(Chunk::Heap(b)) = Arc::get_mut(&mut next) {
                if b.len() < tail {
                    b.resize(size, 0);
                }
                b[..tail].copy_from_slice(&self.buf[self.start..self.end]);
            }
            let old = std::mem::replace(&mut self.buf, next);
            if self.spare.len() < MAX_SPARE && matches!(*old, Chunk::Heap(_)) {
                self.spare.push(old);
            }
        }
        let Some(Chunk::Heap(buf)) = Arc::get_mut(&mut self.buf) else {
            // A fresh or spare heap buffer, held by nobody else: always the case.
            return Err(io::Error::other("read buffer unexpectedly shared"));
        };
        self.end -= self.start;
        self.start = 0;
        if n > buf.len() {
            buf.resize(size, 0);
        }
        while self.end < n && !self.eof {
            match self.src.read(&mut buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= n)
    }

    /// The buffer behind [`Self::available`], shared (no copy), and the position of the
    /// first available byte in it. Its bytes never change while the handle lives.
    pub fn shared(&self) -> (&Arc<Chunk>, usize) {
        (&self.buf, self.start)
    }

    /// True when nothing is buffered and the stream has ended.
    pub fn at_end(&mut self) -> io::Result<bool> {
        Ok(!self.fill(1)?)
    }

    #[inline]
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
        if self.offset >= self.report_at {
            self.report_mapped();
        }
    }

    #[cold]
    fn report_mapped(&mut self) {
        if let Some(m) = &mut self.mapped {
            let now = self.offset.min(m.len);
            m.progress.add(now - m.reported);
            m.reported = now;
            self.report_at = if now < m.len {
                (now + PROGRESS_STEP).min(m.len)
            } else {
                u64::MAX
            };
            let behind = now.saturating_sub(RELEASE_BEHIND);
            if behind >= m.released + RELEASE_STEP
                && let Chunk::Mapped(map) = &*self.buf
            {
                m.released = map.release(m.released as usize, behind as usize) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the end of a mapped file, what it gained since is read into chunk-sized heap
    /// buffers, not into one the size of the whole file.
    #[test]
    fn reading_on_past_a_mapping_uses_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![1u8; 3 * CHUNK]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let map = crate::sys::Mapping::of_file(&file, 3 * CHUNK).unwrap();
        let progress = crate::input::Progress::default();
        let rest = Box::new(io::Cursor::new(vec![2u8; 10]));
        let mut b = ChunkBuffer::mapped(map, rest, progress.clone());
        assert!(b.fill(3 * CHUNK).unwrap());
        b.consume(3 * CHUNK - 4);
        assert!(b.fill(14).unwrap());
        assert_eq!(b.available(), &[1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
        assert!(matches!(**b.shared().0, Chunk::Heap(_)));
        assert_eq!(b.shared().0.len(), CHUNK);
        b.consume(14);
        assert!(b.at_end().unwrap());
        // The mapping's bytes are counted as consumed (the cursor is not a counted reader).
        assert_eq!(progress.bytes(), 3 * CHUNK as u64);
    }

    /// A reader that returns at most 3 bytes per call, to exercise refills.
    struct Dribble(Vec<u8>, usize);
    impl Read for Dribble {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(3).min(self.0.len() - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn fills_across_small_reads_and_reports_eof() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut b = ChunkBuffer::new(Box::new(Dribble(data, 0)));
        assert!(b.fill(10).unwrap());
        assert_eq!(&b.available()[..3], &[0, 1, 2]);
        assert!(b.fill(95).unwrap());
        b.consume(95);
        assert_eq!(b.offset(), 95);
        assert!(!b.fill(10).unwrap());
        assert_eq!(b.available(), &[95, 96, 97, 98, 99]);
    }

    #[test]
    fn grows_for_large_records() {
        let data = vec![7u8; CHUNK * 2 + 5];
        let mut b = ChunkBuffer::new(Box::new(io::Cursor::new(data)));
        assert!(b.fill(CHUNK * 2).unwrap());
        b.consume(CHUNK * 2);
        assert!(b.fill(5).unwrap());
        assert!(!b.fill(6).unwrap());
    }

    #[test]
    fn shared_bytes_survive_refills() {
        let data: Vec<u8> = (0..=255u8).cycle().take(CHUNK * 3).collect();
        let mut b = ChunkBuffer::new(Box::new(io::Cursor::new(data.clone())));
        assert!(b.fill(100).unwrap());
        b.consume(CHUNK - 10);
        let (held, at) = b.shared();
        let held = held.clone();
        assert_eq!(&held[at..at + 10], &data[CHUNK - 10..CHUNK]);
        // The next fill must not overwrite what `held` shows.
        assert!(b.fill(CHUNK).unwrap());
        assert_eq!(&held[at..at + 10], &data[CHUNK - 10..CHUNK]);
        assert_eq!(&b.available()[..20], &data[CHUNK - 10..CHUNK + 10]);
        drop(held);
        b.consume(CHUNK);
        assert!(b.fill(100).unwrap());
        assert_eq!(&b.available()[..4], &data[2 * CHUNK - 10..2 * CHUNK - 6]);
    }
}
