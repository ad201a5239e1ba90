//! The few system calls c2watch makes beyond what std and libpcap offer, each behind a safe
//! wrapper. This is the only module allowed `unsafe`: one block per call, each with the
//! reason it is sound.
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
