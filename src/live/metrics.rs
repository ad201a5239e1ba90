//! A Prometheus text-format endpoint (`--metrics-listen ADDR:PORT`): the capture counters per
//! interface and worker, the output's alert counters, the indicator set, each feed's age and
//! status, and the "keeping up" drop ratio. Plain HTTP/1.x, one short request per connection.

use super::board::Board;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

/// Binds `addr` (before privileges are dropped, so a low port works; a busy port is a
/// start-up error).
pub fn bind(addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .map_err(|e| format!("--metrics-listen {addr}: cannot listen there: {e}"))
}

/// Serves `board` on `listener` from a thread of its own.
pub fn serve(listener: TcpListener, board: Arc<Board>) -> Result<SocketAddr, String> {
    let local = listener
        .local_addr()
        .map_err(|e| format!("metrics listener: {e}"))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if let Err(e) = answer(conn, &board) {
                    tracing::debug!("metrics request: {e}");
                }
            }
        })
        .map_err(|e| format!("cannot start the metrics thread: {e}"))?;
    tracing::info!("metrics on http://{local}/metrics");
    Ok(local)
}

fn answer(mut conn: TcpStream, board: &Board) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(board),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "metrics are at /metrics\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        ),
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

/// A label value with `\`, `"` and newlines escaped.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{name}");
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// The exposition text for the board as it is now.
pub fn render(board: &Board) -> String {
    let mut out = String::with_capacity(4096);
    let mut f = Family { out: &mut out };
    let workers = board.reports();
    type Get = fn(&super::board::WorkerReport) -> u64;
    let per_worker: [(&str, &str, &str, Get); 12] = [
        ("c2watch_packets_total", "counter", "Packets read.", |r| {
            r.packets
        }),
        (
            "c2watch_bytes_total",
            "counter",
            "Bytes on the wire of the packets read.",
            |r| r.bytes,
        ),
        (
            "c2watch_kernel_drops_total",
            "counter",
            "Packets the kernel dropped because the capture ring was full (c2watch did not keep up).",
            |r| r.pcap.kernel_drops,
        ),
        (
            "c2watch_interface_drops_total",
            "counter",
            "Packets dropped by the interface or its driver.",
            |r| r.pcap.if_drops,
        ),
        (
            "c2watch_pcap_received_total",
            "counter",
            "Packets the kernel passed the capture filter.",
            |r| r.pcap.received,
        ),
        (
            "c2watch_decode_errors_total",
            "counter",
            "Packets that could not be decoded.",
            |r| r.decode_errors(),
        ),
        (
            "c2watch_flows_created_total",
            "counter",
            "Flows created.",
            |r| r.work.flows_created,
        ),
        (
            "c2watch_flows_evicted_total",
            "counter",
            "Flows evicted because the flow table was full.",
            |r| r.work.flows_evicted,
        ),
        (
            "c2watch_flows_active",
            "gauge",
            "Flows in the table.",
            |r| r.active_flows,
        ),
        (
            "c2watch_alert_candidates_total",
            "counter",
            "Alerts raised by the worker, before deduplication.",
            |r| r.work.alert_candidates,
        ),
        (
            "c2watch_output_queue_full_total",
            "counter",
            "Times the queue to the output thread was full.",
            |r| r.queue_full,
        ),
        (
            "c2watch_records_dropped_total",
            "counter",
            "Alerts and flow records dropped because the output stayed behind.",
            |r| r.records_dropped,
        ),
    ];
    for (name, kind, help, get) in per_worker {
        f.head(name, kind, help);
        for r in &workers {
            let w = r.index.to_string();
            f.sample(
                name,
                &[("interface", &r.iface), ("worker", &w)],
                get(r) as f64,
            );
        }
    }
    let o = &board.output;
    for (name, help, v) in [
        (
            "c2watch_alerts_total",
            "Alerts written.",
            o.alerts.load(Relaxed),
        ),
        (
            "c2watch_alerts_suppressed_total",
            "Duplicate alerts suppressed by the dedup window.",
            o.suppressed.load(Relaxed),
        ),
        (
            "c2watch_alerts_expired_indicator_total",
            "Matches not alerted: the indicator was outside its validity at packet time.",
            o.expired.load(Relaxed),
        ),
        (
            "c2watch_warning_events_total",
            "Warning events written (feeds).",
            o.events.load(Relaxed),
        ),
    ] {
        f.head(name, "counter", help);
        f.sample(name, &[], v as f64);
    }
    let set = board.snapshot.load();
    f.head(
        "c2watch_indicators",
        "gauge",
        "Indicators in the set in use.",
    );
    f.sample("c2watch_indicators", &[], set.len() as f64);
    f.head(
        "c2watch_indicator_generation",
        "gauge",
        "Generation of the indicator set in use (goes up at every reload).",
    );
    f.sample("c2watch_indicator_generation", &[], set.generation() as f64);
    f.head(
        "c2watch_drop_ratio",
        "gauge",
        "Keeping up: packets dropped / received over the last interval (0 = keeping up).",
    );
    f.sample("c2watch_drop_ratio", &[], board.drop_ratio());
    f.head(
        "c2watch_uptime_seconds",
        "gauge",
        "Seconds since capture started.",
    );
    f.sample(
        "c2watch_uptime_seconds",
        &[],
        board.started.elapsed().as_secs_f64().round(),
    );
    let feeds = match board.feeds.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let now = SystemTime::now();
    f.head(
        "c2watch_feed_age_seconds",
        "gauge",
        "Seconds since the feed was last updated.",
    );
    for r in &feeds {
        if let Some(age) = r.modified.and_then(|m| now.duration_since(m).ok()) {
            f.sample(
                "c2watch_feed_age_seconds",
                &[("feed", &r.name), ("source", &r.path)],
                age.as_secs() as f64,
            );
        }
    }
    for (name, help, get) in [
        (
            "c2watch_feed_stale",
            "1 when the feed's last refresh failed and its last good copy is in use.",
            (|r, _| u64::from(r.stale.is_some()))
                as fn(&crate::intel::feed::FeedReport, SystemTime) -> u64,
        ),
        (
            "c2watch_feed_too_old",
            "1 when the feed is older than its max_age.",
            |r, now| u64::from(r.too_old(now).is_some()),
        ),
        ("c2watch_feed_entries", "Entries the feed gave.", |r, _| {
            r.entries
        }),
    ] {
        f.head(name, "gauge", help);
        for r in &feeds {
            f.sample(
                name,
                &[("feed", &r.name), ("source", &r.path)],
                get(r, now) as f64,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::IndicatorSet;
    use crate::intel::manager::FeedBoard;
    use crate::live::board::WorkerReport;
    use arc_swap::ArcSwap;

    #[test]
    fn exposition_has_labels_help_and_escaping() {
        let snapshot = Arc::new(ArcSwap::from_pointee(IndicatorSet::default()));
        let feeds = FeedBoard::default();
        feeds
            .lock()
            .expect("lock")
            .push(crate::intel::feed::FeedReport {
                name: "we\"ird".into(),
                path: "/x".into(),
                entries: 7,
                stale: Some("down".into()),
                ..Default::default()
            });
        let board = Arc::new(Board::new(&[("eth0".into(), 1, true)], snapshot, feeds));
        board.publish(
            0,
            &WorkerReport {
                packets: 42,
                ..WorkerReport::default()
            },
        );
        let text = render(&board);
        assert!(
            text.contains("# TYPE c2watch_packets_total counter"),
            "{text}"
        );
        assert!(
            text.contains("c2watch_packets_total{interface=\"eth0\",worker=\"1\"} 42"),
            "{text}"
        );
        assert!(
            text.contains("c2watch_feed_stale{feed=\"we\\\"ird\",source=\"/x\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("c2watch_feed_entries{feed=\"we\\\"ird\",source=\"/x\"} 7"),
            "{text}"
        );
        assert!(text.contains("c2watch_drop_ratio 0"), "{text}");
    }

    #[test]
    fn serves_over_http() {
        let snapshot = Arc::new(ArcSwap::from_pointee(IndicatorSet::default()));
        let board = Arc::new(Board::new(&[], snapshot, FeedBoard::default()));
        let addr = serve(bind("127.0.0.1:0").expect("bind"), board).expect("serve");
        let get = |path: &str| {
            let mut c = TcpStream::connect(addr).expect("connect");
            write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
            let mut s = String::new();
            c.read_to_string(&mut s).expect("read");
            s
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.contains("c2watch_indicators 0"), "{ok}");
        assert!(get("/").starts_with("HTTP/1.1 404"));
        let busy = bind(&addr.to_string()).expect_err("a busy port is an error");
        assert!(busy.contains("cannot listen there"), "{busy}");
    }
}
