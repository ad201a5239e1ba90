//! RFC 5424 syslog messages carrying one event's JSON as the message.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`: the MSGID is the event type
//! (`alert`, `flow`, `stats`, ...), no structured data, and the JSON as MSG. The timestamp is
//! the time the message was made (wall clock, UTC): the event's own packet-time `timestamp`
//! is inside the JSON. Over TCP and TLS each message is sent with octet counting (RFC 6587
//! §3.4.1: the length in decimal, a space, the message).

use crate::time::Timestamp;

/// Facility names and numbers (RFC 5424 §6.2.1).
const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// Severity of alerts (warning) and of every other event (informational).
const SEVERITY_ALERT: u8 = 4;
const SEVERITY_OTHER: u8 = 6;

/// The facility number of a name (`local5`, `daemon`, ...).
pub fn facility(name: &str) -> Result<u8, String> {
    FACILITIES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown syslog facility {name:?}: use one of {}",
                names.join(", ")
            )
        })
}

/// The header fields every message of one sink shares.
#[derive(Clone, Debug)]
pub struct Header {
    pub facility: u8,
    /// At most 255 printable ASCII characters (`-` when unknown).
    pub hostname: String,
    /// At most 48.
    pub app_name: String,
    pub procid: String,
}

/// Printable US-ASCII without spaces, cut to `max` (RFC 5424 header fields); `-` when empty.
fn field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() { "-".into() } else { f }
}

impl Header {
    pub fn new(facility: u8, hostname: Option<&str>, app_name: &str) -> Header {
        let host = hostname.map(str::to_string).unwrap_or_else(local_hostname);
        Header {
            facility,
            hostname: field(&host, 255),
            app_name: field(app_name, 48),
            procid: std::process::id().to_string(),
        }
    }

    /// The message for one event of type `event_type` made at `now`.
    pub fn message(&self, event_type: &str, json: &[u8], now: Timestamp) -> Vec<u8> {
        let severity = if event_type == "alert" {
            SEVERITY_ALERT
        } else {
            SEVERITY_OTHER
        };
        let pri = u16::from(self.facility) * 8 + u16::from(severity);
        let head = format!(
            "<{pri}>1 {} {} {} {} {} - ",
            now.rfc3339_micros_z(),
            self.hostname,
            self.app_name,
            self.procid,
            field(event_type, 32),
        );
        let mut m = Vec::with_capacity(head.len() + json.len());
        m.extend_from_slice(head.as_bytes());
        m.extend_from_slice(json);
        m
    }
}

/// Octet-counting framing for stream transports.
pub fn octet_counted(msg: &[u8]) -> Vec<u8> {
    let mut f = format!("{} ", msg.len()).into_bytes();
    f.extend_from_slice(msg);
    f
}

fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_an_rfc5424_message_with_the_json_as_msg() {
        let h = Header {
            facility: facility("local5").expect("facility"),
            hostname: field("sensor 1", 255),
            app_name: "c2watch".into(),
            procid: "42".into(),
        };
        let now = Timestamp::new(1_700_000_000, 123_456_000);
        let m = h.message("alert", br#"{"event_type":"alert"}"#, now);
        assert_eq!(
            String::from_utf8(m.clone()).expect("utf8"),
            r#"<172>1 2023-11-14T22:13:20.123456Z sensor1 c2watch 42 alert - {"event_type":"alert"}"#
        );
        let f = h.message("flow", b"{}", now);
        assert!(f.starts_with(b"<174>1 "), "informational: local5*8+6");
        assert_eq!(octet_counted(b"abc"), b"3 abc");
        assert!(facility("local9").is_err());
        assert_eq!(field("", 5), "-");
    }
}
