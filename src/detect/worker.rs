//! A detection worker: owns a flow table and matches each new flow against the current
//! indicator snapshot. No locks on the per-packet path; records go out in batches.

use super::dns_cache::SharedDnsCache;
use super::fault::Faults;
use super::flow::{EndReason, Flow, FlowKey, Side, TCP_ACK, TCP_SYN, Timeouts};
use super::flow_table::{FlowHasher, FlowTable, Lookup};
use super::homenet::HomeNet;
use super::inspect::{Finding, Inspect};
use super::victim::infer;
use crate::alert::record::{
    AlertRecord, AppInfo, Contact, Endpoint, FlowRecord, MatchedOn, RadiusRecord, Record, Sequenced,
};
use crate::app::{dns, quic, radius};
use crate::capture::Interfaces;
use crate::decode::Decoded;
use crate::intel::name::{MAX_NAME, wire_name};
use crate::intel::set::IndicatorRef;
use crate::intel::{IndicatorSet, Snapshot};
use crate::time::Timestamp;
use std::sync::Arc;

/// Settings every worker shares.
#[derive(Clone, Debug)]
pub struct DetectConfig {
    pub home_net: HomeNet,
    /// Seconds of packet time during which one (victim, indicator) pair alerts once.
    pub dedup_window: u64,
    /// Flow table capacity of each worker.
    pub max_flows: usize,
    pub timeouts: Timeouts,
    /// DNS answers remembered per worker (client, resolved address).
    pub dns_cache: usize,
    /// Read RADIUS accounting (UDP 1813, 1646) for the live subscriber map.
    pub radius: bool,
    /// Test hook (`C2WATCH_FAULT_PACKET`): panic while processing this packet (0-based).
    pub fault_packet: Option<u64>,
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            home_net: HomeNet::default_nets(),
            dedup_window: 3600,
            max_flows: 1 << 20,
            timeouts: Timeouts::default(),
            dns_cache: 1 << 18,
            radius: true,
            fault_packet: None,
        }
    }
}

/// Counters of one worker, merged into the run summary.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    pub packets: u64,
    pub bytes: u64,
    pub flows_created: u64,
    pub flows_timed_out: u64,
    pub flows_evicted: u64,
    pub flows_matched: u64,
    pub alert_candidates: u64,
    pub flow_records: u64,
    pub later_fragments: u64,
    pub dns_messages: u64,
    pub handshakes_inspected: u64,
    pub dns_errors: u64,
    /// RADIUS accounting messages read, and those that could not be.
    pub radius_messages: u64,
    pub radius_malformed: u64,
    /// Packets whose processing panicked (contained).
    pub faults: Faults,
    pub transport_truncated: u64,
    pub inner_invalid: u64,
}

impl WorkerStats {
    pub fn merge(&mut self, o: &WorkerStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.flows_created += o.flows_created;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_evicted += o.flows_evicted;
        self.flows_matched += o.flows_matched;
        self.alert_candidates += o.alert_candidates;
        self.flow_records += o.flow_records;
        self.later_fragments += o.later_fragments;
        self.dns_messages += o.dns_messages;
        self.handshakes_inspected += o.handshakes_inspected;
        self.dns_errors += o.dns_errors;
        self.radius_messages += o.radius_messages;
        self.radius_malformed += o.radius_malformed;
        self.faults.merge(&o.faults);
        self.transport_truncated += o.transport_truncated;
        self.inner_invalid += o.inner_invalid;
    }
}

/// Where a packet came from.
#[derive(Clone, Copy, Debug)]
pub struct PacketInfo {
    /// Position of the packet across all inputs.
    pub seq: u64,
    pub ts: Timestamp,
    pub iface: u16,
    pub orig_len: u32,
}

/// Detection state of a matched flow.
#[derive(Debug)]
pub struct Matched {
    contact: Arc<Contact>,
    last_alert: Timestamp,
}

pub struct Worker {
    dns: Arc<SharedDnsCache>,
    cfg: Arc<DetectConfig>,
    snapshot: Snapshot,
    current: Arc<IndicatorSet>,
    table: FlowTable<Matched>,
    ifaces: Interfaces,
    stats: WorkerStats,
}

