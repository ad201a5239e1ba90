//! Contact episodes: the first contact between a victim and an indicator alerts at once; later
//! contacts fold into the episode, which is written as one `episode` event when it closes.
//!
//! - The victim is the subscriber when a map names one (a customer behind changing or shared
//!   addresses is one victim), else the address in its VLAN/tunnel zone.
//! - An episode ends when `timeout` seconds of packet time pass without a contact (its last
//!   contact, or the last packet of one of its flows), when the table is full (the oldest
//!   end first), and at the end of the run. The next contact after that alerts again and
//!   opens a new episode.
//! - An ended episode is written once its flows have ended too (their flow records bring the
//!   packets and bytes), or at the end of the run; so nothing is lost: every contact is
//!   counted in `contacts`, every byte of its flows in `bytes`; the first [`KEEP_FLOWS`] flow
//!   and community ids and the first [`KEEP_PORTS`] C2 ports are listed, with counts of the
//!   rest.
//! - Whether a contact alerts depends only on alert records (which a replay delivers in input
//!   order), so alerts are the same whatever the worker count, and so is the set of episode
//!   events; where an episode appears in the stream follows its flows' ends, which (like
//!   flow records) can come at other places with other worker counts. Only eviction (a full
//!   table) depends on timing.

use crate::time::Timestamp;
use foldhash::HashMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Flow ids (and community ids) listed per episode.
pub const KEEP_FLOWS: usize = 8;
/// C2 ports listed per episode.
pub const KEEP_PORTS: usize = 32;

/// Who the victim is, for folding contacts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VictimKey {
    Subscriber(String),
    Address(IpAddr, u32),
}

type Key = (VictimKey, String);

/// Why an episode ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Idle,
    Evicted,
    End,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Idle => "idle",
            Ended::Evicted => "evicted",
            Ended::End => "end",
        }
    }
}

#[derive(Debug)]
struct Episode<H> {
    key: Key,
    first: Timestamp,
    /// The last contact: what idleness is measured from (alert records only, so the
    /// decision to alert again never depends on when flow records arrive).
    last_contact: Timestamp,
    /// The last contact or the last packet of one of its flows.
    last: Timestamp,
    contacts: u64,
    flows: Vec<u64>,
    community_ids: Vec<String>,
    /// Distinct flows beyond `flows`.
    more_flows: u64,
    ports: BTreeSet<u16>,
    more_ports: bool,
    packets: u64,
    bytes: u64,
    /// Flows of this episode whose flow record has not come yet.
    open_flows: u32,
    /// Set when the episode ended; it is written when `open_flows` is 0.
    ended: Option<Ended>,
    /// What the episode event repeats of the alert that opened it (envelope, victim, C2 and
    /// threat).
    head: H,
}

/// What an episode event repeats of the alert that opened it, written as map entries
/// between its `event_type` and its `episode` object.
pub trait Head {
    fn entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error>;
}

/// The alert's own contact and the victim's subscriber: the episode event is written from
/// the records (`eve::head_entries`), as the alert was.
pub struct ContactHead {
    pub contact: std::sync::Arc<super::record::Contact>,
    pub subscriber: Option<Value>,
}

impl Head for ContactHead {
    fn entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        super::eve::head_entries(m, &self.contact, self.subscriber.as_ref())
    }
}

/// What a contact means for output.
pub struct Contact<H> {
    /// Episodes to write first (ones this contact's arrival found ended, or evicted).
    pub closed: Vec<EpisodeEvent<H>>,
    /// The first contact of a new episode: its alert is to be written.
    pub opened: bool,
}

pub struct Episodes<H> {
    all: HashMap<u64, Episode<H>>,
    /// The episode each (victim, indicator) is in now.
    current: HashMap<Key, u64>,
    /// Flows whose record has not come → the episodes they count in.
    flow_eps: HashMap<u64, Vec<u64>>,
    next_id: u64,
    timeout: u64,
    capacity: usize,
    /// The latest packet time seen, and when episodes were last checked for idleness.
    clock: Option<Timestamp>,
    swept: Option<Timestamp>,
    pub evictions: u64,
    pub written: u64,
}

impl<H: Head> Episodes<H> {
    /// `timeout` in seconds of packet time (0: every contact alerts, no episodes);
    /// `capacity`: episodes held at most.
    pub fn new(timeout: u64, capacity: usize) -> Episodes<H> {
        Episodes {
            all: HashMap::default(),
            current: HashMap::default(),
            flow_eps: HashMap::default(),
            next_id: 0,
            timeout,
            capacity: capacity.max(1),
            clock: None,
            swept: None,
            evictions: 0,
            written: 0,
        }
    }

