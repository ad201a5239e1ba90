//! A capture file being read: format detection and the record loop.

use super::buffer::ChunkBuffer;
use super::{CaptureError, CaptureErrorKind, RawPacket, pcap, pcapng};
use crate::input::{self, Compression, Progress};

/// How far past the record just returned the reader asks the CPU to fetch the file's bytes:
/// a few records ahead, so the next headers are in cache, and across page boundaries, where
/// the hardware's own prefetch stops.
const READ_AHEAD: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Pcap,
    Pcapng,
}

enum State {
    Pcap(pcap::PcapHeader),
    Pcapng {
        section: pcapng::Section,
        interfaces: Vec<pcapng::Interface>,
    },
}

/// A pcap or pcapng stream, read record by record. After an error the file reports end.
pub struct CaptureFile {
    name: String,
    buf: ChunkBuffer,
    state: State,
    pending: usize,
    /// Where the last packet's bytes start, from the start of its record.
    data_start: usize,
    done: bool,
    compression: Compression,
}

impl CaptureFile {
    /// Opens `path` (`-` = stdin) and reads its header. A plain file is mapped rather than
    /// read (`input::map`); everything else is read through `input::open`.
    pub fn open(path: &str, progress: &Progress) -> Result<CaptureFile, CaptureError> {
        let name = if path == "-" {
            "stdin".to_string()
        } else {
            path.to_string()
        };
        let err = |kind, offset, reason: String| CaptureError {
            file: name.clone(),
            offset,
            kind,
            reason,
        };
        if let Some((map, rest)) = input::map(path, progress) {
            let buf = ChunkBuffer::mapped(map, rest, progress.clone());
            return CaptureFile::from_buffer(&name, buf, Compression::None);
        }
        let (reader, compression) = input::open(path, progress)
            .map_err(|e| err(CaptureErrorKind::Io, 0, format!("cannot open: {e}")))?;
        CaptureFile::from_reader(&name, reader, compression)
    }

