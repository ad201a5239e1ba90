//! Where events go: one or more sinks (`[[output]]` in the config), all written by the output
//! thread, never by capture workers.
//!
//! - `stdout`, `file` (append, reopened after SIGHUP, optional size rotation): a write error
//!   ends the run, as losing the only local copy must not go unnoticed.
//! - `syslog` (RFC 5424 over UDP, TCP with octet counting, or TLS) and `unix` (a datagram
//!   socket): a receiver that is down never stops the run; its events wait in a bounded
//!   on-disk spool and are delivered in order when it is back. Queue size and drops are in
//!   the `stats` events.

pub mod file;
pub mod network;
pub mod spool;
pub mod syslog;
pub mod transport;

use network::{Framing, NetSink};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How a syslog sink reaches its receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    Tls,
}

/// What a spooling sink needs: where its queue lives, how large it may grow, how often the
/// receiver is retried.
#[derive(Clone, Debug, PartialEq)]
pub struct SpoolSpec {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub retry: Duration,
}

/// One checked `[[output]]` entry (or `-o PATH`).
#[derive(Clone, Debug, PartialEq)]
pub enum SinkSpec {
    Stdout,
    File {
        path: PathBuf,
        append: bool,
        rotation: Option<file::Rotation>,
    },
    Syslog {
        name: String,
        address: String,
        proto: Proto,
        facility: u8,
        app_name: String,
        hostname: Option<String>,
        /// TLS: PEM file of the CA certificates to trust (default: the system's).
        ca_file: Option<PathBuf>,
        /// TLS: the name the receiver's certificate must carry (default: the address's host).
        server_name: Option<String>,
        spool: SpoolSpec,
    },
    Unix {
        name: String,
        path: PathBuf,
        spool: SpoolSpec,
    },
}

enum Out {
    Writer(Box<dyn Write + Send>),
    File(file::FileSink),
    Net(Box<NetSink>),
}

/// Every sink of a run.
pub struct Sinks {
    outs: Vec<Out>,
    /// Set by SIGHUP: files are reopened before the next write.
    reopen: Option<Arc<AtomicBool>>,
    written: u64,
}

fn tls_client(
    address: &str,
    ca_file: Option<&PathBuf>,
    server_name: Option<&str>,
) -> Result<transport::TlsClient, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(p) => {
            let certs = CertificateDer::pem_file_iter(p)
                .map_err(|e| format!("ca_file {}: {e}", p.display()))?;
            for c in certs {
                let c = c.map_err(|e| format!("ca_file {}: {e}", p.display()))?;
                roots
                    .add(c)
                    .map_err(|e| format!("ca_file {}: {e}", p.display()))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate to verify the syslog receiver with: set ca_file".into());
    }
    let host = match server_name {
        Some(n) => n.to_string(),
        None => address
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
            .unwrap_or_else(|| address.to_string()),
    };
    let server_name =
        ServerName::try_from(host.clone()).map_err(|e| format!("server_name {host:?}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(transport::TlsClient {
        config: Arc::new(config),
        server_name,
    })
}

fn open_spool(name: &str, s: &SpoolSpec) -> Result<spool::Spool, String> {
    spool::Spool::open(&s.dir, s.max_bytes).map_err(|e| {
        format!(
            "output {name}: cannot open its spool {}: {e}",
            s.dir.display()
        )
    })
}