impl Worker {
    pub fn new(cfg: Arc<DetectConfig>, snapshot: Snapshot, ifaces: Interfaces) -> Worker {
        let dns = Arc::new(SharedDnsCache::new(cfg.dns_cache));
        Worker::with_dns(cfg, snapshot, ifaces, dns)
    }

    /// A worker whose DNS answer cache is `dns`, shared with other workers (live capture).
    pub fn with_dns(
        cfg: Arc<DetectConfig>,
        snapshot: Snapshot,
        ifaces: Interfaces,
        dns: Arc<SharedDnsCache>,
    ) -> Worker {
        let current = snapshot.load_full();
        let table = FlowTable::new(cfg.max_flows, cfg.timeouts);
        Worker {
            dns,
            cfg,
            snapshot,
            current,
            table,
            ifaces,
            stats: WorkerStats::default(),
        }
    }

    /// Loads the current snapshot; called once per batch, not per packet.
    pub fn begin_batch(&mut self) {
        if self.snapshot.load().generation() != self.current.generation() {
            self.current = self.snapshot.load_full();
        }
    }

    /// The hash this worker's flow table files keys under: a thread that hands this worker
    /// packets can hash their flow keys (`FlowKey::of`, `FlowKey::of_plain`) for
    /// [`Worker::prefetch_flow_slot`] and [`Worker::prefetch_flow_entry`].
    pub fn flow_hasher(&self) -> FlowHasher {
        self.table.hasher()
    }

    /// The first read of a coming packet's flow lookup, asked for ahead of its turn (a hint).
    #[inline]
    pub fn prefetch_flow_slot(&self, hash: u64) {
        self.table.prefetch_slot(hash);
    }

    /// The second read of a coming packet's flow lookup (its entry), asked for ahead of its
    /// turn and after [`Worker::prefetch_flow_slot`] (a hint).
    #[inline]
    pub fn prefetch_flow_entry(&self, hash: u64) {
        self.table.prefetch_entry(hash);
    }

    /// Flows in the table now.
    pub fn active_flows(&self) -> usize {
        self.table.len()
    }

    pub fn stats(&self) -> WorkerStats {
        let mut s = self.stats.clone();
        s.flows_created = self.table.created;
        s.flows_timed_out = self.table.timed_out;
        s.flows_evicted = self.table.evicted;
        s
    }