    /// Moves the clock (the latest packet time) forward to `ts`.
    pub fn tick(&mut self, ts: Timestamp) {
        if self.clock.is_none_or(|c| ts > c) {
            self.clock = Some(ts);
        }
    }

    /// A contact (an alert record) of `key` at `ts` on flow `flow`: its id, and what makes its
    /// community id (called only for the flows an episode lists). `head` makes what the
    /// episode repeats of the alert, called only when the contact opens an episode.
    pub fn contact<C: FnOnce() -> String>(
        &mut self,
        key: (VictimKey, &str),
        ts: Timestamp,
        flow: (u64, C),
        c2_port: Option<u16>,
        head: impl FnOnce() -> H,
    ) -> Contact<H> {
        self.tick(ts);
        if self.timeout == 0 {
            return Contact {
                closed: Vec::new(),
                opened: true,
            };
        }
        let key = (key.0, key.1.to_string());
        let flow_id = flow.0;
        let mut closed = Vec::new();
        if let Some(&id) = self.current.get(&key) {
            let timeout = self.timeout as f64;
            let fold = self
                .all
                .get(&id)
                .is_some_and(|e| ts.seconds_since(e.last_contact) <= timeout);
            if fold {
                let mut ready = Vec::new();
                let new_flow = self.link(flow.0, id, &mut ready);
                closed.extend(self.write(ready));
                if let Some(e) = self.all.get_mut(&id) {
                    e.contacts += 1;
                    e.last_contact = e.last_contact.max(ts);
                    e.last = e.last.max(ts);
                    e.first = e.first.min(ts);
                    if new_flow {
                        add_flow(e, flow);
                    }
                    if let Some(p) = c2_port {
                        add_port(e, p);
                    }
                }
                return Contact {
                    closed,
                    opened: false,
                };
            }
            closed.extend(self.end(vec![id], Ended::Idle));
        }
        if self.all.len() >= self.capacity {
            closed.extend(self.evict());
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut e = Episode {
            key: key.clone(),
            first: ts,
            last_contact: ts,
            last: ts,
            contacts: 1,
            flows: Vec::new(),
            community_ids: Vec::new(),
            more_flows: 0,
            ports: BTreeSet::new(),
            more_ports: false,
            packets: 0,
            bytes: 0,
            open_flows: 0,
            ended: None,
            head: head(),
        };
        if let Some(p) = c2_port {
            add_port(&mut e, p);
        }
        add_flow(&mut e, flow);
        self.all.insert(id, e);
        self.current.insert(key, id);
        let mut ready = Vec::new();
        self.link(flow_id, id, &mut ready);
        closed.extend(self.write(ready));
        Contact {
            closed,
            opened: true,
        }
    }

    /// Links flow `flow` to episode `id`; true when it was not yet. A flow that outlived an
    /// earlier episode of the same pair moves to the new one (its traffic is counted once, in
    /// the latest episode); the earlier episode no longer waits for it and is returned in
    /// `ready` when nothing else holds it.
    fn link(&mut self, flow: u64, id: u64, ready: &mut Vec<u64>) -> bool {
        let key = self.all.get(&id).map(|e| e.key.clone());
        let linked = self.flow_eps.entry(flow).or_default();
        if linked.contains(&id) {
            return false;
        }
        let all = &mut self.all;
        linked.retain(|old| match all.get_mut(old) {
            Some(e) if Some(&e.key) == key.as_ref() => {
                e.open_flows = e.open_flows.saturating_sub(1);
                if e.ended.is_some() && e.open_flows == 0 {
                    ready.push(*old);
                }
                false
            }
            _ => true,
        });
        linked.push(id);
        true
    }

    /// The end of flow `flow_id` (its flow record, `last` its last packet): its packets and
    /// bytes join its episodes. Returns the episodes that were only waiting for it.
    pub fn flow_end(
        &mut self,
        flow_id: u64,
        last: Timestamp,
        packets: u64,
        bytes: u64,
    ) -> Vec<EpisodeEvent<H>> {
        self.tick(last);
        let mut done = Vec::new();
        for id in self.flow_eps.remove(&flow_id).unwrap_or_default() {
            if let Some(e) = self.all.get_mut(&id) {
                e.open_flows = e.open_flows.saturating_sub(1);
                e.packets += packets;
                e.bytes += bytes;
                e.last = e.last.max(last);
                if e.ended.is_some() && e.open_flows == 0 {
                    done.push(id);
                }
            }
        }
        self.write(done)
    }

    /// Episodes idle at the latest packet time end (checked at most once per tenth of the
    /// timeout of packet time); those with no open flow are returned to be written.
    pub fn expire(&mut self) -> Vec<EpisodeEvent<H>> {
        let Some(now) = self.clock else {
            return Vec::new();
        };
        let step = (self.timeout / 10).max(1) as f64;
        if self.swept.is_some_and(|s| now.seconds_since(s) < step) || self.current.is_empty() {
            return Vec::new();
        }
        self.swept = Some(now);
        let timeout = self.timeout as f64;
        let idle: Vec<u64> = self
            .current
            .values()
            .copied()
            .filter(|id| {
                self.all
                    .get(id)
                    .is_some_and(|e| now.seconds_since(e.last_contact) > timeout)
            })
            .collect();
        self.end(idle, Ended::Idle)
    }

    /// Every episode, written (the end of the run: every flow has ended by then). One idle
    /// at the last packet time says `idle` even if no sweep has seen it yet, so the events do
    /// not depend on when sweeps ran.
    pub fn close_all(&mut self) -> Vec<EpisodeEvent<H>> {
        let timeout = self.timeout as f64;
        let (idle, open): (Vec<u64>, Vec<u64>) =
            self.current
                .values()
                .copied()
                .partition(|id| match (self.clock, self.all.get(id)) {
                    (Some(now), Some(e)) => now.seconds_since(e.last_contact) > timeout,
                    _ => false,
                });
        let mut out = self.end(idle, Ended::Idle);
        out.extend(self.end(open, Ended::End));
        let waiting: Vec<u64> = self.all.keys().copied().collect();
        self.flow_eps.clear();
        out.extend(self.write(waiting));
        out
    }

    /// The table is full: the older half (by last contact) is written now.
    fn evict(&mut self) -> Vec<EpisodeEvent<H>> {
        let mut lasts: Vec<Timestamp> = self.all.values().map(|e| e.last).collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 2];
        let older = |strict: bool| -> Vec<u64> {
            self.all
                .iter()
                .filter(|(_, e)| e.last < cut || (!strict && e.last == cut))
                .map(|(id, _)| *id)
                .collect()
        };
        // Strictly older than the median; all at the median when that is none (equal times).
        let mut ids = older(true);
        if ids.is_empty() {
            ids = older(false);
        }
        self.evictions += ids.len() as u64;
        for id in &ids {
            if let Some(e) = self.all.get_mut(id) {
                e.ended.get_or_insert(Ended::Evicted);
            }
        }
        self.forget_current(&ids);
        self.write(ids)
    }

