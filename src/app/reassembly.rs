//! Bounded TCP reassembly of one direction of a stream, from its first byte: in-order and
//! out-of-order segments, retransmissions (the first copy of a byte wins), sequence wrap.
//! Only the first `cap` bytes are kept — enough for the handshakes the parsers read.

/// Default bytes kept per direction.
pub const DEFAULT_CAP: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct Stream {
    /// Sequence number of byte 0 (the SYN's sequence number + 1, or the first segment seen).
    base: Option<u32>,
    data: Vec<u8>,
    /// Segments beyond a gap: (offset from byte 0, bytes).
    pending: Vec<(usize, Vec<u8>)>,
    pending_bytes: usize,
    cap: usize,
    /// Bytes arrived beyond the cap (the stream is no longer followed).
    pub overflow: bool,
}

impl Stream {
    pub fn new(cap: usize) -> Stream {
        Stream {
            cap,
            ..Stream::default()
        }
    }

    /// The contiguous bytes from the start of the stream.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// A SYN fixes where the stream starts.
    pub fn syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    /// Adds a segment; returns true when the contiguous data grew.
    pub fn segment(&mut self, seq: u32, payload: &[u8]) -> bool {
        if payload.is_empty() {
            return false;
        }
        let base = *self.base.get_or_insert(seq);
        let rel = seq.wrapping_sub(base) as i32;
        let (off, payload) = if rel < 0 {
            // Starts before byte 0 (a retransmitted SYN payload or a capture joined late).
            let skip = rel.unsigned_abs() as usize;
            if skip >= payload.len() {
                return false;
            }
            (0, &payload[skip..])
        } else {
            (rel as usize, payload)
        };
        if off >= self.cap {
            self.overflow = true;
            return false;
        }
        let before = self.data.len();
        if off <= self.data.len() {
            self.append(off, payload);
            self.drain_pending();
        } else if self.pending_bytes + payload.len() <= self.cap {
            self.pending_bytes += payload.len();
            self.pending.push((off, payload.to_vec()));
        } else {
            self.overflow = true;
        }
        self.data.len() > before
    }

    fn append(&mut self, off: usize, payload: &[u8]) {
        let end = (off + payload.len()).min(self.cap);
        if end > self.data.len() {
            let from = self.data.len() - off;
            self.data.extend_from_slice(&payload[from..end - off]);
        }
        if off + payload.len() > self.cap {
            self.overflow = true;
        }
    }

    fn drain_pending(&mut self) {
        loop {
            let Some(i) = self.pending.iter().position(|(o, _)| *o <= self.data.len()) else {
                return;
            };
            let (o, seg) = self.pending.swap_remove(i);
            self.pending_bytes -= seg.len();
            self.append(o, &seg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_out_of_order_and_retransmitted() {
        let mut s = Stream::new(100);
        s.syn(1000);
        assert!(!s.segment(1006, b"world"), "a gap: held back");
        assert!(s.segment(1001, b"hello"));
        assert_eq!(s.data(), b"helloworld");
        assert!(
            !s.segment(1001, b"HELLO"),
            "retransmission: first copy wins"
        );
        assert!(s.segment(1009, b"ldwide"));
        assert_eq!(s.data(), b"helloworldwide");
    }

    #[test]
    fn wraps_and_caps() {
        let mut s = Stream::new(8);
        s.syn(u32::MAX - 1);
        assert!(s.segment(u32::MAX, b"abc"));
        assert!(s.segment(2, b"defghijk"));
        assert_eq!(s.data(), b"abcdefgh");
        assert!(s.overflow);
        let mut t = Stream::new(8);
        assert!(
            t.segment(50, b"xy"),
            "no SYN seen: the first segment starts the stream"
        );
        assert!(
            !t.segment(40, b"0123456789"),
            "bytes before the start are dropped"
        );
        assert!(!t.segment(60, b"far beyond the cap"));
        assert!(t.overflow);
    }
}
