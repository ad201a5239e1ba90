//! The notification list: alerts (NDJSON, EVE or ECS form) folded into one row per subscriber
//! — or per victim address when no subscriber map named one — with the C2s it contacted, the
//! families and feeds behind them, and when.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

/// One subscriber (or victim address) to notify.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VictimRow {
    /// Subscriber id, or the victim address when no map named a subscriber.
    pub key: String,
    /// `static`, `lease`, `cgnat`, or `address` when `key` is an address.
    pub source: String,
    pub addresses: BTreeSet<String>,
    pub macs: BTreeSet<String>,
    /// C2 addresses and names contacted.
    pub c2: BTreeSet<String>,
    pub families: BTreeSet<String>,
    pub feeds: BTreeSet<String>,
    /// Indicators as listed in the feeds.
    pub indicators: BTreeSet<String>,
    /// RFC 3339 (UTC, as the alerts give it).
    pub first_contact: String,
    pub last_contact: String,
    /// Alerts read for this row.
    pub alerts: u64,
    /// Contacts counted by the episodes read for this row (each episode's first contact is
    /// its alert).
    pub episode_contacts: u64,
    /// The subscriber's metadata from its map (first alert's), when there is one.
    pub subscriber: Option<Value>,
}

impl VictimRow {
    /// Contacts with C2s: what the episodes counted, or the alerts when no episode was read
    /// (a run cut short, or alerts from elsewhere).
    pub fn contacts(&self) -> u64 {
        self.episode_contacts.max(self.alerts)
    }
}

/// A victim address's contacts with one C2 of one family: from its first alert, and counted
/// over alerts and episodes.
#[derive(Debug, Clone)]
pub struct Contact {
    /// First and last contact, RFC 3339.
    pub time: String,
    pub last: String,
    pub feed: String,
    pub port: Option<u64>,
    /// The subscriber the alert named, if any.
    pub subscriber: Option<String>,
    /// The C2's address and port, and the indicator as listed.
    pub c2_ip: Option<String>,
    pub c2_port: Option<u64>,
    pub indicator: Option<String>,
    pub proto: Option<String>,
    pub alerts: u64,
    pub episode_contacts: u64,
}

impl Contact {
    /// Contacts counted: the episodes' count, or the alerts when no episode was read.
    pub fn contacts(&self) -> u64 {
        self.episode_contacts.max(self.alerts)
    }
}

