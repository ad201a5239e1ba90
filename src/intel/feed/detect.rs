//! Content-based format detection (feed-formats.md, Appendix A), for the formats loaded so far.

use super::dataset::DatasetKind;
use crate::intel::set::HashKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// One indicator per line (feed-formats.md §6.5); also Feodo's and ET's `.txt` lists.
    Plain,
    FeodoCsv,
    FeodoJson,
    SpamhausText,
    SpamhausJson,
    SslblCerts,
    SslblJa3,
    ThreatfoxCsv,
    ThreatfoxJson,
    UrlhausCsv,
    /// Suricata IP reputation file.
    Iprep,
    ZeekIntel,
    MispEvent,
    /// MISP warninglist: known-benign values, always loaded as allowlist.
    MispWarninglist,
    /// A vendor CSV with columns named in a `[[feed]]` entry; never detected.
    Csv,
    /// STIX 2.x bundle, TAXII envelope or array of STIX objects.
    Stix,
    /// A plain list whose every value is a domain (`domain:PATH`).
    PlainDomain,
    /// A plain list of hashes of one declared kind (`ja3:PATH`, `x509-sha1:PATH`, ...).
    PlainHash(crate::intel::set::HashKind),
    /// A Suricata dataset/datarep file of a declared kind; never detected from content.
    Dataset(DatasetKind),
}

impl FeedFormat {
    const ALL: [(FeedFormat, &'static str); 27] = [
        (FeedFormat::Plain, "plain"),
        (FeedFormat::FeodoCsv, "feodo-csv"),
        (FeedFormat::FeodoJson, "feodo-json"),
        (FeedFormat::SpamhausText, "spamhaus"),
        (FeedFormat::SpamhausJson, "spamhaus-json"),
        (FeedFormat::SslblCerts, "sslbl-certs"),
        (FeedFormat::SslblJa3, "sslbl-ja3"),
        (FeedFormat::ThreatfoxCsv, "threatfox-csv"),
        (FeedFormat::ThreatfoxJson, "threatfox-json"),
        (FeedFormat::UrlhausCsv, "urlhaus-csv"),
        (FeedFormat::Iprep, "iprep"),
        (FeedFormat::ZeekIntel, "zeek-intel"),
        (FeedFormat::MispEvent, "misp"),
        (FeedFormat::Stix, "stix"),
        (FeedFormat::Csv, "csv"),
        (FeedFormat::MispWarninglist, "misp-warninglist"),
        (FeedFormat::PlainDomain, "domain"),
        (FeedFormat::PlainHash(HashKind::Ja3), "ja3"),
        (FeedFormat::PlainHash(HashKind::Ja3s), "ja3s"),
        (FeedFormat::PlainHash(HashKind::Ja4), "ja4"),
        (FeedFormat::PlainHash(HashKind::CertSha1), "x509-sha1"),
        (FeedFormat::PlainHash(HashKind::CertSha256), "x509-sha256"),
        (FeedFormat::Dataset(DatasetKind::Ipv4), "dataset-ipv4"),
        (FeedFormat::Dataset(DatasetKind::Ip), "dataset-ip"),
        (FeedFormat::Dataset(DatasetKind::Ja3), "dataset-ja3"),
        (FeedFormat::Dataset(DatasetKind::Domain), "dataset-domain"),
        (FeedFormat::Dataset(DatasetKind::Url), "dataset-url"),
    ];

    pub fn as_str(self) -> &'static str {
        FeedFormat::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("plain", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<FeedFormat> {
        FeedFormat::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(f, _)| *f)
    }

    /// Every format that can be forced, in a fixed order.
    pub fn all() -> impl Iterator<Item = FeedFormat> {
        FeedFormat::ALL.iter().map(|(f, _)| *f)
    }

    pub fn names() -> Vec<&'static str> {
        FeedFormat::ALL.iter().map(|(_, n)| *n).collect()
    }

