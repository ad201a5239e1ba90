//! The few system calls c2watch makes beyond what std and libpcap offer, one CPU hint (a cache
//! prefetch) and one memory hint (huge pages for large tables), each behind a safe wrapper.
//! This is the only module allowed `unsafe`: one block per call, each with the reason it is
//! sound.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setsockopt(fd, level, name, &value, 4)`.
pub fn setsockopt_u32(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: u32,
) -> io::Result<()> {
    // SAFETY: `value` lives on this stack frame for the whole call and the length passed is
    // exactly its size; setsockopt only reads that many bytes and keeps no pointer. A bad
    // descriptor is reported as EBADF, not undefined behaviour.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    })
}

/// `getsockopt(fd, level, name)` of a 4-byte option.
pub fn getsockopt_u32(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<u32> {
    let mut value: u32 = 0;
    let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
    // SAFETY: `value` and `len` live on this frame; `len` tells the kernel the buffer's size
    // and it writes at most that many bytes into `value`, and the actual length into `len`.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            std::ptr::from_mut(&mut value).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Waits until `fd` is readable, for at most `timeout_ms`. Interruptions (a signal) end the
/// wait early; callers loop.
pub fn wait_readable(fd: RawFd, timeout_ms: i32) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one initialized pollfd owned by this frame and the count passed is 1;
    // poll writes only its `revents` field.
    let _ = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
}

/// Switches the whole process to `uid`/`gid` with no supplementary groups. From root this
/// also clears every capability (no `keep caps` is set), and it cannot be undone.
pub fn set_ids(uid: u32, gid: u32) -> io::Result<()> {
    let groups = [gid as libc::gid_t];
    // SAFETY: the pointer and count describe `groups`, a live one-element array; setgroups
    // only reads it.
    check(unsafe { libc::setgroups(1, groups.as_ptr()) })?;
    // SAFETY: plain integer arguments. glibc applies setgid/setuid to every thread of the
    // process, not just the caller.
    check(unsafe { libc::setgid(gid as libc::gid_t) })?;
    // SAFETY: as above.
    check(unsafe { libc::setuid(uid as libc::uid_t) })
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// Asks the CPU to fetch the cache line holding `p` into its caches: the one place the
/// prefetch instruction is used. A hint only: no effect on what the program computes, nothing
/// on another architecture.
#[inline(always)]
fn prefetch_line(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `prefetch` needs SSE, which every x86_64 CPU has (it is part of the
        // target's baseline), and it never dereferences its address: a prefetch of any
        // address, even one past a value or a slice, cannot fault or change memory.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks the CPU to fetch the cache line holding the start of `bytes` (and the next one) into
/// its caches ahead of use. Nothing on an empty slice.
#[inline(always)]
pub fn prefetch(bytes: &[u8]) {
    if let Some(first) = bytes.first() {
        let p = std::ptr::from_ref(first).cast::<i8>();
        prefetch_line(p);
        prefetch_line(p.wrapping_add(64));
    }
}

/// Asks the CPU to fetch the cache lines `v` spans into its caches: for a value that will be
/// read soon and is likely not cached. The lines are found from the value's size and
/// alignment, known when compiling, and its address: a few instructions for a value of a few
/// lines.
#[inline(always)]
pub fn prefetch_value<T>(v: &T) {
    let start = std::ptr::from_ref(v).cast::<i8>();
    let size = std::mem::size_of::<T>();
    // Every 64 bytes from the start, and the last byte when the value may straddle one more
    // line (a value no larger than its alignment, at most 64, never does).
    for k in 0..size.div_ceil(64) {
        prefetch_line(start.wrapping_add(64 * k));
    }
    if size > std::mem::align_of::<T>() {
        prefetch_line(start.wrapping_add(size - 1));
    }
}

/// A whole file mapped read-only (`mmap`, private), unmapped when dropped: capture files are
/// read through it without copying them into the process.
///
/// A file cut short while mapped makes reading past its new end fault (SIGBUS); the first
/// mapping installs a handler that turns that into a clear message and exit status 74 instead
/// of a crash ([`on_sigbus`]).
pub struct Mapping {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the mapping is read-only, owned by this value alone and unmapped only by its Drop;
// reading it from several threads at once is reading shared immutable memory.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: `&Mapping` only ever gives out `&[u8]` over read-only pages.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `file` (its size when opened). Fails for a file that
    /// cannot be mapped (a pipe, a special file) or a `len` of 0.
    pub fn of_file(file: &std::fs::File, len: usize) -> io::Result<Mapping> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty file"));
        }
        install_sigbus_handler();
        // SAFETY: a fresh read-only private mapping chosen by the kernel (null hint): it
        // overlaps no memory Rust knows of. The descriptor is valid for the call; the mapping
        // stays valid after it is closed.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `ptr..ptr+len` is the mapping just made; the advice changes only how the
        // kernel reads ahead. Its error is ignored: a hint.
        let _ = unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(Mapping {
            ptr: ptr as *const u8,
            len,
        })
    }

    /// Lets the kernel take the pages between `from` and `to` (bytes into the mapping, the
    /// whole 2 MiB stretches inside) out of this process (`MADV_DONTNEED`): the resident size
    /// of a replay then stays flat however long the file is. Reading them again later faults
    /// them back in from the file: the same bytes. Returns where the released stretch ended
    /// (`from` when nothing was released), where the next call should start.
    pub fn release(&self, from: usize, to: usize) -> usize {
        let start = from.next_multiple_of(HUGE_PAGE);
        let to = to.min(self.len) & !(HUGE_PAGE - 1);
        if to <= start {
            return from;
        }
        // SAFETY: the range lies inside this live mapping. For a private file mapping this
        // process never wrote, MADV_DONTNEED only drops page-table entries: a later read maps
        // the file's page again, so what Rust reads there does not change (the caveat in
        // `bytes` about other processes changing the file still applies).
        let _ = unsafe {
            libc::madvise(
                self.ptr.wrapping_add(start) as *mut libc::c_void,
                to - start,
                libc::MADV_DONTNEED,
            )
        };
        to
    }

    /// The mapped bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live read-only mapping of `len` bytes, valid until Drop (which
        // needs `&mut self`, so no borrow outlives it). Its pages are private and read-only:
        // nothing in this process writes them. Another process changing the file could change
        // what later reads see, which every parser here tolerates (each read is
        // bounds-checked); cutting it short is the SIGBUS case above.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `of_file` made, once; no `&[u8]` from `bytes`
        // can outlive `self`.
        let _ = unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// What a SIGBUS prints: the only way c2watch reads memory that can vanish under it is a
/// mapped capture file that was cut short (or whose disk failed) while being read.
const SIGBUS_MESSAGE: &[u8] = b"c2watch: a capture file could not be read any further (cut short \
while being replayed, or a read error on its disk): stopped. Alerts for packets already read may \
not all have been written. Replay a copy that nothing is writing to.\n";

/// SIGBUS handler: the message, then exit status 74 (EX_IOERR). Only async-signal-safe calls.
extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the message is a static buffer of
    // the given length.
    unsafe {
        let _ = libc::write(2, SIGBUS_MESSAGE.as_ptr().cast(), SIGBUS_MESSAGE.len());
        libc::_exit(74);
    }
}

fn install_sigbus_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler is
        // an `extern "C" fn(c_int)` as sa_sigaction expects without SA_SIGINFO; sigaction
        // copies the struct and keeps no pointer to it.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            let _ = libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

/// Size of a huge page (x86_64 and aarch64 with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;
/// Linux's `MADV_COLLAPSE` (6.1), spelled out: the libc crate names it for glibc targets only.
const MADV_COLLAPSE: libc::c_int = 25;

/// `madvise(advice)` over the whole huge pages inside `len` bytes at `start`; errors ignored.
fn advise_huge(start: usize, len: usize, advice: libc::c_int) {
    let from = start.next_multiple_of(HUGE_PAGE);
    let to = start.saturating_add(len) & !(HUGE_PAGE - 1);
    if to > from {
        // SAFETY: callers pass memory of one live allocation of their own; MADV_HUGEPAGE and
        // MADV_COLLAPSE change only how the kernel backs those pages (a collapse copies them
        // into a huge page, contents unchanged), never what Rust sees in them. An error
        // (EINVAL without transparent huge pages, EAGAIN) leaves the pages as they were.
        let _ = unsafe { libc::madvise(from as *mut libc::c_void, to - from, advice) };
    }
}

/// Asks the kernel to back `v`'s buffer (its whole capacity) with huge pages when it first
/// touches them (`MADV_HUGEPAGE`, on the 2 MiB-aligned stretches inside it). For a fresh,
/// untouched buffer about to be filled; a hint (nothing changes without transparent huge
/// pages). Large tables read at random pay a TLB miss (a page-table walk, nested in a VM)
/// on nearly every access with 4 KiB pages.
pub fn advise_huge_pages<T>(v: &Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    advise_huge(v.as_ptr() as usize, bytes, libc::MADV_HUGEPAGE);
}

/// [`advise_huge_pages`] for a table already built: its pages are also gathered into huge
/// pages now (`MADV_COLLAPSE`, Linux 6.1 and later; older kernels leave it to khugepaged).
pub fn collapse_huge_pages<T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    advise_huge(v.as_ptr() as usize, bytes, libc::MADV_HUGEPAGE);
    advise_huge(v.as_ptr() as usize, bytes, MADV_COLLAPSE);
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetch_is_only_a_hint() {
        // Empty, one byte, and a slice whose next cache line lies past its end: nothing
        // faults, nothing changes.
        let bytes = vec![7u8; 100];
        super::prefetch(&[]);
        super::prefetch(&bytes[99..]);
        super::prefetch(&bytes);
        assert!(bytes.iter().all(|b| *b == 7));
    }

    /// A mapped file cut short under the reader: the read past its new end faults, and the
    /// process stops with the message and status 74 instead of dying of SIGBUS. Run in a
    /// child process (this test binary again), which the fault ends.
    #[test]
    fn a_mapped_file_cut_short_stops_with_a_clear_error() {
        const CHILD: &str = "C2WATCH_TEST_SIGBUS_FILE";
        if let Some(path) = std::env::var_os(CHILD) {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap();
            let map = super::Mapping::of_file(&file, 1 << 20).unwrap();
            assert_eq!(map.bytes()[1 << 19], 7);
            file.set_len(0).unwrap();
            let after = std::hint::black_box(map.bytes())[1 << 19];
            panic!("read {after} from a mapping cut short, expected a fault");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.pcap");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sys::tests::a_mapped_file_cut_short_stops_with_a_clear_error",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, &path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{stderr}");
        assert!(stderr.contains("could not be read any further"), "{stderr}");
    }

    /// Resident kB of the mapping starting at `addr`, from /proc/self/smaps.
    fn resident_kb(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{addr:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
        lines
            .find_map(|l| l.strip_prefix("Rss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Released pages leave the process's resident size, and read back the same.
    #[test]
    fn a_released_stretch_of_a_mapping_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let data: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let map = super::Mapping::of_file(&file, data.len()).unwrap();
        assert!(map.bytes() == &data[..]);
        let addr = map.bytes().as_ptr() as usize;
        let before = resident_kb(addr);
        assert!(
            before >= 7 << 10,
            "{before} kB resident after reading 8 MiB"
        );
        assert_eq!(map.release(0, 8 << 20), 8 << 20);
        let after = resident_kb(addr);
        assert!(after <= 2 << 10, "{after} kB resident after releasing");
        assert!(map.bytes() == &data[..]);
    }

    #[test]
    fn huge_page_advice_keeps_contents() {
        // Large enough to hold whole 2 MiB pages wherever the allocator puts it; a collapse
        // copies pages into a huge page, and every byte must read the same afterwards.
        let mut v: Vec<u64> = Vec::with_capacity(1 << 20);
        super::advise_huge_pages(&v);
        v.extend((0..1u64 << 20).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        super::collapse_huge_pages(&v);
        assert!(
            v.iter()
                .enumerate()
                .all(|(i, x)| *x == (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        );
        // Empty and small buffers hold no whole huge page: nothing to do, nothing fails.
        super::advise_huge_pages(&Vec::<u8>::new());
        super::collapse_huge_pages(&[1u8, 2, 3]);
    }
}
