//! Opening an input file: a path or `-` (stdin), with gzip or zstd compression detected by magic.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read so far from the underlying (possibly compressed) files, for progress display.
#[derive(Clone, Default, Debug)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

struct Counting<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.progress.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Maps `path` when it is a plain (not compressed), non-empty regular file: the mapping of
/// its bytes as they are now, and a reader of whatever it gains after them (counted in
/// `progress`). `None` for anything else (stdin, pipes, compressed files), which
/// [`open`] reads instead.
pub fn map(path: &str, progress: &Progress) -> Option<(crate::sys::Mapping, Box<dyn Read + Send>)> {
    use std::io::Seek;
    if path == "-" {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let len = usize::try_from(meta.len()).ok()?;
    let map = crate::sys::Mapping::of_file(&file, len).ok()?;
    if Compression::sniff(map.bytes()) != Compression::None {
        return None;
    }
    file.seek(io::SeekFrom::Start(meta.len())).ok()?;
    let rest = Counting {
        inner: file,
        progress: progress.clone(),
    };
    Some((map, Box::new(rest)))
}

/// Opens `path` (or stdin for `-`) and returns a reader of the decompressed bytes.
pub fn open(path: &str, progress: &Progress) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    let counted = Counting {
        inner: raw,
        progress: progress.clone(),
    };
    let mut buffered = BufReader::with_capacity(1 << 20, counted);
    let compression = Compression::sniff(buffered.fill_buf()?);
    let reader: Box<dyn Read + Send> = match compression {
        // Plain files are read straight into the caller's (large) buffer: a BufReader in
        // between would copy every byte twice.
        Compression::None => {
            let head = buffered.buffer().to_vec();
            Box::new(io::Cursor::new(head).chain(buffered.into_inner()))
        }
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    Ok((reader, compression))
}
