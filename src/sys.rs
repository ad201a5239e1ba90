//! The few system calls c2watch makes beyond what std and libpcap offer, and one CPU hint
//! (a cache prefetch), each behind a safe wrapper. This is the only module allowed `unsafe`:
//! one block per call, each with the reason it is sound.
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
}
