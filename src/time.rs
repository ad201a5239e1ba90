//! Packet time. Every clock in c2watch (timeouts, dedup windows, alert timestamps) is packet
//! time, so a replay gives the same result however fast it runs.

use std::fmt;

/// A point in time as carried by a capture record: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp; `nanos` above one second carries into `secs`.
    pub fn new(secs: i64, nanos: u32) -> Timestamp {
        let carry = i64::from(nanos / 1_000_000_000);
        Timestamp {
            secs: secs.saturating_add(carry),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// `secs` and `nanos` as they are; `None` when `nanos` is not below one second.
    #[inline]
    pub fn exact(secs: i64, nanos: u32) -> Option<Timestamp> {
        (nanos < 1_000_000_000).then_some(Timestamp { secs, nanos })
    }

    /// The machine's clock now (for events not tied to a packet: live capture's periodic
    /// stats, idle flow expiry on a quiet link).
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::new(d.as_secs() as i64, d.subsec_nanos())
    }

    pub fn from_nanos(total: i128) -> Timestamp {
        let secs = total.div_euclid(1_000_000_000);
        let nanos = total.rem_euclid(1_000_000_000) as u32;
        Timestamp::new(secs.clamp(i64::MIN as i128, i64::MAX as i128) as i64, nanos)
    }

    pub fn secs(self) -> i64 {
        self.secs
    }

    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Seconds elapsed from `earlier` to `self` (negative when `self` is before it).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.as_nanos() - earlier.as_nanos()) as f64 / 1e9
    }

    /// `self + secs`, saturating.
    pub fn plus_secs(self, secs: u64) -> Timestamp {
        Timestamp::new(self.secs.saturating_add(secs as i64), self.nanos)
    }

    /// Suricata EVE style: `2023-11-14T22:13:20.123456+0000` (microseconds, UTC).
    pub fn eve(self) -> EveTime {
        EveTime::new(self)
    }

    /// RFC 3339 with seconds, UTC: `2023-11-14T22:13:20Z`.
    pub fn rfc3339_secs(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.secs);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// RFC 3339 with microseconds, UTC: `2023-11-14T22:13:20.123456Z` (syslog headers).
    pub fn rfc3339_micros_z(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.secs);
        let micros = self.nanos / 1000;
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
    }
}

/// The EVE timestamp format, `2023-11-14T22:13:20.123456+0000`, written into a fixed buffer
/// (every alert, flow record and episode carries one or more: no formatter machinery).
pub struct EveTime {
    buf: [u8; EVE_MAX],
    len: usize,
}

/// Room for the longest form: a 20-character year, and the 27 characters after it.
const EVE_MAX: usize = 48;

impl EveTime {
    fn new(t: Timestamp) -> EveTime {
        let (y, mo, d, h, mi, s) = civil(t.secs);
        let micros = t.nanos / 1000;
        let mut out = EveTime {
            buf: [0; EVE_MAX],
            len: 0,
        };
        match u32::try_from(y) {
            Ok(y) if y <= 9999 => {
                // Each field in its width, then the character after it.
                let fields = [
                    (y, 4, b'-'),
                    (mo, 2, b'-'),
                    (d, 2, b'T'),
                    (h, 2, b':'),
                    (mi, 2, b':'),
                    (s, 2, b'.'),
                ];
                for (v, width, after) in fields {
                    out.digits(v, width);
                    out.push(after);
                }
                out.digits(micros, 6);
                for b in *b"+0000" {
                    out.push(b);
                }
            }
            // Years outside 0..=9999 (only from absurd packet times): the formatter's form.
            _ => {
                use std::fmt::Write;
                let _ = write!(
                    out,
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}+0000"
                );
            }
        }
        out
    }

    #[inline]
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `v` in exactly `width` decimal digits (its lowest ones).
    #[inline]
    fn digits(&mut self, mut v: u32, width: usize) {
        let end = self.len + width;
        for i in (self.len..end).rev() {
            if let Some(slot) = self.buf.get_mut(i) {
                *slot = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
        self.len = end.min(EVE_MAX);
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are written.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl fmt::Write for EveTime {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            self.push(b);
        }
        Ok(())
    }
}

impl fmt::Display for EveTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EveTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Splits Unix seconds into (year, month, day, hour, minute, second), proleptic Gregorian, UTC.
fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (h, mi, s) = (
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    );
    // Days since 1970-01-01 to a civil date, counting in 400-year eras that start on 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let d = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = year_of_era + era * 400 + i64::from(mo <= 2);
    (y, mo, d, h, mi, s)
}

