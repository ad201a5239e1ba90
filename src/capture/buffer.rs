//! A large read buffer that hands out borrowed windows of the stream.

use std::io::{self, Read};

/// Reads a stream in chunks of 1 MiB (measured against 256 KiB and 4 MiB: no difference
/// beyond noise) and lets a parser look at the next `n` bytes in place.
pub struct ChunkBuffer {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Stream offset of `buf[start]`.
    offset: u64,
}

const CHUNK: usize = 1 << 20;

impl ChunkBuffer {
    pub fn new(src: Box<dyn Read + Send>) -> ChunkBuffer {
        ChunkBuffer {
            src,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
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
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if n > self.buf.len() {
            self.buf.resize(n.next_power_of_two(), 0);
        }
        while self.end < n && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= n)
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
