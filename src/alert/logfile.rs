//! An alert log file that logrotate can move away: opened for appending, and reopened at the
//! next write after SIGHUP (the flag the signal handler sets), so writing moves on to the new
//! file under the same name while the rotated one is left complete.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct LogFile {
    path: PathBuf,
    file: BufWriter<File>,
    reopen: Arc<AtomicBool>,
}

fn open(path: &Path) -> io::Result<BufWriter<File>> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(BufWriter::with_capacity(1 << 16, f))
}

impl LogFile {
    /// Opens `path` for appending; setting `reopen` makes the next write reopen it.
    pub fn open(path: &Path, reopen: Arc<AtomicBool>) -> Result<LogFile, String> {
        let file = open(path).map_err(|e| {
            format!(
                "cannot open output file {} for appending: {e}",
                path.display()
            )
        })?;
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            reopen,
        })
    }

    fn maybe_reopen(&mut self) -> io::Result<()> {
        if self.reopen.swap(false, Ordering::Relaxed) {
            self.file.flush()?;
            self.file = open(&self.path)?;
            tracing::info!("reopened {}", self.path.display());
        }
        Ok(())
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.maybe_reopen()?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.maybe_reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_reopens_after_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.json");
        std::fs::write(&path, "old\n").expect("seed");
        let flag = Arc::new(AtomicBool::new(false));
        let mut f = LogFile::open(&path, flag.clone()).expect("open");
        f.write_all(b"one\n").expect("write");
        f.flush().expect("flush");
        // logrotate: move the file away, then SIGHUP.
        let rotated = dir.path().join("alerts.json.1");
        std::fs::rename(&path, &rotated).expect("rotate");
        f.write_all(b"two\n").expect("write");
        flag.store(true, Ordering::Relaxed);
        f.write_all(b"three\n").expect("write");
        f.flush().expect("flush");
        assert_eq!(
            std::fs::read_to_string(&rotated).expect("rotated"),
            "old\none\ntwo\n"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("new"), "three\n");
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let e = LogFile::open(
            Path::new("/nonexistent-dir-c2w/alerts.json"),
            Arc::default(),
        )
        .err()
        .expect("error");
        assert!(
            e.contains("cannot open output file /nonexistent-dir-c2w/alerts.json"),
            "{e}"
        );
    }
}