/// Days since the Unix epoch of a civil date (inverse of [`civil`]'s date part).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses the time forms feeds use into RFC 3339 UTC text: `YYYY-MM-DD HH:MM:SS` (abuse.ch,
/// meaning UTC), `YYYY-MM-DDTHH:MM:SSZ`, or a bare date `YYYY-MM-DD`. Returns `None` when the
/// text is not one of these.
pub fn normalize_feed_time(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches(" UTC");
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = t.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    if b.len() == 10 {
        return Some(format!("{y:04}-{mo:02}-{d:02}T00:00:00Z"));
    }
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let tail = &t[19..];
    let tail_ok = tail.is_empty()
        || tail == "Z"
        || tail == "+00:00"
        || (tail.starts_with('.')
            && tail[1..]
                .trim_end_matches('Z')
                .trim_end_matches("+00:00")
                .bytes()
                .all(|c| c.is_ascii_digit()));
    if !tail_ok {
        return None;
    }
    Some(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// Parses a feed time (any form [`normalize_feed_time`] takes) to a timestamp.
pub fn parse_feed_time(text: &str) -> Option<Timestamp> {
    let t = normalize_feed_time(text)?;
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u32>().ok());
    let days = days_from_civil(i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
    let secs =
        i64::from(num(11..13)?) * 3600 + i64::from(num(14..16)?) * 60 + i64::from(num(17..19)?);
    Some(Timestamp::new(days * 86_400 + secs, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_format_matches_the_schema_example() {
        let t = Timestamp::new(1_700_000_000, 123_456_789);
        assert_eq!(t.eve().to_string(), "2023-11-14T22:13:20.123456+0000");
        assert_eq!(t.rfc3339_secs(), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn eve_digits_match_the_formatter_for_every_year() {
        let formatted = |t: Timestamp| {
            let (y, mo, d, h, mi, s) = civil(t.secs);
            let micros = t.nanos / 1000;
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}+0000")
        };
        let secs = [
            i64::MIN / 4,
            -62_167_219_200 - 1, // 23:59:59 on the day before year 0 starts
            -62_167_219_200,     // 0000-01-01
            -1,
            0,
            1_700_000_000,
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800, // 10000-01-01
            i64::MAX / 4,
        ];
        for s in secs {
            for nanos in [0, 999, 1_000, 123_456_789, 999_999_999] {
                let t = Timestamp::new(s, nanos);
                assert_eq!(t.eve().to_string(), formatted(t), "{s} {nanos}");
            }
        }
    }

    #[test]
    fn civil_round_trips_across_eras() {
        for days in [-800_000i64, -1, 0, 1, 11_016, 19_675, 60_000, 2_000_000] {
            let (y, m, d, ..) = civil(days * 86_400);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil(951_782_400).1, 2); // 2000-02-29
        assert_eq!(civil(951_782_400).2, 29);
    }

    #[test]
    fn feed_times_normalize() {
        assert_eq!(
            normalize_feed_time("2026-08-20 07:30:05").as_deref(),
            Some("2026-08-20T07:30:05Z")
        );
        assert_eq!(
            normalize_feed_time("2026-09-01").as_deref(),
            Some("2026-09-01T00:00:00Z")
        );
        assert_eq!(
            normalize_feed_time("2026-09-01T10:00:00Z").as_deref(),
            Some("2026-09-01T10:00:00Z")
        );
        assert_eq!(
            normalize_feed_time("2026-08-30T10:00:00.000000+00:00").as_deref(),
            Some("2026-08-30T10:00:00Z")
        );
        assert_eq!(normalize_feed_time("yesterday"), None);
        let t = parse_feed_time("2023-11-14 22:13:20").unwrap();
        assert_eq!(t.secs(), 1_700_000_000);
        assert_eq!(t.rfc3339_secs(), "2023-11-14T22:13:20Z");
        assert_eq!(normalize_feed_time("2026-13-01"), None);
    }

    #[test]
    fn nanos_carry() {
        assert_eq!(
            Timestamp::new(1, 1_500_000_000),
            Timestamp::new(2, 500_000_000)
        );
        assert_eq!(Timestamp::from_nanos(-1), Timestamp::new(-1, 999_999_999));
    }
}
