//! A sink that sends each event to a receiver over the network (syslog) or a Unix socket,
//! and keeps what it cannot deliver in an on-disk spool.
//!
//! Invariant: events reach the receiver in the order they were written. Once one event is in
//! the spool, every later one goes behind it until the spool is empty again; the spool is
//! retried every `retry` (wall-clock time: this is about the receiver, not the packets).

use super::spool::Spool;
use super::syslog;
use super::transport::Transport;
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::io;
use std::time::{Duration, Instant};

/// How a message is made from an event.
pub enum Framing {
    /// RFC 5424 with the JSON as the message.
    Syslog(syslog::Header),
    /// The JSON alone.
    Json,
}

pub struct NetSink {
    pub name: String,
    kind: &'static str,
    target: String,
    transport: Box<dyn Transport>,
    framing: Framing,
    spool: Spool,
    retry: Duration,
    next_try: Instant,
    /// Delivered at once / delivered from the spool / undeliverable (too large to send).
    sent: u64,
    redelivered: u64,
    rejected: u64,
    outages: u64,
    last_error: Option<String>,
}

impl NetSink {
    pub fn new(
        name: String,
        kind: &'static str,
        target: String,
        transport: Box<dyn Transport>,
        framing: Framing,
        spool: Spool,
        retry: Duration,
    ) -> NetSink {
        if !spool.is_empty() {
            tracing::info!(
                "output {name}: {} event(s) from an earlier run wait in the spool; they go first",
                spool.events()
            );
        }
        NetSink {
            name,
            kind,
            target,
            transport,
            framing,
            spool,
            retry,
            next_try: Instant::now(),
            sent: 0,
            redelivered: 0,
            rejected: 0,
            outages: 0,
            last_error: None,
        }
    }

    fn message(&self, event_type: &str, json: &[u8]) -> Vec<u8> {
        match &self.framing {
            Framing::Syslog(h) => h.message(event_type, json, Timestamp::now()),
            Framing::Json => json.to_vec(),
        }
    }

    /// A message the receiver can never take (too large for a datagram): retrying it would
    /// block every later one.
    fn undeliverable(e: &io::Error) -> bool {
        e.raw_os_error() == Some(libc::EMSGSIZE)
    }

    fn down(&mut self, e: &io::Error) {
        if self.last_error.is_none() {
            self.outages += 1;
            tracing::warn!(
                "output {} ({} {}) is down: {e}; spooling events until it is back",
                self.name,
                self.kind,
                self.target
            );
        }
        self.last_error = Some(e.to_string());
        self.next_try = Instant::now() + self.retry;
    }

    fn up(&mut self) {
        if self.last_error.take().is_some() {
            tracing::info!(
                "output {} ({} {}) is back",
                self.name,
                self.kind,
                self.target
            );
        }
    }

    pub fn send(&mut self, event_type: &str, json: &[u8]) {
        let msg = self.message(event_type, json);
        if self.spool.is_empty() && self.last_error.is_none() {
            let sent = if self.transport.connected() {
                Ok(())
            } else {
                self.transport.connect()
            }
            .and_then(|()| self.transport.send(&msg));
            match sent {
                Ok(()) => {
                    self.sent += 1;
                    return;
                }
                Err(e) if Self::undeliverable(&e) => {
                    self.reject(&e, msg.len());
                    return;
                }
                Err(e) => self.down(&e),
            }
        }
        if !self.spool.push(&msg) && self.spool.dropped.is_power_of_two() {
            tracing::error!(
                "output {}: the spool is full; {} event(s) dropped so far",
                self.name,
                self.spool.dropped
            );
        }
        self.retry(false);
    }

    fn reject(&mut self, e: &io::Error, len: usize) {
        self.rejected += 1;
        tracing::error!(
            "output {}: an event of {len} bytes cannot be sent ({e}); dropped",
            self.name
        );
    }

    /// True while events wait in the spool.
    pub fn backlog(&self) -> bool {
        !self.spool.is_empty()
    }

    /// Tries to deliver the spool when its retry time has come (or at once with `now`).
    pub fn retry(&mut self, now: bool) {
        if self.spool.is_empty() || (!now && Instant::now() < self.next_try) {
            return;
        }
        if !self.transport.connected()
            && let Err(e) = self.transport.connect()
        {
            self.down(&e);
            return;
        }
        let (transport, mut rejected) = (&mut self.transport, Vec::new());
        let drained = self.spool.drain(|m| match transport.send(m) {
            Err(e) if Self::undeliverable(&e) => {
                rejected.push((e, m.len()));
                Ok(())
            }
            other => other,
        });
        for (e, len) in rejected {
            self.reject(&e, len);
        }
        match drained {
            Ok((n, failure)) => {
                self.redelivered += n;
                match failure {
                    Some(e) => self.down(&e),
                    None => {
                        self.up();
                        if n > 0 {
                            tracing::info!(
                                "output {}: delivered {n} spooled event(s) in order",
                                self.name
                            );
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!("output {}: cannot read its spool: {e}", self.name);
                self.next_try = Instant::now() + self.retry;
            }
        }
    }

    /// The end of the run: one last try; what is left stays in the spool for the next run.
    pub fn finish(&mut self) {
        self.retry(true);
        if self.backlog() {
            tracing::warn!(
                "output {} ({} {}): {} event(s) left in the spool for the next run",
                self.name,
                self.kind,
                self.target,
                self.spool.events()
            );
        }
    }

    pub fn stats(&self) -> Value {
        json!({
            "name": self.name, "type": self.kind, "target": self.target,
            "up": self.last_error.is_none(),
            "sent": self.sent, "delivered_from_spool": self.redelivered,
            "spooled": self.spool.spooled, "queued": self.spool.events(),
            "queued_bytes": self.spool.bytes(), "dropped": self.spool.dropped + self.rejected,
            "outages": self.outages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn a_unix_receiver_that_comes_late_gets_everything_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("eve.sock");
        let spool = Spool::open(&dir.path().join("spool"), 1 << 20).expect("spool");
        let mut sink = NetSink::new(
            "siem".into(),
            "unix",
            path.display().to_string(),
            Box::new(super::super::transport::Unix::new(path.clone())),
            Framing::Json,
            spool,
            Duration::ZERO,
        );
        sink.send("alert", b"{\"n\":1}");
        sink.send("alert", b"{\"n\":2}");
        assert!(sink.backlog());
        assert_eq!(sink.stats()["queued"], 2);
        let rx = UnixDatagram::bind(&path).expect("bind");
        sink.send("alert", b"{\"n\":3}");
        let mut got = Vec::new();
        let mut b = [0u8; 64];
        for _ in 0..3 {
            let n = rx.recv(&mut b).expect("recv");
            got.push(String::from_utf8_lossy(&b[..n]).into_owned());
        }
        assert_eq!(got, [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
        let s = sink.stats();
        assert_eq!(
            (s["queued"].as_u64(), s["outages"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(
            s["delivered_from_spool"], 3,
            "the third waited behind the first two"
        );
        sink.send("alert", b"{\"n\":4}");
        assert_eq!(sink.stats()["sent"], 1);
    }
}