    /// Decides from the first bytes of the feed (after decompression).
    pub fn detect(head: &[u8]) -> FeedFormat {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}');
        let trimmed = text.trim_start();
        if trimmed.starts_with('[')
            && (trimmed.contains("\"ip_address\"") || trimmed.trim_end() == "[]")
        {
            return FeedFormat::FeodoJson;
        }
        if trimmed.starts_with('{')
            && (trimmed.contains("\"Event\"") || trimmed.contains("\"response\""))
            && trimmed.contains("\"Attribute\"")
        {
            return FeedFormat::MispEvent;
        }
        if super::warninglist::looks_like(trimmed) {
            return FeedFormat::MispWarninglist;
        }
        if super::stix::looks_like(trimmed) {
            return FeedFormat::Stix;
        }
        if trimmed.starts_with('{') && trimmed.contains("\"ioc_value\"") {
            return FeedFormat::ThreatfoxJson;
        }
        let mut data_lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if let Some(first) = data_lines.clone().next()
            && first.starts_with('{')
            && first.contains("\"sblid\"")
        {
            return FeedFormat::SpamhausJson;
        }
        let is_feodo_header = |l: &str| {
            let l = l.trim_start_matches(['#', ' ']);
            (l.contains("first_seen_utc") && l.contains("dst_ip") && l.contains("c2_status"))
                || l.starts_with("Firstseen,DstIP,DstPort,LastOnline,Malware")
        };
        if data_lines.clone().any(is_feodo_header) {
            return FeedFormat::FeodoCsv;
        }
        let header = |l: &str, h: &str| l.trim_start_matches(['#', ' ']).starts_with(h);
        if data_lines
            .clone()
            .any(|l| l.starts_with('#') && l.contains("\"ioc_id\",\"ioc_value\",\"ioc_type\""))
        {
            return FeedFormat::ThreatfoxCsv;
        }
        if data_lines
            .clone()
            .any(|l| header(l, "id,dateadded,url,url_status"))
        {
            return FeedFormat::UrlhausCsv;
        }
        if data_lines
            .clone()
            .any(|l| header(l, "Listingdate,SHA1,Listingreason"))
        {
            return FeedFormat::SslblCerts;
        }
        if data_lines
            .clone()
            .any(|l| header(l, "ja3_md5,Firstseen,Lastseen,Listingreason"))
        {
            return FeedFormat::SslblJa3;
        }
        if super::zeek::looks_like(text) {
            return FeedFormat::ZeekIntel;
        }
        if super::iprep::looks_like(text) {
            return FeedFormat::Iprep;
        }
        let spamhaus_row = |l: &str| {
            l.split_once(';')
                .is_some_and(|(v, r)| !v.trim().is_empty() && r.trim_start().starts_with("SBL"))
        };
        if data_lines
            .clone()
            .any(|l| !l.starts_with(';') && spamhaus_row(l))
            || data_lines
                .next()
                .is_some_and(|l| l.starts_with("; Spamhaus"))
        {
            return FeedFormat::SpamhausText;
        }
        FeedFormat::Plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        let d = |s: &str| FeedFormat::detect(s.as_bytes());
        assert_eq!(d("# Feodo\n203.0.113.10\n"), FeedFormat::Plain);
        assert_eq!(
            d(
                "####\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
            ),
            FeedFormat::FeodoCsv
        );
        assert_eq!(
            d(
                "# Firstseen,DstIP,DstPort,LastOnline,Malware\n2019-01-01 00:00:00,203.0.113.1,443,2019-01-02,Emotet\n"
            ),
            FeedFormat::FeodoCsv
        );
        assert_eq!(
            d("[\n {\"ip_address\": \"203.0.113.10\", \"port\": 443}\n]"),
            FeedFormat::FeodoJson
        );
        assert_eq!(d("[]\n"), FeedFormat::FeodoJson);
        assert_eq!(
            d("; Spamhaus DROP List\n198.51.100.0/24 ; SBL000001\n; EOF\n"),
            FeedFormat::SpamhausText
        );
        assert_eq!(
            d("{\"cidr\":\"198.51.100.0/24\",\"sblid\":\"SBL1\",\"rir\":\"arin\"}\n"),
            FeedFormat::SpamhausJson
        );
        assert_eq!(
            FeedFormat::from_name("FEODO-CSV"),
            Some(FeedFormat::FeodoCsv)
        );
        assert_eq!(
            d("#\n# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n"),
            FeedFormat::ThreatfoxCsv
        );
        assert_eq!(
            d("{\"100001\": [{\"ioc_value\": \"a.example\"}]}"),
            FeedFormat::ThreatfoxJson
        );
        assert_eq!(
            d("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"),
            FeedFormat::UrlhausCsv
        );
        assert_eq!(
            d("# Listingdate,SHA1,Listingreason\n"),
            FeedFormat::SslblCerts
        );
        assert_eq!(
            FeedFormat::from_name("ja3"),
            Some(FeedFormat::PlainHash(HashKind::Ja3))
        );
        assert_eq!(
            d("203.0.113.10,1,120\n198.51.100.0/24,2,100\n"),
            FeedFormat::Iprep
        );
        assert_eq!(d("203.0.113.10,some note\n"), FeedFormat::Plain);
        assert_eq!(
            d("#fields\tindicator\tindicator_type\tmeta.source\n203.0.113.10\tIntel::ADDR\tx\n"),
            FeedFormat::ZeekIntel
        );
        assert_eq!(
            d("{\"Event\": {\"info\": \"x\", \"Attribute\": []}}"),
            FeedFormat::MispEvent
        );
    }
}