    /// Ends episodes `ids` (no more contacts fold into them); returns those that can be
    /// written now.
    fn end(&mut self, ids: Vec<u64>, why: Ended) -> Vec<EpisodeEvent<H>> {
        let mut now = Vec::new();
        for id in &ids {
            if let Some(e) = self.all.get_mut(id) {
                e.ended = Some(why);
                if e.open_flows == 0 {
                    now.push(*id);
                }
            }
        }
        self.forget_current(&ids);
        self.write(now)
    }

    fn forget_current(&mut self, ids: &[u64]) {
        for id in ids {
            if let Some(e) = self.all.get(id)
                && self.current.get(&e.key) == Some(id)
            {
                self.current.remove(&e.key);
            }
        }
    }

    /// Removes and renders episodes `ids`, in a fixed order.
    fn write(&mut self, ids: Vec<u64>) -> Vec<EpisodeEvent<H>> {
        let mut eps: Vec<Episode<H>> = ids
            .into_iter()
            .filter_map(|id| self.all.remove(&id))
            .collect();
        eps.sort_by(|a, b| (a.last, a.first, &a.key).cmp(&(b.last, b.first, &b.key)));
        self.written += eps.len() as u64;
        eps.into_iter().map(EpisodeEvent).collect()
    }
}

/// An ended episode, ready to be written: serialize it into the stream, or take its
/// [`Self::value`].
pub struct EpisodeEvent<H>(Episode<H>);

impl<H: Head> EpisodeEvent<H> {
    /// The event as a `Value` (the ECS form and the victim report read it).
    pub fn value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl<H: Head> Serialize for EpisodeEvent<H> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Body<'a, H>(&'a Episode<H>);
        impl<H> Serialize for Body<'_, H> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let e = self.0;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("first", &e.first.eve())?;
                m.serialize_entry("last", &e.last.eve())?;
                m.serialize_entry(
                    "duration_s",
                    &((e.last.seconds_since(e.first) * 1e6).round() / 1e6),
                )?;
                m.serialize_entry("contacts", &e.contacts)?;
                m.serialize_entry("flows", &e.flows)?;
                m.serialize_entry("community_ids", &e.community_ids)?;
                m.serialize_entry("more_flows", &e.more_flows)?;
                m.serialize_entry("c2_ports", &e.ports)?;
                m.serialize_entry("packets", &e.packets)?;
                m.serialize_entry("bytes", &e.bytes)?;
                m.serialize_entry("ended", e.ended.unwrap_or(Ended::End).as_str())?;
                if e.more_ports {
                    m.serialize_entry("more_c2_ports", &true)?;
                }
                m.end()
            }
        }
        let e = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &e.last.eve())?;
        m.serialize_entry("event_type", "episode")?;
        e.head.entries(&mut m)?;
        m.serialize_entry("episode", &Body(e))?;
        m.end()
    }
}