    /// Processes one decoded packet and its transport payload; records it produces are
    /// appended to `out`.
    /// [`Worker::process`], with a panic contained: the packet is counted in
    /// `stats.faults` and processing goes on with the next one.
    #[inline]
    pub fn process_contained(
        &mut self,
        p: &PacketInfo,
        d: &Decoded,
        payload: &[u8],
        out: &mut Vec<Sequenced>,
    ) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.process(p, d, payload, out)
        }));
        if run.is_err() {
            self.stats.faults.record(p.seq);
        }
    }

    /// Faults contained around this worker's packets (decoding, for instance).
    pub fn faults_mut(&mut self) -> &mut Faults {
        &mut self.stats.faults
    }

    pub fn process(
        &mut self,
        p: &PacketInfo,
        d: &Decoded,
        payload: &[u8],
        out: &mut Vec<Sequenced>,
    ) {
        if self.cfg.fault_packet == Some(p.seq) {
            panic!(
                "injected fault at packet {} (C2WATCH_FAULT_PACKET)",
                p.seq + 1
            );
        }
        let Worker {
            cfg,
            current,
            table,
            ifaces,
            stats,
            dns,
            ..
        } = self;
        stats.packets += 1;
        stats.bytes += u64::from(p.orig_len);
        match d.fragment {
            crate::decode::Fragment::Later => stats.later_fragments += 1,
            _ if d.transport_truncated => stats.transport_truncated += 1,
            _ => {}
        }
        if d.inner_invalid {
            stats.inner_invalid += 1;
        }
        let seq = p.seq;
        let mut ended =
            |_k: FlowKey, f: Flow<Matched>, r: EndReason| end_flow(out, stats, seq, f, r);
        table.advance(p.ts, &mut ended);
        let (key, src_is_lo) = FlowKey::of(d);
        // A SYN-ACK seen first means the capture missed the SYN: its receiver is the initiator.
        let syn_ack = d.proto == 6 && d.tcp_flags & (TCP_SYN | TCP_ACK) == (TCP_SYN | TCP_ACK);
        let initiator_is_lo = if syn_ack { !src_is_lo } else { src_is_lo };
        let (flow, how) = table.get_or_create(key, p.ts, initiator_is_lo, &mut ended);
        let dir = usize::from(src_is_lo != flow.initiator_is_lo);
        flow.pkts[dir] += 1;
        flow.bytes[dir] += u64::from(p.orig_len);
        flow.tcp_flags[dir] |= d.tcp_flags;
        if p.ts > flow.last {
            flow.last = p.ts;
        }
        // Who is who, built only where a contact may come of it (a new or re-matched flow,
        // a handshake's findings, a DNS answer): most packets need none of it.
        let ctx = |flow_id: u64| {
            let (init, resp) = endpoints(d, dir);
            Ctx {
                flow_id,
                zone: key.zone(),
                iface: p.iface,
                d,
                init,
                resp,
                ifaces,
            }
        };
        let rematch = matches!(how, Lookup::Created) || flow.generation != current.generation();
        if rematch {
            flow.generation = current.generation();
            flow.matched =
                match_flow(&ctx(flow.id), current, &cfg.home_net, dns, p.ts).map(|contact| {
                    stats.flows_matched += 1;
                    raise(out, stats, seq, p.ts, &contact);
                    Box::new(Matched {
                        contact,
                        last_alert: p.ts,
                    })
                });
        } else if let Some(m) = &mut flow.matched {
            // A long-lived matched flow alerts again once per dedup window.
            if p.ts.seconds_since(m.last_alert) >= cfg.dedup_window as f64 {
                m.last_alert = p.ts;
                raise(out, stats, seq, p.ts, &m.contact);
            }
        }
        if d.proto == 6 && d.tcp_flags & TCP_SYN != 0 && flow.isn[dir].is_none() {
            flow.isn[dir] = Some(d.tcp_seq);
        }
        // Handshakes from the first bytes of a flow: TLS and DNS over TCP (both directions),
        // QUIC Initials over UDP (the client's datagrams; content decides, not the port).
        if !flow.app_done && !payload.is_empty() {
            let dns_port = d.ports.is_some_and(|(s, t)| s == 53 || t == 53);
            let step = if d.proto == 6
                && current.inspects_tcp()
                && flow.app.is_none()
                && !worth_inspecting(dir, flow.isn[dir], d.tcp_seq, payload, dns_port)
            {
                None
            } else if d.proto == 6 && current.inspects_tcp() {
                // The client's first segment usually holds the whole handshake: then no
                // reassembly state is set up at all.
                let starts_stream = flow.app.is_none()
                    && dir == 0
                    && flow.isn[0].is_none_or(|isn| d.tcp_seq == isn.wrapping_add(1));
                let whole = if starts_stream {
                    Inspect::first_segment(current, payload)
                } else {
                    None
                };
                whole.or_else(|| {
                    let insp = flow.app.get_or_insert_with(Default::default);
                    Some(insp.segment(
                        current,
                        dir == 0,
                        flow.isn[dir],
                        d.tcp_seq,
                        payload,
                        dns_port,
                    ))
                })
            } else if d.proto == 17
                && dir == 0
                && !wants_payload(d)
                && quic_relevant(current)
                && (flow.app.is_some() || payload.len() >= quic::MIN_INITIAL)
            {
                let insp = flow.app.get_or_insert_with(Default::default);
                Some(insp.quic_datagram(current, payload))
            } else {
                None
            };
            match step {
                Some((found, done)) => {
                    for f in found {
                        if let Some(contact) = finding_contact(&ctx(flow.id), current, f) {
                            report(out, stats, flow, seq, p.ts, contact);
                        }
                    }
                    if done {
                        flow.app = None;
                        flow.app_done = true;
                        stats.handshakes_inspected += 1;
                    }
                }
                None if d.proto != 17 || dir == 0 => flow.app_done = true,
                None => {}
            }
        }
        // Names: DNS over UDP.
        if !payload.is_empty() && wants_payload(d) {
            for contact in dns_message(&ctx(flow.id), current, dns, stats, payload, p.ts) {
                report(out, stats, flow, seq, p.ts, contact);
            }
        }
        // Who holds which address: RADIUS accounting, to the output thread's live map.
        if cfg.radius && d.proto == 17 && d.ports.is_some_and(|(_, t)| radius::PORTS.contains(&t)) {
            radius_message(out, stats, seq, p.ts, payload);
        }
    }

    /// Moves the clock to `now` without a packet (a quiet live link): flows idle past their
    /// timeout end, their records appended to `out`.
    pub fn idle(&mut self, seq: u64, now: Timestamp, out: &mut Vec<Sequenced>) {
        let Worker { table, stats, .. } = self;
        table.advance(now, |_k, f, r| end_flow(out, stats, seq, f, r));
    }

    /// Ends every flow (end of input); `seq` orders the records after all packets, `clock` is
    /// the latest packet time of the whole input.
    pub fn finish(&mut self, seq: u64, clock: Timestamp, out: &mut Vec<Sequenced>) {
        let Worker { table, stats, .. } = self;
        table.drain(clock, |_k, f, r| end_flow(out, stats, seq, f, r));
    }
}

