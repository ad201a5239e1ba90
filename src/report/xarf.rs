//! X-ARF abuse reports (the container format of x-arf.org, version 0.2) for CERT hand-off:
//! one e-mail per infected address, C2, malware family and subscriber, `Report-Type: bot-infection`,
//! written as an mbox so mail tools (formail, mutt, an MTA's sendmail -t per message) can
//! take them apart.
//!
//! Each message has the mandatory headers (`X-ARF: YES`, `Auto-Submitted: auto-generated`,
//! `Content-Type: multipart/mixed`) and three parts: a human-readable text, the report as
//! YAML (`report.txt`), and the evidence (the contact's facts as text). Everything comes from
//! packet time, so the same alerts give the same messages.

use super::victims::{Collector, Contact};
use std::fmt::Write;

/// Who sends the reports (`Reported-From`, `From`).
#[derive(Clone, Debug)]
pub struct Reporter {
    pub address: String,
}

/// A stable id for one (address, C2, family): FNV-1a, printed in hex.
fn id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// RFC 3339 (`2023-11-14T22:13:20.000000Z`) as an RFC 5322 date
/// (`Tue, 14 Nov 2023 22:13:20 +0000`); the input when it is not that shape.
fn mail_date(t: &str) -> String {
    let parse = || -> Option<String> {
        let (y, m, d) = (
            t.get(0..4)?.parse::<i64>().ok()?,
            t.get(5..7)?.parse::<u32>().ok()?,
            t.get(8..10)?.parse::<u32>().ok()?,
        );
        let hms = t.get(11..19)?;
        let days = crate::time::days_from_civil(y, m, d);
        let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
        let mon = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .get(m.checked_sub(1)? as usize)?;
        Some(format!("{wd}, {d:02} {mon} {y} {hms} +0000"))
    };
    parse().unwrap_or_else(|| t.to_string())
}

/// A YAML scalar: plain when safe, else double-quoted with escapes.
fn yaml(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@/+ ".contains(c))
        && !v.starts_with([' ', '-'])
        && !v.ends_with(' ');
    if plain {
        v.to_string()
    } else {
        let mut q = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(q, "\\u{:04x}", c as u32);
                }
                c => q.push(c),
            }
        }
        q.push('"');
        q
    }
}

