//! A bounded on-disk queue of messages a network sink could not deliver.
//!
//! Layout: a folder holding `queue` (frames: a 4-byte little-endian length, then the message)
//! and `head` (the byte offset of the first undelivered frame, as decimal text). Frames are
//! appended at the end and delivered from the head, so the order of delivery is the order of
//! arrival. When every frame is delivered the queue is emptied (truncated to zero).
//!
//! Invariants:
//! - The queue never grows past `max_bytes`: a message that would not fit is dropped and
//!   counted, never written in part.
//! - What is in the queue survives a restart: the next run delivers it first. The head is
//!   saved every [`SAVE_EVERY`] deliveries and when the queue empties, so a crash can deliver
//!   up to that many messages twice (at least once, never lost).
//! - A torn last frame (a crash while appending) is cut off when the queue is opened.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Deliveries between two saves of the head offset.
pub const SAVE_EVERY: u64 = 256;
const LEN: u64 = 4;

pub struct Spool {
    dir: PathBuf,
    queue: File,
    /// Offset of the first undelivered frame.
    head: u64,
    /// End of the last complete frame.
    len: u64,
    /// Frames between `head` and `len`.
    events: u64,
    max_bytes: u64,
    /// Messages refused because the queue was full (or could not be written).
    pub dropped: u64,
    /// Messages ever put in the queue.
    pub spooled: u64,
    unsaved: u64,
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

impl Spool {
    /// Opens (creating it when missing) the queue in `dir`, keeping what an earlier run left.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let qpath = dir.join("queue");
        let mut queue = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&qpath)?;
        let size = queue.metadata()?.len();
        let head = match std::fs::read_to_string(dir.join("head")) {
            Ok(s) => s
                .trim()
                .parse::<u64>()
                .map_err(|e| invalid(&dir.join("head"), e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let head = if head > size { 0 } else { head };
        // Count the frames left, and cut a torn last frame.
        queue.seek(SeekFrom::Start(head))?;
        let mut r = BufReader::new(&mut queue);
        let (mut at, mut events) = (head, 0u64);
        loop {
            let mut n = [0u8; LEN as usize];
            if r.read_exact(&mut n).is_err() {
                break;
            }
            let n = u64::from(u32::from_le_bytes(n));
            if at + LEN + n > size {
                break;
            }
            io::copy(&mut (&mut r).take(n), &mut io::sink())?;
            at += LEN + n;
            events += 1;
        }
        drop(r);
        if at < size {
            tracing::warn!(
                "{}: cut a torn last frame ({} bytes) left by an earlier run",
                qpath.display(),
                size - at
            );
            queue.set_len(at)?;
        }
        let mut s = Spool {
            dir: dir.to_path_buf(),
            queue,
            head,
            len: at,
            events,
            max_bytes,
            dropped: 0,
            spooled: 0,
            unsaved: 0,
        };
        if events == 0 {
            s.reset()?;
        }
        Ok(s)
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Frames waiting.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Bytes the waiting frames take on disk.
    pub fn bytes(&self) -> u64 {
        self.len - self.head
    }

    /// Appends a message; false (and counted in `dropped`) when it does not fit or cannot be
    /// written.
    pub fn push(&mut self, msg: &[u8]) -> bool {
        let need = LEN + msg.len() as u64;
        if self.bytes() + need > self.max_bytes || msg.len() > u32::MAX as usize {
            self.dropped += 1;
            return false;
        }
        let mut frame = Vec::with_capacity(need as usize);
        frame.extend_from_slice(&(msg.len() as u32).to_le_bytes());
        frame.extend_from_slice(msg);
        let written = self
            .queue
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.queue.write_all(&frame));
        match written {
            Ok(()) => {
                self.len += need;
                self.events += 1;
                self.spooled += 1;
                true
            }
            Err(e) => {
                // Leave no partial frame behind.
                let _ = self.queue.set_len(self.len);
                tracing::error!("cannot write to the spool {}: {e}", self.dir.display());
                self.dropped += 1;
                false
            }
        }
    }

    /// Hands the waiting frames, oldest first, to `deliver` until it fails or the queue is
    /// empty. Returns how many were delivered; a failure leaves its frame at the head.
    pub fn drain(
        &mut self,
        mut deliver: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<(u64, Option<io::Error>)> {
        let mut done = 0u64;
        let mut failure = None;
        self.queue.seek(SeekFrom::Start(self.head))?;
        let mut r = BufReader::with_capacity(1 << 16, &mut self.queue);
        let mut msg = Vec::new();
        while self.events > 0 {
            let mut n = [0u8; LEN as usize];
            r.read_exact(&mut n)?;
            let n = u32::from_le_bytes(n) as usize;
            msg.resize(n, 0);
            r.read_exact(&mut msg)?;
            if let Err(e) = deliver(&msg) {
                failure = Some(e);
                break;
            }
            self.head += LEN + n as u64;
            self.events -= 1;
            self.unsaved += 1;
            done += 1;
            if self.unsaved >= SAVE_EVERY && self.events > 0 {
                write_head(&self.dir, self.head)?;
                self.unsaved = 0;
            }
        }
        drop(r);
        if self.events == 0 {
            self.reset()?;
        } else if self.unsaved > 0 {
            self.save_head()?;
        }
        Ok((done, failure))
    }

    fn save_head(&mut self) -> io::Result<()> {
        write_head(&self.dir, self.head)?;
        self.unsaved = 0;
        Ok(())
    }

    /// Empties the queue.
    fn reset(&mut self) -> io::Result<()> {
        self.queue.set_len(0)?;
        self.head = 0;
        self.len = 0;
        self.save_head()
    }
}

/// Replaces the saved head offset (write, then rename: never half a number).
fn write_head(dir: &Path, head: u64) -> io::Result<()> {
    let tmp = dir.join("head.tmp");
    std::fs::write(&tmp, format!("{head}\n"))?;
    std::fs::rename(&tmp, dir.join("head"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &mut Spool) -> Vec<String> {
        let mut got = Vec::new();
        s.drain(|m| {
            got.push(String::from_utf8_lossy(m).into_owned());
            Ok(())
        })
        .expect("drain");
        got
    }

    #[test]
    fn delivers_in_order_and_resumes_after_a_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Spool::open(dir.path(), 1 << 20).expect("open");
        for i in 0..10 {
            assert!(s.push(format!("m{i}").as_bytes()));
        }
        assert_eq!((s.events(), s.bytes()), (10, 10 * 6));
        let mut seen = Vec::new();
        let (done, err) = s
            .drain(|m| {
                if seen.len() == 4 {
                    return Err(io::Error::other("receiver down"));
                }
                seen.push(m.to_vec());
                Ok(())
            })
            .expect("drain");
        assert_eq!(done, 4);
        assert!(err.is_some());
        assert_eq!(s.events(), 6);
        s.push(b"m10");
        let rest = all(&mut s);
        assert_eq!(rest, ["m4", "m5", "m6", "m7", "m8", "m9", "m10"]);
        assert!(s.is_empty());
        assert_eq!(
            std::fs::metadata(dir.path().join("queue"))
                .expect("q")
                .len(),
            0
        );
    }

    #[test]
    fn is_bounded_and_counts_what_it_drops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Spool::open(dir.path(), 30).expect("open");
        assert!(s.push(b"0123456789")); // 14 bytes
        assert!(s.push(b"0123456789")); // 28
        assert!(!s.push(b"x")); // 33 > 30
        assert_eq!((s.events(), s.dropped, s.spooled), (2, 1, 2));
    }

    #[test]
    fn survives_a_restart_and_cuts_a_torn_frame() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = Spool::open(dir.path(), 1 << 20).expect("open");
            for m in ["a", "b", "c"] {
                s.push(m.as_bytes());
            }
            let mut first = true;
            s.drain(|_| {
                if first {
                    first = false;
                    Ok(())
                } else {
                    Err(io::Error::other("down"))
                }
            })
            .expect("drain");
        }
        // A crash while appending leaves half a frame.
        let mut q = OpenOptions::new()
            .append(true)
            .open(dir.path().join("queue"))
            .expect("queue");
        q.write_all(&[9, 0, 0, 0, b'x']).expect("torn");
        let mut s = Spool::open(dir.path(), 1 << 20).expect("reopen");
        assert_eq!(s.events(), 2);
        assert_eq!(all(&mut s), ["b", "c"]);
    }
}