/// Reads a datagram sent to an accounting port: an Accounting-Request becomes a record;
/// responses are skipped; what cannot be read is counted.
fn radius_message(
    out: &mut Vec<Sequenced>,
    stats: &mut WorkerStats,
    seq: u64,
    ts: Timestamp,
    payload: &[u8],
) {
    stats.radius_messages += 1;
    match radius::parse(payload) {
        Ok(Some(acct)) => out.push(Sequenced {
            seq,
            record: Record::Radius(Box::new(RadiusRecord { ts, acct })),
        }),
        Ok(None) => {}
        Err(_) => stats.radius_malformed += 1,
    }
}

/// Initiator and responder endpoints from a packet travelling in direction `dir`.
fn endpoints(d: &Decoded, dir: usize) -> (Endpoint, Endpoint) {
    let (sp, dp) = match d.ports {
        Some((s, t)) => (Some(s), Some(t)),
        None => (None, None),
    };
    let src = Endpoint {
        ip: d.src,
        port: sp,
        mac: d.src_mac,
    };
    let dst = Endpoint {
        ip: d.dst,
        port: dp,
        mac: d.dst_mac,
    };
    if dir == 0 { (src, dst) } else { (dst, src) }
}

/// True when an application-layer parser reads this packet's payload: DNS over UDP always,
/// TCP when `tcp` (the indicators include names or TLS fingerprints).
#[inline]
pub fn wants_payload(d: &Decoded) -> bool {
    d.proto == 17 && d.ports.is_some_and(|(s, t)| s == 53 || t == 53)
}

/// Whether a TCP flow's first payload can start something the parsers read (TLS, HTTP, DNS
/// over TCP), decided without allocating. Server-first protocols are not inspected; a first
/// segment that is not the stream's start (out of order) is given the benefit of the doubt.
fn worth_inspecting(
    dir: usize,
    isn: Option<u32>,
    seq: u32,
    payload: &[u8],
    dns_port: bool,
) -> bool {
    if dir == 1 {
        return false;
    }
    if isn.is_some_and(|isn| seq != isn.wrapping_add(1)) {
        return true;
    }
    dns_port
        || payload[0] == crate::app::tls::CONTENT_HANDSHAKE
        || crate::app::http::looks_like_request(payload)
}

/// QUIC Initials can match: the indicators include names or JA4 fingerprints.
fn quic_relevant(set: &IndicatorSet) -> bool {
    set.has_domains() || set.has_hashes(crate::intel::set::HashKind::Ja4)
}