/// mbox "From " quoting: a body line starting with `From ` (after any `>`) gets one more `>`.
fn mbox_safe(body: &str) -> String {
    body.lines()
        .map(|l| {
            if l.trim_start_matches('>').starts_with("From ") {
                format!(">{l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// One message.
fn message(r: &Reporter, ip: &str, c2: &str, family: &str, c: &Contact) -> String {
    let rid = id(&[ip, c2, family, c.subscriber.as_deref().unwrap_or("")]);
    let boundary = format!("=_c2watch_{rid}");
    let fam = if family.is_empty() {
        "an unknown family"
    } else {
        family
    };
    let source_type = if ip.contains(':') { "ipv6" } else { "ipv4" };
    let mut report = String::new();
    let mut field = |k: &str, v: &str| {
        let _ = writeln!(report, "{k}: {}", yaml(v));
    };
    field("Reported-From", &r.address);
    field("Category", "abuse");
    field("Report-Type", "bot-infection");
    field("Report-ID", &rid);
    field("Service", c.proto.as_deref().unwrap_or("ip"));
    field("Version", "0.2");
    field("User-Agent", concat!("c2watch ", env!("CARGO_PKG_VERSION")));
    field("Date", &c.time);
    field("Source", ip);
    field("Source-Type", source_type);
    if let Some(p) = c.port {
        field("Port", &p.to_string());
    }
    field("Destination", c.c2_ip.as_deref().unwrap_or(c2));
    if let Some(p) = c.c2_port {
        field("Destination-Port", &p.to_string());
    }
    if !c2.is_empty() {
        field("C2", c2);
    }
    if !family.is_empty() {
        field("Malware-Family", family);
    }
    if let Some(i) = &c.indicator {
        field("Indicator", i);
    }
    if !c.feed.is_empty() {
        field("Feed", &c.feed);
    }
    field("First-Seen", &c.time);
    field("Last-Seen", &c.last);
    field("Occurrences", &c.contacts().to_string());
    if let Some(s) = &c.subscriber {
        field("Subscriber", s);
    }
    field("Attachment", "text/plain");

    let human = format!(
        "Dear abuse team,\n\nthe system at {ip} contacted a command-and-control server of {fam}\n\
         ({c2}) {n} time(s) between {first} and {last} (UTC).\n\
         It is most likely infected. Please notify the subscriber.\n\n\
         This report was generated by c2watch; the machine-readable report follows in X-ARF\n\
         format (Report-Type: bot-infection).\n",
        c2 = if c2.is_empty() { "unnamed" } else { c2 },
        n = c.contacts(),
        first = c.time,
        last = c.last,
    );
    let evidence = format!(
        "victim={ip} victim_port={port} c2={c2} c2_ip={c2ip} c2_port={c2port} family={fam} \
         indicator={ind} feed={feed} first={first} last={last} contacts={n} alerts={alerts}\n",
        port = c.port.map_or("-".into(), |p| p.to_string()),
        c2ip = c.c2_ip.as_deref().unwrap_or("-"),
        c2port = c.c2_port.map_or("-".into(), |p| p.to_string()),
        fam = if family.is_empty() { "-" } else { family },
        ind = c.indicator.as_deref().unwrap_or("-"),
        feed = if c.feed.is_empty() { "-" } else { &c.feed },
        first = c.time,
        last = c.last,
        n = c.contacts(),
        alerts = c.alerts,
    );
    let date = mail_date(&c.time);
    let mut m = String::new();
    let _ = write!(
        m,
        "From c2watch {mbox_date}\n\
         From: {from}\n\
         To: {from}\n\
         Subject: abuse report about {ip} - {date}\n\
         Date: {date}\n\
         Message-ID: <{rid}@c2watch>\n\
         MIME-Version: 1.0\n\
         Auto-Submitted: auto-generated\n\
         X-ARF: YES\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\n\
         \n\
         --{boundary}\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         {human}\
         --{boundary}\n\
         Content-Type: text/plain; charset=utf-8; name=\"report.txt\"\n\
         Content-Transfer-Encoding: 8bit\n\
         Content-Disposition: attachment; filename=\"report.txt\"\n\
         \n\
         ---\n\
         {report}\
         --{boundary}\n\
         Content-Type: text/plain; charset=utf-8; name=\"evidence.txt\"\n\
         Content-Transfer-Encoding: 8bit\n\
         Content-Disposition: attachment; filename=\"evidence.txt\"\n\
         \n\
         {evidence}\
         --{boundary}--\n\n",
        mbox_date = mbox_date(&date),
        from = r.address,
        human = mbox_safe(&human),
        report = mbox_safe(&report),
        evidence = mbox_safe(&evidence),
    );
    m
}

/// The mbox separator's date (`Tue Nov 14 22:13:20 2023`) from an RFC 5322 date.
fn mbox_date(d: &str) -> String {
    let p: Vec<&str> = d.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    match p.as_slice() {
        [wd, day, mon, year, hms, ..] => format!("{wd} {mon} {day} {hms} {year}"),
        _ => d.to_string(),
    }
}

/// Every report of the collected alerts, as one mbox.
pub fn mbox(c: &Collector, r: &Reporter) -> String {
    c.contacts()
        .map(|(ip, c2, fam, contact)| message(r, ip, c2, fam, contact))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_ids_and_yaml() {
        assert_eq!(
            mail_date("2023-11-14T22:13:20.000000Z"),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
        assert_eq!(
            mbox_date("Tue, 14 Nov 2023 22:13:20 +0000"),
            "Tue Nov 14 22:13:20 2023"
        );
        assert_eq!(id(&["a", "b"]), id(&["a", "b"]));
        assert_ne!(id(&["ab", ""]), id(&["a", "b"]));
        assert_eq!(yaml("10.0.0.1"), "10.0.0.1");
        assert_eq!(yaml("RAT: v2"), "\"RAT: v2\"");
        assert_eq!(yaml("x\ny"), "\"x\\u000ay\"");
        assert_eq!(mbox_safe("From here\nok\n"), ">From here\nok\n");
    }
}
