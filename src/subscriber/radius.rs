//! The live subscriber map RADIUS accounting builds: which user held which address or prefix,
//! and when. Updated by the output thread as it reaches each Accounting-Request in input
//! order, so lookups at a packet's time see the sessions started before that packet.
//!
//! - Start or Interim-Update: the address or prefix belongs to the user from the message's
//!   time on (an Interim for a session not seen starting opens it then). A different user's
//!   open session on the same network ends at that moment.
//! - Stop: the user's open session on each network ends.
//! - Accounting-On/Off from a NAS: every open session of that NAS ends.
//! - Bounded: each network keeps its last [`HISTORY`] sessions; at most `capacity` networks
//!   are held, and a full map forgets the networks whose last session ended longest ago
//!   (counted).

use crate::app::radius::{Accounting, Status};
use crate::intel::net::{canonical, mask_v4, mask_v6};
use crate::time::Timestamp;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// Sessions remembered per address or prefix.
pub const HISTORY: usize = 8;

#[derive(Clone, Debug)]
struct Session {
    start: Timestamp,
    end: Option<Timestamp>,
    user: String,
    session: Option<String>,
    calling_station: Option<String>,
    nas: Option<String>,
}

/// Networks are (masked address, prefix length); IPv4 addresses as IPv4.
type Net = (IpAddr, u8);

#[derive(Debug, Default)]
pub struct RadiusMap {
    nets: HashMap<Net, Vec<Session>>,
    /// Prefix lengths in use, per family (lookups try the longest first).
    v4_lens: BTreeSet<u8>,
    v6_lens: BTreeSet<u8>,
    capacity: usize,
    pub updates: u64,
    /// Messages that named no user or no address (nothing to map).
    pub ignored: u64,
    pub forgotten: u64,
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(mask_v4(u32::from(a), len).into()),
        IpAddr::V6(a) => IpAddr::V6(mask_v6(u128::from(a), len).into()),
    }
}