/// A handshake finding as a contact: the client is the victim.
fn finding_contact(ctx: &Ctx<'_>, set: &Arc<IndicatorSet>, f: Finding) -> Option<Arc<Contact>> {
    let indicator = IndicatorRef::new(set.clone(), f.indicator)?;
    let (c2, app) = match (f.tls, f.dns, f.http) {
        _ if f.quic.is_some() => (Some(ctx.resp), f.quic.map(|q| AppInfo::Quic(Box::new(q)))),
        (Some(t), _, _) => (Some(ctx.resp), Some(AppInfo::Tls(Box::new(t)))),
        (None, None, Some(h)) => (Some(ctx.resp), Some(AppInfo::Http(Box::new(h)))),
        (None, Some((id, rrname, rrtype)), _) => (
            None,
            Some(AppInfo::Dns {
                kind: "query",
                id,
                rrname: rrname.into(),
                rrtype,
                rdata: None,
            }),
        ),
        (None, None, None) => (Some(ctx.resp), None),
    };
    Some(ctx.contact(
        ctx.init,
        c2,
        f.domain.as_deref(),
        indicator,
        f.matched_on,
        app,
    ))
}

/// What every contact of a packet's flow shares.
struct Ctx<'a> {
    flow_id: u64,
    zone: u32,
    iface: u16,
    d: &'a Decoded,
    init: Endpoint,
    resp: Endpoint,
    ifaces: &'a Interfaces,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn contact(
        &self,
        victim: Endpoint,
        c2: Option<Endpoint>,
        c2_domain: Option<&str>,
        indicator: IndicatorRef,
        matched_on: MatchedOn,
        app: Option<AppInfo>,
    ) -> Arc<Contact> {
        Arc::new(Contact {
            flow_id: self.flow_id,
            zone: self.zone,
            in_iface: self.ifaces.name(self.iface),
            first: *self.d,
            proto: self.d.proto,
            initiator: self.init,
            responder: self.resp,
            victim,
            c2,
            c2_domain: c2_domain.map(Into::into),
            indicator,
            matched_on,
            app,
        })
    }
}

/// Matches a new flow: its addresses against the indicators, then against the addresses
/// DNS answers resolved from listed names for this client.
fn match_flow(
    ctx: &Ctx<'_>,
    set: &Arc<IndicatorSet>,
    home: &HomeNet,
    dns: &SharedDnsCache,
    now: Timestamp,
) -> Option<Arc<Contact>> {
    let (init, resp) = (ctx.init, ctx.resp);
    if let Some(v) = infer(
        set,
        home,
        ctx.d.proto,
        (init.ip, init.port),
        (resp.ip, resp.port),
    ) {
        let (victim, c2) = match v.c2_side {
            Side::Responder => (init, resp),
            Side::Initiator => (resp, init),
        };
        let indicator = IndicatorRef::new(set.clone(), v.indicator)?;
        return Some(ctx.contact(victim, Some(c2), None, indicator, v.matched_on, None));
    }
    let hit = dns
        .get(&(init.ip, ctx.zone, resp.ip), now)
        .filter(|r| r.generation == set.generation())?;
    if set.match_domain(&hit.name).is_none() && !set.contains(hit.indicator) {
        return None;
    }
    let indicator = IndicatorRef::new(set.clone(), hit.indicator)?;
    let app = AppInfo::Dns {
        kind: "answer",
        id: 0,
        rrname: hit.name.clone(),
        rrtype: 0,
        rdata: Some(resp.ip),
    };
    Some(ctx.contact(
        init,
        Some(resp),
        Some(&hit.name),
        indicator,
        MatchedOn::DnsAnswer,
        Some(app),
    ))
}

/// A DNS message on a flow: questions for listed names become contacts (the victim is the
/// client); answers resolving listed names (directly or through CNAMEs) are remembered.
fn dns_message(
    ctx: &Ctx<'_>,
    set: &Arc<IndicatorSet>,
    cache: &SharedDnsCache,
    stats: &mut WorkerStats,
    payload: &[u8],
    now: Timestamp,
) -> Vec<Arc<Contact>> {
    if !set.has_domains() {
        return Vec::new();
    }
    DNS_MESSAGE.with_borrow_mut(|m| {
        if dns::parse_into(payload, m).is_err() {
            stats.dns_errors += 1;
            return Vec::new();
        }
        stats.dns_messages += 1;
        dns_contacts(ctx, set, cache, m, now)
    })
}