/// Alerts read, and lines that were not alerts.
#[derive(Debug, Default)]
pub struct Collector {
    rows: BTreeMap<(String, String), VictimRow>,
    /// (victim address, C2, family, subscriber) → its contacts, for the IntelMQ and X-ARF
    /// forms (one address held by two subscribers in turn is two reports).
    contacts: BTreeMap<(String, String, String, String), Contact>,
    pub alerts: u64,
    pub other_events: u64,
    /// Lines that are not JSON objects (logged with file:line).
    pub bad_lines: u64,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// The facts of one alert or episode, from either form.
struct Alert {
    /// Episodes: (first, last, contacts); `time` is then the first.
    episode: Option<(String, String, u64)>,
    time: String,
    victim: Value,
    c2: Value,
    family: Option<String>,
    feed: Option<String>,
    indicator: Option<String>,
    proto: Option<String>,
}

fn alert_of(v: &Value) -> Option<Alert> {
    if let Some(ts) = v.get("@timestamp") {
        // ECS form.
        let own = &v["c2watch"];
        let episode = match own["event_type"].as_str() {
            Some("alert") => None,
            Some("episode") => Some(episode_of(&own["episode"])?),
            _ => return None,
        };
        let enrichment = &v["threat"]["enrichments"][0];
        return Some(Alert {
            time: episode
                .as_ref()
                .map_or_else(|| text(ts), |e| Some(e.0.clone()))?,
            episode,
            victim: own["victim"].clone(),
            c2: own["c2"].clone(),
            family: text(&v["threat"]["software"]["name"]),
            feed: text(&enrichment["indicator"]["provider"]),
            indicator: text(&enrichment["indicator"]["description"]),
            proto: text(&v["network"]["transport"]).map(|p| p.to_ascii_uppercase()),
        });
    }
    let episode = match v["event_type"].as_str() {
        Some("alert") => None,
        Some("episode") => Some(episode_of(&v["episode"])?),
        _ => return None,
    };
    Some(Alert {
        time: match &episode {
            Some(e) => e.0.clone(),
            None => rfc3339(v["timestamp"].as_str()?),
        },
        episode,
        victim: v["victim"].clone(),
        c2: v["c2"].clone(),
        family: text(&v["threat"]["software"]["name"]),
        feed: text(&v["threat"]["feed"]["name"]),
        indicator: text(&v["threat"]["indicator"]["value"]),
        proto: text(&v["proto"]),
    })
}

/// An episode's (first, last, contacts).
fn episode_of(e: &Value) -> Option<(String, String, u64)> {
    Some((
        rfc3339(e["first"].as_str()?),
        rfc3339(e["last"].as_str()?),
        e["contacts"].as_u64()?,
    ))
}

/// EVE's `...+0000` as `...Z`, so both forms sort and print alike.
fn rfc3339(t: &str) -> String {
    t.strip_suffix("+0000")
        .map_or(t.to_string(), |b| format!("{b}Z"))
}

impl Collector {
    /// Reads one NDJSON stream; `name` is how warnings name it.
    pub fn read(&mut self, src: impl BufRead, name: &str) -> std::io::Result<()> {
        for (i, line) in src.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                tracing::warn!("{name}:{}: not a JSON object, skipped", i + 1);
                self.bad_lines += 1;
                continue;
            };
            self.add_event(&v);
        }
        Ok(())
    }

    /// Adds one event (an alert or episode in EVE or ECS form; other events are counted).
    pub fn add_event(&mut self, v: &Value) {
        match alert_of(v) {
            Some(a) => self.add(a),
            None => self.other_events += 1,
        }
    }

    fn add(&mut self, a: Alert) {
        if a.episode.is_none() {
            self.alerts += 1;
        }
        let ip = text(&a.victim["ip"]).unwrap_or_default();
        let sub = &a.victim["subscriber"];
        let (key, source) = match text(&sub["id"]) {
            Some(id) => (id, text(&sub["source"]).unwrap_or_else(|| "map".into())),
            None => (ip.clone(), "address".to_string()),
        };
        let row = self
            .rows
            .entry((key.clone(), source.clone()))
            .or_insert_with(|| VictimRow {
                key,
                source,
                first_contact: a.time.clone(),
                last_contact: a.time.clone(),
                subscriber: (!sub.is_null()).then(|| sub.clone()),
                ..VictimRow::default()
            });
        let last = match &a.episode {
            Some((_, last, contacts)) => {
                row.episode_contacts += contacts;
                last.clone()
            }
            None => {
                row.alerts += 1;
                a.time.clone()
            }
        };
        row.addresses.insert(ip.clone());
        if let Some(m) = text(&a.victim["mac"]) {
            row.macs.insert(m);
        }
        let c2 = match (text(&a.c2["domain"]), text(&a.c2["ip"])) {
            (Some(d), Some(i)) => format!("{d} ({i})"),
            (Some(d), None) => d,
            (None, Some(i)) => i,
            (None, None) => String::new(),
        };
        if !c2.is_empty() {
            row.c2.insert(c2.clone());
        }
        row.families.extend(a.family.clone());
        row.feeds.extend(a.feed.clone());
        row.indicators.extend(a.indicator.clone());
        if a.time < row.first_contact {
            row.first_contact = a.time.clone();
        }
        if last > row.last_contact {
            row.last_contact = last;
        }
        let subscriber = (row.source != "address").then(|| row.key.clone());
        let family = a.family.clone().unwrap_or_default();
        let c = self
            .contacts
            .entry((ip, c2, family, subscriber.clone().unwrap_or_default()))
            .or_insert_with(|| Contact {
                time: a.time.clone(),
                last: a.time.clone(),
                feed: a.feed.clone().unwrap_or_default(),
                port: a.victim["port"].as_u64(),
                subscriber,
                c2_ip: text(&a.c2["ip"]),
                c2_port: a.c2["port"].as_u64(),
                indicator: a.indicator.clone(),
                proto: a.proto.clone(),
                alerts: 0,
                episode_contacts: 0,
            });
        if a.time < c.time {
            c.time = a.time.clone();
        }
        match &a.episode {
            Some((_, last, n)) => {
                c.episode_contacts += n;
                if *last > c.last {
                    c.last = last.clone();
                }
            }
            None => {
                c.alerts += 1;
                if a.time > c.last {
                    c.last = a.time.clone();
                }
            }
        }
    }

    /// Every (victim address, C2, family, subscriber) and its contacts, in that order.
    pub fn contacts(&self) -> impl Iterator<Item = (&str, &str, &str, &Contact)> {
        self.contacts
            .iter()
            .map(|((ip, c2, fam, _), c)| (ip.as_str(), c2.as_str(), fam.as_str(), c))
    }

    /// The rows, earliest first contact first.
    pub fn rows(&self) -> Vec<&VictimRow> {
        let mut v: Vec<&VictimRow> = self.rows.values().collect();
        v.sort_by(|a, b| (&a.first_contact, &a.key).cmp(&(&b.first_contact, &b.key)));
        v
    }

    /// The notification list as CSV (sets joined with `;`).
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "subscriber,source,addresses,macs,c2,families,feeds,indicators,first_contact,last_contact,alerts,contacts\n",
        );
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(";");
        for r in self.rows() {
            let fields = [
                r.key.clone(),
                r.source.clone(),
                join(&r.addresses),
                join(&r.macs),
                join(&r.c2),
                join(&r.families),
                join(&r.feeds),
                join(&r.indicators),
                r.first_contact.clone(),
                r.last_contact.clone(),
                r.alerts.to_string(),
                r.contacts().to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes the list to `path`: JSON when its name ends in `.json`, CSV otherwise.
    pub fn write_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&self.json())? + "\n"
        } else {
            self.csv()
        };
        std::fs::write(path, text)
    }

    /// The notification list as one JSON array.
    pub fn json(&self) -> Value {
        Value::Array(
            self.rows()
                .into_iter()
                .map(|r| {
                    json!({
                        "subscriber": r.key, "source": r.source, "subscriber_info": r.subscriber,
                        "addresses": r.addresses, "macs": r.macs, "c2": r.c2,
                        "families": r.families, "feeds": r.feeds, "indicators": r.indicators,
                        "first_contact": r.first_contact, "last_contact": r.last_contact,
                        "alerts": r.alerts, "contacts": r.contacts(),
                    })
                })
                .collect(),
        )
    }

    /// One IntelMQ-style event (harmonization field names) per victim address, C2 and family:
    /// `classification.type: infected-system`, for CERT hand-off.
    pub fn intelmq(&self) -> Vec<Value> {
        self.contacts
            .iter()
            .map(|((ip, c2, family, _), c)| {
                let mut e = json!({
                    "classification.taxonomy": "malicious-code",
                    "classification.type": "infected-system",
                    "source.ip": ip,
                    "time.source": c.time,
                    "feed.name": c.feed,
                    "extra.c2": c2,
                });
                if !family.is_empty() {
                    e["malware.name"] = json!(family.to_ascii_lowercase());
                    e["classification.identifier"] = json!(family.to_ascii_lowercase());
                }
                if let Some(p) = c.port {
                    e["source.port"] = json!(p);
                }
                if let Some(sub) = &c.subscriber {
                    e["extra.subscriber"] = json!(sub);
                }
                e
            })
            .collect()
    }
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVE: &str = r#"{"timestamp":"2023-11-14T22:13:25.000000+0000","event_type":"alert","victim":{"ip":"10.0.0.2","port":5,"mac":"02:00:00:00:00:0e","subscriber":{"id":"cust-1","source":"static"}},"c2":{"ip":"192.0.2.1","port":443,"domain":"c2.example"},"threat":{"indicator":{"value":"c2.example"},"feed":{"name":"f1"},"software":{"name":"RAT, Inc"}}}
{"timestamp":"2023-11-14T22:13:20.000000+0000","event_type":"alert","victim":{"ip":"10.0.0.3","port":6,"mac":null,"subscriber":{"id":"cust-1","source":"static"}},"c2":{"ip":"192.0.2.9","port":80},"threat":{"indicator":{"value":"192.0.2.9"},"feed":{"name":"f2"},"software":null}}
{"timestamp":"2023-11-14T22:14:00.000000+0000","event_type":"flow","victim":{"ip":"10.0.0.3"}}
not json
{"timestamp":"2023-11-14T22:15:00.000000+0000","event_type":"alert","victim":{"ip":"10.0.0.9","port":7,"mac":null,"subscriber":null},"c2":{"ip":"192.0.2.1","port":443},"threat":{"indicator":{"value":"192.0.2.1"},"feed":{"name":"f1"},"software":{"name":"RAT, Inc"}}}
"#;

    #[test]
    fn alerts_fold_into_one_row_per_subscriber() {
        let mut c = Collector::default();
        c.read(EVE.as_bytes(), "t").unwrap();
        assert_eq!((c.alerts, c.other_events, c.bad_lines), (3, 1, 1));
        let rows = c.rows();
        assert_eq!(rows.len(), 2);
        let r = rows[0];
        assert_eq!((r.key.as_str(), r.source.as_str()), ("cust-1", "static"));
        assert_eq!(r.addresses.len(), 2);
        assert_eq!(r.first_contact, "2023-11-14T22:13:20.000000Z");
        assert_eq!(r.last_contact, "2023-11-14T22:13:25.000000Z");
        assert_eq!(r.alerts, 2);
        assert!(r.c2.contains("c2.example (192.0.2.1)"));
        assert_eq!(rows[1].source, "address");
        let csv = c.csv();
        assert!(csv.contains("\"RAT, Inc\""), "{csv}");
        assert_eq!(csv.lines().count(), 3);
        let im = c.intelmq();
        assert_eq!(im.len(), 3);
        assert!(
            im.iter()
                .all(|e| e["classification.type"] == "infected-system")
        );
        assert_eq!(im[0]["extra.subscriber"], "cust-1");
        assert_eq!(im[0]["source.port"], 5);
    }
}
