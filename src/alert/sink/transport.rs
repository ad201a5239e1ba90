//! The connections a network sink sends its messages over: UDP, TCP, TLS and Unix datagram
//! sockets. Each knows whether it is connected, and reports a message it could not hand to
//! the receiver as an error, so the sink spools it instead of losing it.
//!
//! What "delivered" can mean differs:
//! - UDP: a message is delivered when the send succeeds and no ICMP error came back. On
//!   loopback and local links the error is reported at once (checked after each send); from
//!   a far receiver it arrives later and the message it concerns is lost (UDP syslog has no
//!   acknowledgements).
//! - TCP and TLS: before each message the socket is checked for the receiver's close (it never
//!   sends anything on a syslog connection), so a receiver that stopped is noticed before a
//!   message goes into a dead connection. Messages the receiver had not read when it stopped
//!   are lost with it: plain syslog has no application acknowledgements (RELP would).
//! - Unix datagram: the kernel delivers or refuses each message.

use super::syslog::octet_counted;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a connection attempt or a blocked send may take before the receiver counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub trait Transport: Send {
    fn connected(&self) -> bool;
    /// Opens the connection.
    fn connect(&mut self) -> io::Result<()>;
    /// Sends one message; on error the connection is closed.
    fn send(&mut self, msg: &[u8]) -> io::Result<()>;
}

fn resolve(address: &str) -> io::Result<SocketAddr> {
    address.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{address}: no address found"),
        )
    })
}

pub struct Udp {
    address: String,
    socket: Option<UdpSocket>,
}

impl Udp {
    pub fn new(address: &str) -> Udp {
        Udp {
            address: address.into(),
            socket: None,
        }
    }
}

impl Transport for Udp {
    fn connected(&self) -> bool {
        self.socket.is_some()
    }

    fn connect(&mut self) -> io::Result<()> {
        let to = resolve(&self.address)?;
        let local: SocketAddr = if to.is_ipv4() {
            ([0u8; 4], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let s = UdpSocket::bind(local)?;
        s.connect(to)?;
        s.set_write_timeout(Some(SEND_TIMEOUT))?;
        self.socket = Some(s);
        Ok(())
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        let Some(s) = &self.socket else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        // An ICMP error the receiver's host sent for an earlier message, or (on loopback) for
        // this one, is pending on the socket.
        let sent = s.take_error().and_then(|pending| match pending {
            Some(e) => Err(e),
            None => s.send(msg).map(drop),
        });
        let sent = sent.and_then(|()| match s.take_error()? {
            Some(e) => Err(e),
            None => Ok(()),
        });
        if sent.is_err() {
            self.socket = None;
        }
        sent
    }
}

/// A byte stream to the receiver (TCP, or TLS over TCP), written with octet counting.
pub struct Stream {
    address: String,
    tls: Option<Arc<TlsClient>>,
    conn: Option<Conn>,
}

/// What a TLS stream needs: the client settings and the name the certificate must carry.
pub struct TlsClient {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: rustls::pki_types::ServerName<'static>,
}

enum Conn {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    pub fn tcp(address: &str) -> Stream {
        Stream {
            address: address.into(),
            tls: None,
            conn: None,
        }
    }

    pub fn tls(address: &str, client: TlsClient) -> Stream {
        Stream {
            address: address.into(),
            tls: Some(Arc::new(client)),
            conn: None,
        }
    }
}

/// True when the receiver closed its end (or the socket failed): it never sends on a syslog
/// connection, so anything readable but TLS records means the end of it.
fn closed(conn: &mut Conn) -> bool {
    let tcp = match conn {
        Conn::Tcp(t) => t,
        Conn::Tls(s) => &s.sock,
    };
    if tcp.set_nonblocking(true).is_err() {
        return true;
    }
    let gone = match conn {
        Conn::Tcp(t) => {
            let mut b = [0u8; 1];
            match t.peek(&mut b) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            }
        }
        Conn::Tls(s) => loop {
            let (c, sock) = (&mut s.conn, &mut s.sock);
            match c.read_tls(sock) {
                Ok(0) => break true,
                Ok(_) => match c.process_new_packets() {
                    Ok(state) if state.peer_has_closed() => break true,
                    Ok(_) => {
                        // Session tickets and the like: drop any plaintext and keep going.
                        let mut sink = Vec::new();
                        let _ = c.reader().read_to_end(&mut sink);
                    }
                    Err(_) => break true,
                },
                Err(e) => break e.kind() != io::ErrorKind::WouldBlock,
            }
        },
    };
    let tcp = match conn {
        Conn::Tcp(t) => t,
        Conn::Tls(s) => &s.sock,
    };
    gone || tcp.set_nonblocking(false).is_err()
}

impl Transport for Stream {
    fn connected(&self) -> bool {
        self.conn.is_some()
    }

