//! Stream sinks: standard output, and an alert log file that logrotate can move away.
//!
//! A file is opened for appending (or truncated, for `replay -o`), reopened when asked (the
//! output thread does so after SIGHUP) so writing moves on to a new file under the same name
//! while the rotated one is left complete, and optionally rotated by size: `path` becomes
//! `path.1`, `path.1` becomes `path.2`, ... and the oldest beyond `keep` is removed. A line is
//! never split between two files.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Size-based rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a line would take the file past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` .. `path.keep`).
    pub keep: u32,
}

pub struct FileSink {
    path: PathBuf,
    file: BufWriter<File>,
    /// Bytes in the current file.
    size: u64,
    rotation: Option<Rotation>,
    pub rotations: u64,
}

fn open(path: &Path, append: bool) -> io::Result<(BufWriter<File>, u64)> {
    let f = if append {
        OpenOptions::new().create(true).append(true).open(path)?
    } else {
        File::create(path)?
    };
    let size = f.metadata()?.len();
    Ok((BufWriter::with_capacity(1 << 20, f), size))
}

impl FileSink {
    /// Opens `path` for appending (`append`) or from empty.
    pub fn open(path: &Path, append: bool, rotation: Option<Rotation>) -> Result<FileSink, String> {
        let (file, size) = open(path, append).map_err(|e| {
            if append {
                format!(
                    "cannot open output file {} for appending: {e}",
                    path.display()
                )
            } else {
                format!("cannot create output file {}: {e}", path.display())
            }
        })?;
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
            rotations: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the file and opens the one now under the same name (after logrotate).
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file.flush()?;
        (self.file, self.size) = open(&self.path, true)?;
        tracing::info!("reopened {}", self.path.display());
        Ok(())
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    fn rotate(&mut self, keep: u32) -> io::Result<()> {
        self.file.flush()?;
        let _ = std::fs::remove_file(self.numbered(keep.max(1)));
        for n in (1..keep.max(1)).rev() {
            let from = self.numbered(n);
            if from.exists() {
                std::fs::rename(&from, self.numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.numbered(1))?;
        (self.file, self.size) = open(&self.path, true)?;
        self.rotations += 1;
        Ok(())
    }

    /// Writes one line (`line` has no newline; one is added).
    pub fn line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if let Some(r) = self.rotation
            && self.size > 0
            && self.size + len > r.max_bytes
        {
            self.rotate(r.keep)?;
        }
        self.file.write_all(line)?;
        self.file.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn appends_and_reopens_after_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.json");
        std::fs::write(&path, "old\n").expect("seed");
        let mut f = FileSink::open(&path, true, None).expect("open");
        f.line(b"one").expect("write");
        f.flush().expect("flush");
        // logrotate: move the file away, then SIGHUP.
        let rotated = dir.path().join("alerts.json.1");
        std::fs::rename(&path, &rotated).expect("rotate");
        f.line(b"two").expect("write");
        f.reopen().expect("reopen");
        f.line(b"three").expect("write");
        f.flush().expect("flush");
        assert_eq!(read(&rotated), "old\none\ntwo\n");
        assert_eq!(read(&path), "three\n");
    }

    #[test]
    fn rotates_by_size_without_splitting_lines_and_keeps_n_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("eve.json");
        let rot = Rotation {
            max_bytes: 10,
            keep: 2,
        };
        let mut f = FileSink::open(&path, false, Some(rot)).expect("open");
        for l in ["aaaa", "bbbb", "cccc", "dddd", "eeeeeeeeeeee", "ff"] {
            f.line(l.as_bytes()).expect("write");
        }
        f.flush().expect("flush");
        assert_eq!(read(&path), "ff\n");
        assert_eq!(read(&dir.path().join("eve.json.1")), "eeeeeeeeeeee\n");
        assert_eq!(read(&dir.path().join("eve.json.2")), "cccc\ndddd\n");
        assert!(!dir.path().join("eve.json.3").exists(), "only 2 kept");
        assert_eq!(f.rotations, 3);
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let e = FileSink::open(Path::new("/nonexistent-dir-c2w/alerts.json"), true, None)
            .err()
            .expect("error");
        assert!(
            e.contains("cannot open output file /nonexistent-dir-c2w/alerts.json"),
            "{e}"
        );
    }
}
