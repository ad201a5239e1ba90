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

/// Asks the CPU to fetch the cache line holding the start of `bytes` (and the next one) into
/// its caches ahead of use. A hint only: no effect on what the program computes, nothing on
/// an empty slice or another architecture.
#[inline(always)]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        if let Some(first) = bytes.first() {
            let p = std::ptr::from_ref(first).cast::<i8>();
            // SAFETY: `prefetch` needs SSE, which every x86_64 CPU has (it is part of the
            // target's baseline), and it never dereferences its address: a prefetch of any
            // address, even one past the slice, cannot fault or change memory.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p);
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
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