thread_local! {
    /// The message [`dns_message`] parses into: its lists and names are reused from message
    /// to message.
    static DNS_MESSAGE: std::cell::RefCell<dns::Message> = std::cell::RefCell::default();
}

/// [`dns_message`]'s contacts and cache entries for a parsed message `m`.
fn dns_contacts(
    ctx: &Ctx<'_>,
    set: &Arc<IndicatorSet>,
    cache: &SharedDnsCache,
    m: &dns::Message,
    now: Timestamp,
) -> Vec<Arc<Contact>> {
    let mut found = Vec::new();
    let d = ctx.d;
    let (sp, dp) = d.ports.unwrap_or((0, 0));
    let src = Endpoint {
        ip: d.src,
        port: Some(sp),
        mac: d.src_mac,
    };
    let dst = Endpoint {
        ip: d.dst,
        port: Some(dp),
        mac: d.dst_mac,
    };
    let client = if m.response { dst } else { src };
    let mut buf = [0u8; MAX_NAME + 2];
    for q in &m.questions {
        let Some(name) = wire_name(q.name.as_bytes(), &mut buf) else {
            continue;
        };
        if let Some(id) = set.match_domain(name)
            && let Some(indicator) = IndicatorRef::new(set.clone(), id)
        {
            let app = AppInfo::Dns {
                kind: "query",
                id: m.id,
                rrname: name.into(),
                rrtype: q.qtype,
                rdata: None,
            };
            found.push(ctx.contact(
                client,
                None,
                Some(name),
                indicator,
                MatchedOn::DnsQuery,
                Some(app),
            ));
        }
        if m.response {
            let (chain, addrs) = dns::resolution(m, &q.name);
            let mut nbuf = [0u8; MAX_NAME + 2];
            let listed = chain
                .iter()
                .find_map(|n| set.match_domain(wire_name(n.as_bytes(), &mut nbuf)?));
            if let Some(id) = listed {
                for (addr, ttl) in addrs {
                    cache.insert(
                        (client.ip, ctx.zone, addr),
                        id,
                        set.generation(),
                        &q.name,
                        now,
                        ttl,
                    );
                }
            }
        }
    }
    found
}

/// An application-layer contact on a flow: raised, and the flow's first one kept for its
/// flow record.
fn report(
    out: &mut Vec<Sequenced>,
    stats: &mut WorkerStats,
    flow: &mut Flow<Matched>,
    seq: u64,
    ts: Timestamp,
    contact: Arc<Contact>,
) {
    raise(out, stats, seq, ts, &contact);
    if flow.matched.is_none() {
        stats.flows_matched += 1;
        flow.matched = Some(Box::new(Matched {
            contact,
            last_alert: ts,
        }));
    }
}

/// Hands an alert candidate to the output thread (which applies dedup).
fn raise(
    out: &mut Vec<Sequenced>,
    stats: &mut WorkerStats,
    seq: u64,
    ts: Timestamp,
    contact: &Arc<Contact>,
) {
    stats.alert_candidates += 1;
    out.push(Sequenced {
        seq,
        record: Record::Alert(AlertRecord {
            ts,
            contact: contact.clone(),
        }),
    });
}

fn end_flow(
    out: &mut Vec<Sequenced>,
    stats: &mut WorkerStats,
    seq: u64,
    flow: Flow<Matched>,
    reason: EndReason,
) {
    let Some(m) = flow.matched else { return };
    stats.flow_records += 1;
    out.push(Sequenced {
        seq,
        record: Record::Flow(FlowRecord {
            contact: m.contact,
            start: flow.start,
            end: flow.last,
            pkts: flow.pkts,
            bytes: flow.bytes,
            tcp_flags: flow.tcp_flags,
            reason,
            alerted: true,
        }),
    });
}