    fn connect(&mut self) -> io::Result<()> {
        let to = resolve(&self.address)?;
        let tcp = TcpStream::connect_timeout(&to, CONNECT_TIMEOUT)?;
        tcp.set_nodelay(true)?;
        tcp.set_write_timeout(Some(SEND_TIMEOUT))?;
        tcp.set_read_timeout(Some(SEND_TIMEOUT))?;
        let conn = match &self.tls {
            None => Conn::Tcp(tcp),
            Some(t) => {
                let c = rustls::ClientConnection::new(t.config.clone(), t.server_name.clone())
                    .map_err(io::Error::other)?;
                let mut s = rustls::StreamOwned::new(c, tcp);
                // Finish the handshake now, so a certificate problem shows at connect time.
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock)?;
                }
                Conn::Tls(Box::new(s))
            }
        };
        self.conn = Some(conn);
        Ok(())
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        let Some(conn) = &mut self.conn else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let sent = if closed(conn) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the receiver closed the connection",
            ))
        } else {
            let frame = octet_counted(msg);
            match conn {
                Conn::Tcp(t) => t.write_all(&frame),
                Conn::Tls(s) => s.write_all(&frame).and_then(|()| s.flush()),
            }
        };
        if sent.is_err() {
            self.conn = None;
        }
        sent
    }
}

pub struct Unix {
    path: PathBuf,
    socket: Option<UnixDatagram>,
}

impl Unix {
    pub fn new(path: PathBuf) -> Unix {
        Unix { path, socket: None }
    }
}

impl Transport for Unix {
    fn connected(&self) -> bool {
        self.socket.is_some()
    }

    fn connect(&mut self) -> io::Result<()> {
        let s = UnixDatagram::unbound()?;
        s.connect(&self.path)?;
        s.set_write_timeout(Some(SEND_TIMEOUT))?;
        self.socket = Some(s);
        Ok(())
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        let Some(s) = &self.socket else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        let sent = s.send(msg).map(drop);
        if sent.is_err() {
            self.socket = None;
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_to_a_closed_port_on_loopback_is_refused_at_once() {
        // A port nobody listens on: bind one, note it, close it.
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("port")
            .port();
        let mut u = Udp::new(&format!("127.0.0.1:{port}"));
        u.connect().expect("connect");
        assert!(u.send(b"lost?").is_err(), "refusal seen for this message");
        assert!(!u.connected());
        let r = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let mut u = Udp::new(&r.local_addr().expect("addr").to_string());
        u.connect().expect("connect");
        u.send(b"hello").expect("send");
        let mut b = [0u8; 16];
        let n = r.recv(&mut b).expect("recv");
        assert_eq!(&b[..n], b"hello");
    }

    #[test]
    fn tcp_notices_a_closed_receiver_before_sending() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let mut s = Stream::tcp(&l.local_addr().expect("addr").to_string());
        s.connect().expect("connect");
        let (mut peer, _) = l.accept().expect("accept");
        s.send(b"one").expect("send");
        let mut b = [0u8; 5];
        peer.read_exact(&mut b).expect("read");
        assert_eq!(&b, b"3 one");
        drop(peer);
        std::thread::sleep(Duration::from_millis(50));
        assert!(s.send(b"two").is_err(), "the close is seen before writing");
        assert!(!s.connected());
    }

    #[test]
    fn unix_datagram_fails_without_a_receiver() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sock");
        let mut u = Unix::new(path.clone());
        assert!(u.connect().is_err());
        let r = UnixDatagram::bind(&path).expect("bind");
        u.connect().expect("connect");
        u.send(b"{}").expect("send");
        let mut b = [0u8; 4];
        assert_eq!(r.recv(&mut b).expect("recv"), 2);
        drop(r);
        assert!(u.send(b"{}").is_err());
    }
}