impl Sinks {
    /// Opens every sink; `reopen` (set by SIGHUP) makes files reopen before the next write.
    pub fn open(specs: &[SinkSpec], reopen: Option<Arc<AtomicBool>>) -> Result<Sinks, String> {
        let mut outs = Vec::with_capacity(specs.len());
        for s in specs {
            outs.push(match s {
                SinkSpec::Stdout => Out::Writer(Box::new(io::BufWriter::with_capacity(
                    1 << 20,
                    io::stdout(),
                ))),
                SinkSpec::File {
                    path,
                    append,
                    rotation,
                } => Out::File(file::FileSink::open(path, *append, *rotation)?),
                SinkSpec::Syslog {
                    name,
                    address,
                    proto,
                    facility,
                    app_name,
                    hostname,
                    ca_file,
                    server_name,
                    spool,
                } => {
                    let (kind, t): (&'static str, Box<dyn transport::Transport>) = match proto {
                        Proto::Udp => ("syslog-udp", Box::new(transport::Udp::new(address))),
                        Proto::Tcp => ("syslog-tcp", Box::new(transport::Stream::tcp(address))),
                        Proto::Tls => {
                            let c = tls_client(address, ca_file.as_ref(), server_name.as_deref())
                                .map_err(|e| format!("output {name}: {e}"))?;
                            ("syslog-tls", Box::new(transport::Stream::tls(address, c)))
                        }
                    };
                    let header = syslog::Header::new(*facility, hostname.as_deref(), app_name);
                    Out::Net(Box::new(NetSink::new(
                        name.clone(),
                        kind,
                        address.clone(),
                        t,
                        Framing::Syslog(header),
                        open_spool(name, spool)?,
                        spool.retry,
                    )))
                }
                SinkSpec::Unix { name, path, spool } => Out::Net(Box::new(NetSink::new(
                    name.clone(),
                    "unix",
                    path.display().to_string(),
                    Box::new(transport::Unix::new(path.clone())),
                    Framing::Json,
                    open_spool(name, spool)?,
                    spool.retry,
                ))),
            });
        }
        Ok(Sinks {
            outs,
            reopen,
            written: 0,
        })
    }

    fn maybe_reopen(&mut self) -> io::Result<()> {
        if let Some(r) = &self.reopen
            && r.swap(false, Ordering::Relaxed)
        {
            for o in &mut self.outs {
                if let Out::File(f) = o {
                    f.reopen()?;
                }
            }
        }
        Ok(())
    }

    /// Sends one event (its JSON, without newline) to every sink.
    pub fn send(&mut self, event_type: &str, json: &[u8]) -> io::Result<()> {
        self.maybe_reopen()?;
        self.written += 1;
        for o in &mut self.outs {
            match o {
                Out::Writer(w) => {
                    w.write_all(json)?;
                    w.write_all(b"\n")?;
                }
                Out::File(f) => f.line(json).map_err(|e| {
                    io::Error::new(e.kind(), format!("{}: {e}", f.path().display()))
                })?,
                Out::Net(n) => n.send(event_type, json),
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        for o in &mut self.outs {
            match o {
                Out::Writer(w) => w.flush()?,
                Out::File(f) => f.flush()?,
                Out::Net(_) => {}
            }
        }
        self.maybe_reopen()
    }

    /// True while a network sink holds spooled events (the output thread then wakes up to
    /// retry even when no event comes).
    pub fn backlog(&self) -> bool {
        self.outs
            .iter()
            .any(|o| matches!(o, Out::Net(n) if n.backlog()))
    }

    /// Retries the receivers whose retry time has come.
    pub fn retry(&mut self) {
        for o in &mut self.outs {
            if let Out::Net(n) = o {
                n.retry(false);
            }
        }
    }

    /// Tries every receiver with spooled events now, whatever its retry time.
    pub fn retry_now(&mut self) {
        for o in &mut self.outs {
            if let Out::Net(n) = o {
                n.retry(true);
            }
        }
    }

    /// End of the run: flush, and one last delivery attempt for spooled events.
    pub fn finish(&mut self) -> io::Result<()> {
        for o in &mut self.outs {
            if let Out::Net(n) = o {
                n.finish();
            }
        }
        self.flush()
    }

    /// Per-sink counters for `stats` events (network and file sinks).
    pub fn stats(&self) -> Vec<Value> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Out::Net(n) => Some(n.stats()),
                Out::File(f) => Some(json!({
                    "type": "file", "target": f.path().display().to_string(),
                    "written": self.written, "rotations": f.rotations,
                })),
                Out::Writer(_) => None,
            })
            .collect()
    }
}