/// A flow new to the episode: listed (the first few) or counted, and open until it ends.
fn add_flow<H>(e: &mut Episode<H>, (id, community): (u64, impl FnOnce() -> String)) {
    if e.flows.len() < KEEP_FLOWS {
        e.flows.push(id);
        e.community_ids.push(community());
    } else {
        e.more_flows += 1;
    }
    e.open_flows += 1;
}

fn add_port<H>(e: &mut Episode<H>, p: u16) {
    if e.ports.len() < KEEP_PORTS || e.ports.contains(&p) {
        e.ports.insert(p);
    } else {
        e.more_ports = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// These tests look at the episode object only: no head.
    impl Head for () {
        fn entries<M: SerializeMap>(&self, _: &mut M) -> Result<(), M::Error> {
            Ok(())
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::new(1_700_000_000 + s, 0)
    }

    fn victim() -> VictimKey {
        VictimKey::Address("10.0.0.1".parse().expect("ip"), 0)
    }

    fn contact(eps: &mut Episodes<()>, ts: i64, flow: u64) -> Contact<()> {
        eps.contact(
            (victim(), "c2.example"),
            at(ts),
            (flow, || format!("1:{flow}")),
            Some(443),
            || (),
        )
    }

    #[test]
    fn a_long_flow_moves_to_the_newest_episode_and_is_counted_once() {
        let mut eps = Episodes::new(60, 100);
        assert!(contact(&mut eps, 0, 7).opened);
        assert!(!contact(&mut eps, 30, 7).opened, "same flow, within 60 s");
        // 100 s later the same flow reports again: a new episode; the first one no longer
        // waits for the flow and is written.
        let c = contact(&mut eps, 130, 7);
        assert!(c.opened);
        assert_eq!(c.closed.len(), 1);
        assert_eq!(c.closed[0].value()["episode"]["contacts"], 2);
        assert_eq!(c.closed[0].value()["episode"]["ended"], "idle");
        assert_eq!(c.closed[0].value()["episode"]["bytes"], 0);
        // The flow ends: its traffic goes to the episode it is in now.
        assert!(eps.flow_end(7, at(140), 10, 1000).is_empty());
        let end = eps.close_all();
        assert_eq!(end.len(), 1);
        assert_eq!(end[0].value()["episode"]["bytes"], 1000);
        assert_eq!(
            end[0].value()["episode"]["last"],
            json!(at(140).eve().to_string())
        );
        assert_eq!(end[0].value()["episode"]["ended"], "end");
    }

    #[test]
    fn an_idle_episode_waits_for_its_flows_then_is_written() {
        let mut eps = Episodes::new(60, 100);
        contact(&mut eps, 0, 1);
        eps.tick(at(100));
        assert!(eps.expire().is_empty(), "flow 1 has not ended");
        let done = eps.flow_end(1, at(5), 2, 120);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].value()["episode"]["packets"], 2);
        assert_eq!(done[0].value()["episode"]["ended"], "idle");
        assert_eq!(eps.written, 1);
    }

    #[test]
    fn a_full_table_writes_its_oldest_half() {
        let mut eps = Episodes::new(3600, 4);
        for (i, ip) in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]
            .iter()
            .enumerate()
        {
            let key = VictimKey::Address(ip.parse().expect("ip"), 0);
            let c = eps.contact(
                (key, "c2"),
                at(i as i64),
                (i as u64, String::new),
                None,
                || (),
            );
            if i == 4 {
                assert_eq!(c.closed.len(), 2, "the two oldest of four");
                assert_eq!(c.closed[0].value()["episode"]["ended"], "evicted");
            }
        }
        assert_eq!(eps.evictions, 2);
        assert_eq!(eps.close_all().len(), 3);
    }

    #[test]
    fn ports_and_flows_are_bounded() {
        let mut eps = Episodes::new(3600, 10);
        for i in 0..100u64 {
            eps.contact(
                (victim(), "c2"),
                at(i as i64),
                (i, String::new),
                Some(1000 + i as u16),
                || (),
            );
        }
        let e = &eps.close_all()[0].value()["episode"];
        assert_eq!(e["contacts"], 100);
        assert_eq!(e["flows"].as_array().map(Vec::len), Some(KEEP_FLOWS));
        assert_eq!(e["more_flows"], 100 - KEEP_FLOWS as u64);
        assert_eq!(e["c2_ports"].as_array().map(Vec::len), Some(KEEP_PORTS));
        assert_eq!(e["more_c2_ports"], true);
    }
}