impl RadiusMap {
    pub fn new(capacity: usize) -> RadiusMap {
        RadiusMap {
            capacity: capacity.max(1),
            ..RadiusMap::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Applies one Accounting-Request seen at `ts`.
    pub fn apply(&mut self, a: &Accounting, ts: Timestamp) {
        if a.status == Status::NasRestart {
            self.updates += 1;
            for sessions in self.nets.values_mut() {
                for s in sessions.iter_mut() {
                    if s.end.is_none() && s.nas.is_some() && s.nas == a.nas {
                        s.end = Some(ts);
                    }
                }
            }
            return;
        }
        let (Some(user), false) = (&a.user, a.networks.is_empty()) else {
            self.ignored += 1;
            return;
        };
        if !matches!(a.status, Status::Start | Status::Interim | Status::Stop) {
            self.ignored += 1;
            return;
        }
        self.updates += 1;
        for &(ip, len) in &a.networks {
            let ip = canonical(ip);
            let len = if ip.is_ipv4() { len.min(32) } else { len };
            let net = (mask(ip, len), len);
            if a.status == Status::Stop {
                if let Some(s) = self.nets.get_mut(&net).and_then(|v| {
                    v.iter_mut()
                        .rev()
                        .find(|s| s.end.is_none() && &s.user == user)
                }) {
                    s.end = Some(ts);
                }
                continue;
            }
            if !self.nets.contains_key(&net) && self.nets.len() >= self.capacity {
                self.forget();
            }
            let sessions = self.nets.entry(net).or_default();
            match sessions.iter_mut().rev().find(|s| s.end.is_none()) {
                Some(s) if &s.user == user => {
                    // The same session going on (an Interim): fill in what it lacked.
                    s.session = s.session.take().or_else(|| a.session.clone());
                    s.calling_station = s
                        .calling_station
                        .take()
                        .or_else(|| a.calling_station.clone());
                    continue;
                }
                Some(s) => s.end = Some(ts),
                None => {}
            }
            sessions.push(Session {
                start: ts,
                end: None,
                user: user.clone(),
                session: a.session.clone(),
                calling_station: a.calling_station.clone(),
                nas: a.nas.clone(),
            });
            if sessions.len() > HISTORY {
                sessions.remove(0);
            }
            match ip {
                IpAddr::V4(_) => self.v4_lens.insert(len),
                IpAddr::V6(_) => self.v6_lens.insert(len),
            };
        }
    }

    /// The map is full: the older half of the networks without an open session go (all of
    /// the older half when every session is open).
    fn forget(&mut self) {
        let ended = |v: &Vec<Session>| v.last().and_then(|s| s.end);
        let mut ends: Vec<(Option<Timestamp>, Net)> =
            self.nets.iter().map(|(n, v)| (ended(v), *n)).collect();
        // Ended longest ago first; open sessions (None) last.
        ends.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.cmp(&y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        let n = ends.len().div_ceil(2);
        for (_, net) in ends.into_iter().take(n) {
            self.nets.remove(&net);
            self.forgotten += 1;
        }
    }

    /// The session holding `ip` at `at`: the most specific network, the session started
    /// last by `at` and not ended by then.
    pub fn lookup(&self, ip: IpAddr, at: Timestamp) -> Option<Value> {
        let ip = canonical(ip);
        let lens = if ip.is_ipv4() {
            &self.v4_lens
        } else {
            &self.v6_lens
        };
        for &len in lens.iter().rev() {
            let net = (mask(ip, len), len);
            let Some(sessions) = self.nets.get(&net) else {
                continue;
            };
            let Some(s) = sessions
                .iter()
                .rev()
                .find(|s| s.start <= at && s.end.is_none_or(|e| at < e))
            else {
                continue;
            };
            let end = s.end.map(|e| e.rfc3339_secs());
            let mut v = json!({
                "id": s.user,
                "source": "radius",
                "network": format!("{}/{}", net.0, net.1),
                "lease": {"start": s.start.rfc3339_secs(), "end": end},
            });
            for (k, val) in [
                ("session_id", &s.session),
                ("calling_station_id", &s.calling_station),
                ("nas", &s.nas),
            ] {
                if let Some(x) = val {
                    v[k] = json!(x);
                }
            }
            return Some(v);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::new(1_700_000_000 + s, 0)
    }

    fn acct(status: Status, user: &str, nets: &[(&str, u8)]) -> Accounting {
        Accounting {
            status,
            user: Some(user.into()),
            networks: nets
                .iter()
                .map(|(a, l)| (a.parse().expect("ip"), *l))
                .collect(),
            calling_station: Some("02-00-00-00-05-0a".into()),
            session: Some(format!("s-{user}")),
            nas: Some("192.0.2.1".into()),
        }
    }

    fn who(m: &RadiusMap, ip: &str, t: i64) -> Option<String> {
        m.lookup(ip.parse().expect("ip"), at(t))
            .and_then(|v| v["id"].as_str().map(str::to_string))
    }

    #[test]
    fn start_stop_and_a_new_owner() {
        let mut m = RadiusMap::new(100);
        m.apply(&acct(Status::Start, "alice", &[("100.64.5.10", 32)]), at(0));
        m.apply(
            &acct(Status::Interim, "alice", &[("100.64.5.10", 32)]),
            at(20),
        );
        m.apply(&acct(Status::Stop, "alice", &[("100.64.5.10", 32)]), at(30));
        m.apply(&acct(Status::Start, "bob", &[("100.64.5.10", 32)]), at(31));
        assert_eq!(who(&m, "100.64.5.10", -1), None, "before any session");
        assert_eq!(who(&m, "100.64.5.10", 10).as_deref(), Some("alice"));
        assert_eq!(who(&m, "100.64.5.10", 30), None, "between stop and start");
        assert_eq!(who(&m, "100.64.5.10", 40).as_deref(), Some("bob"));
        let v = m
            .lookup("100.64.5.10".parse().expect("ip"), at(10))
            .expect("alice");
        assert_eq!(v["lease"]["end"], "2023-11-14T22:13:50Z");
        assert_eq!(v["session_id"], "s-alice");
        assert_eq!(v["source"], "radius");
        // A Start for another user without a Stop first ends the earlier session.
        m.apply(
            &acct(Status::Start, "carol", &[("100.64.5.10", 32)]),
            at(50),
        );
        assert_eq!(who(&m, "100.64.5.10", 45).as_deref(), Some("bob"));
        assert_eq!(who(&m, "100.64.5.10", 55).as_deref(), Some("carol"));
    }

    #[test]
    fn delegated_prefixes_and_nas_restarts() {
        let mut m = RadiusMap::new(100);
        m.apply(
            &acct(Status::Start, "dave", &[("fd00:a:b:100::", 56)]),
            at(0),
        );
        m.apply(
            &acct(Status::Start, "erin", &[("fd00:a:b:1ff::5", 128)]),
            at(0),
        );
        assert_eq!(who(&m, "fd00:a:b:1aa::1", 5).as_deref(), Some("dave"));
        assert_eq!(
            who(&m, "fd00:a:b:1ff::5", 5).as_deref(),
            Some("erin"),
            "most specific"
        );
        assert_eq!(who(&m, "fd00:a:b:200::1", 5), None);
        let mut restart = acct(Status::NasRestart, "", &[]);
        restart.user = None;
        m.apply(&restart, at(10));
        assert_eq!(who(&m, "fd00:a:b:1aa::1", 11), None, "the NAS restarted");
        assert_eq!(who(&m, "fd00:a:b:1aa::1", 9).as_deref(), Some("dave"));
    }

    #[test]
    fn is_bounded() {
        let mut m = RadiusMap::new(4);
        for i in 0..10u8 {
            let ip = format!("100.64.0.{i}");
            m.apply(&acct(Status::Start, "u", &[(&ip, 32)]), at(i64::from(i)));
            m.apply(&acct(Status::Stop, "u", &[(&ip, 32)]), at(i64::from(i) + 1));
        }
        assert!(m.nets.len() <= 4);
        assert!(m.forgotten >= 6);
        assert_eq!(
            who(&m, "100.64.0.9", 9).as_deref(),
            Some("u"),
            "the newest kept"
        );
    }
}