    /// Reads a capture from `reader` (already decompressed; `compression` says what it was),
    /// named `name` in errors.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn std::io::Read + Send>,
        compression: Compression,
    ) -> Result<CaptureFile, CaptureError> {
        CaptureFile::from_buffer(name, ChunkBuffer::new(reader), compression)
    }

    fn from_buffer(
        name: &str,
        mut buf: ChunkBuffer,
        compression: Compression,
    ) -> Result<CaptureFile, CaptureError> {
        let name = name.to_string();
        let err = |kind, offset, reason: String| CaptureError {
            file: name.clone(),
            offset,
            kind,
            reason,
        };
        buf.fill(pcap::HEADER_LEN)
            .map_err(|e| err(CaptureErrorKind::Io, 0, format!("read error: {e}")))?;
        let head = buf.available();
        let state = if head.len() >= 4 && pcap::read_u32(&head[..4], false) == pcapng::SHB {
            State::Pcapng {
                section: pcapng::Section::default(),
                interfaces: Vec::new(),
            }
        } else if let Some(h) = pcap::parse_header(head) {
            buf.consume(pcap::HEADER_LEN);
            State::Pcap(h)
        } else if head.is_empty() {
            return Err(err(
                CaptureErrorKind::NotACapture,
                0,
                "file is empty".into(),
            ));
        } else {
            let what = if head.len() < pcap::HEADER_LEN {
                "file is shorter than a pcap header"
            } else {
                "not a pcap or pcapng file (unknown magic)"
            };
            return Err(err(CaptureErrorKind::NotACapture, 0, what.into()));
        };
        Ok(CaptureFile {
            name,
            buf,
            state,
            pending: 0,
            data_start: 0,
            done: false,
            compression,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> FileFormat {
        match self.state {
            State::Pcap(_) => FileFormat::Pcap,
            State::Pcapng { .. } => FileFormat::Pcapng,
        }
    }

    pub fn compressed(&self) -> bool {
        self.compression != Compression::None
    }

    /// Name of interface `idx` as the file gives it (pcapng `if_name`), if any.
    pub fn interface_name(&self, idx: u32) -> Option<&str> {
        match &self.state {
            State::Pcap(_) => None,
            State::Pcapng { interfaces, .. } => interfaces.get(idx as usize)?.name.as_deref(),
        }
    }

    /// The buffer holding the last packet [`Self::next_packet`] returned, and where its bytes
    /// start in it. Cloning the handle keeps those bytes readable (no copy) after the file
    /// moves on: what a reader thread hands its workers.
    pub fn last_packet_buffer(&self) -> (&std::sync::Arc<super::Chunk>, usize) {
        let (buf, record) = self.buf.shared();
        (buf, record + self.data_start)
    }

    /// Next frame, `Ok(None)` at the end. An error ends the file; frames already returned stay valid.
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        // The common case inline: a pcap record already buffered whole.
        if !self.done
            && let State::Pcap(h) = &self.state
            && let Some((ts, orig_len, len)) =
                pcap::quick_record(self.buf.available().get(self.pending..).unwrap_or(&[]), h)
        {
            self.buf.consume(self.pending);
            let (start, linktype) = (pcap::RECORD_LEN, h.linktype);
            self.pending = start + len;
            self.data_start = start;
            crate::sys::prefetch(
                self.buf
                    .available()
                    .get(self.pending + READ_AHEAD..)
                    .unwrap_or(&[]),
            );
            return Ok(Some(RawPacket {
                ts,
                iface: 0,
                linktype,
                orig_len,
                iface_name: None,
                data: self.buf.available().get(start..start + len).unwrap_or(&[]),
            }));
        }
        self.next_packet_slow()
    }

    /// Everything [`Self::next_packet`] does not do inline: refills, pcapng blocks, errors.
    #[inline(never)]
    fn next_packet_slow(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        self.buf.consume(self.pending);
        self.pending = 0;
        loop {
            let offset = self.buf.offset();
            let step = match &mut self.state {
                State::Pcap(h) => match pcap::next_record(&mut self.buf, h) {
                    Ok(pcap::Next::End) => Ok(None),
                    Ok(pcap::Next::Record {
                        ts,
                        orig_len,
                        data_start,
                        data_len,
                    }) => Ok(Some((
                        ts,
                        0,
                        h.linktype,
                        orig_len,
                        data_start,
                        data_len,
                        data_start + data_len,
                    ))),
                    Err(e) => Err(e),
                },
                State::Pcapng {
                    section,
                    interfaces,
                } => match pcapng::next_block(&mut self.buf, section, interfaces) {
                    Ok((pcapng::Block::End, _)) => Ok(None),
                    Ok((pcapng::Block::Other, total)) => {
                        self.buf.consume(total);
                        continue;
                    }
                    Ok((
                        pcapng::Block::Packet {
                            iface,
                            linktype,
                            ts,
                            orig_len,
                            data_start,
                            data_len,
                        },
                        total,
                    )) => Ok(Some((
                        ts, iface, linktype, orig_len, data_start, data_len, total,
                    ))),
                    Err(e) => Err(e),
                },
            };
            return match step {
                Ok(None) => {
                    self.done = true;
                    Ok(None)
                }
                Ok(Some((ts, iface, linktype, orig_len, start, len, total))) => {
                    self.pending = total;
                    self.data_start = start;
                    let data = &self.buf.available()[start..start + len];
                    let iface_name = self.interface_name(iface).filter(|n| !n.is_empty());
                    Ok(Some(RawPacket {
                        ts,
                        iface,
                        linktype,
                        orig_len,
                        iface_name,
                        data,
                    }))
                }
                Err((truncated, reason)) => {
                    self.done = true;
                    let kind = if truncated {
                        CaptureErrorKind::Truncated
                    } else if reason.starts_with("read error") {
                        CaptureErrorKind::Io
                    } else {
                        CaptureErrorKind::Corrupt
                    };
                    Err(CaptureError {
                        file: self.name.clone(),
                        offset,
                        kind,
                        reason,
                    })
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Chunk;
    use crate::synth::writer::PcapWriter;
    use crate::time::Timestamp;
    use std::io::Write;

    /// A pcap file of frames 0..n, each 60 bytes of its own number.
    fn pcap_of(n: u8) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), 1).unwrap();
        for i in 0..n {
            w.packet(Timestamp::exact(i64::from(i), 0).unwrap(), &[i; 60])
                .unwrap();
        }
        w.into_inner()
    }

    /// A capture still being written: mapped as it was when opened (ending in the middle of
    /// a record), then read on as it grows. Every frame comes out once, in order, and the
    /// progress count ends at the file's size.
    #[test]
    fn a_file_growing_after_it_was_mapped_is_read_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.pcap");
        let all = pcap_of(10);
        let record = 16 + 60;
        let cut = 24 + 6 * record + record / 2;
        std::fs::write(&path, &all[..cut]).unwrap();
        let progress = Progress::default();
        let mut f = CaptureFile::open(path.to_str().unwrap(), &progress).unwrap();
        assert!(matches!(**f.buf.shared().0, Chunk::Mapped(_)), "not mapped");
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(f.next_packet().unwrap().unwrap().data[0]);
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&all[cut..])
            .unwrap();
        while let Some(p) = f.next_packet().unwrap() {
            seen.push(p.data[0]);
        }
        assert_eq!(seen, (0..10).collect::<Vec<u8>>());
        assert_eq!(progress.bytes(), all.len() as u64);
    }

    /// Standard input and compressed files are read, not mapped, and give the same frames.
    #[test]
    fn compressed_files_are_read_not_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pcap.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&pcap_of(5)).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let mut f = CaptureFile::open(path.to_str().unwrap(), &Progress::default()).unwrap();
        assert!(matches!(**f.buf.shared().0, Chunk::Heap(_)));
        let mut seen = Vec::new();
        while let Some(p) = f.next_packet().unwrap() {
            seen.push(p.data[0]);
        }
        assert_eq!(seen, (0..5).collect::<Vec<u8>>());
    }
}
