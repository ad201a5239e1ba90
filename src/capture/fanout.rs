//! Linux `PACKET_FANOUT`: several packet sockets on one interface share its traffic, each
//! packet going to exactly one of them. In hash mode the kernel picks the socket from a
//! symmetric flow hash (`__skb_get_hash_symmetric`), so both directions of a flow reach the
//! same socket — the same c2watch worker. With the defrag flag, IP fragments are reassembled
//! before hashing, so a fragmented datagram is not split either.
//!
//! The first handle creates the group with `PACKET_FANOUT_FLAG_UNIQUEID`, so the kernel picks
//! an id no other socket uses (two processes with the same id would silently share traffic).
//!
//! libpcap opens and binds the socket; joining the group happens afterwards on its descriptor
//! (`pcap_fileno`), which is what the kernel allows: a socket joins once it is bound.

use std::io;
use std::os::fd::RawFd;

/// `PACKET_FANOUT` socket option (linux/if_packet.h).
const PACKET_FANOUT: libc::c_int = 18;
/// Mode: by symmetric flow hash.
const PACKET_FANOUT_HASH: u32 = 0;
/// Flag: reassemble IP fragments before hashing.
const PACKET_FANOUT_FLAG_DEFRAG: u32 = 0x8000;

/// Flag: the kernel picks a group id no other socket uses (Linux 4.19 and later).
const PACKET_FANOUT_FLAG_UNIQUEID: u32 = 0x2000;

/// Fallback group id for kernels without unique ids: derived from this process and the
/// interface, so two c2watch instances on one interface do not share a group by accident.
pub fn group_id(ifindex: u32) -> u16 {
    let pid = std::process::id();
    ((pid.wrapping_mul(0x9e37) ^ ifindex.wrapping_mul(0x2f1)) & 0xffff) as u16
}

fn arg(group: u16, flags: u32) -> u32 {
    u32::from(group) | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG | flags) << 16
}

/// Makes `fd` the first member of a new fanout group in hash mode and returns the group's
/// id, for the interface's other handles to [`join`]. The kernel picks an id no other
/// socket (of any process) uses; older kernels get one from [`group_id`].
pub fn create(fd: RawFd, ifindex: u32) -> io::Result<u16> {
    let unique = crate::sys::setsockopt_u32(
        fd,
        libc::SOL_PACKET,
        PACKET_FANOUT,
        arg(0, PACKET_FANOUT_FLAG_UNIQUEID),
    );
    match unique {
        Ok(()) => {
            let v = crate::sys::getsockopt_u32(fd, libc::SOL_PACKET, PACKET_FANOUT)?;
            Ok((v & 0xffff) as u16)
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let id = group_id(ifindex);
            join(fd, id)?;
            Ok(id)
        }
        Err(e) => Err(e),
    }
}

/// Joins the packet socket `fd` to fanout group `group` in hash mode.
pub fn join(fd: RawFd, group: u16) -> io::Result<()> {
    crate::sys::setsockopt_u32(fd, libc::SOL_PACKET, PACKET_FANOUT, arg(group, 0))
}

/// The interface's index, from sysfs (0 when unknown).
pub fn ifindex(name: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_a_non_packet_socket_is_an_error_not_a_crash() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
        assert!(join(fd, 7).is_err());
        assert!(join(-1, 7).is_err());
        assert!(create(fd, 1).is_err());
    }

    #[test]
    fn group_ids_differ_per_interface() {
        assert_ne!(group_id(2), group_id(3));
        assert_eq!(ifindex("no-such-interface-c2w"), 0);
    }
}
