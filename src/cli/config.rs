//! The TOML config file: same keys as the flags (with `_` for `-`), paths relative to the
//! config file's folder.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub intel: Vec<String>,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub home_net: Vec<String>,
    pub output: Option<String>,
    pub workers: Option<usize>,
    /// Seconds (integer) or a duration string (`90s`, `30m`, `1h`, `1d`).
    pub dedup_window: Option<toml::Value>,
    pub dedup_capacity: Option<usize>,
    /// DNS answers of listed names remembered per worker.
    pub dns_cache: Option<usize>,
    #[serde(default)]
    pub flow: FlowSection,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FlowSection {
    pub max_flows: Option<usize>,
    pub tcp_timeout: Option<u64>,
    pub tcp_closed_timeout: Option<u64>,
    pub udp_timeout: Option<u64>,
    pub other_timeout: Option<u64>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        let mut cfg: ConfigFile =
            toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for list in [&mut cfg.intel, &mut cfg.allow] {
            for p in list.iter_mut() {
                *p = relative_to(&base, p);
            }
        }
        if let Some(o) = &mut cfg.output {
            *o = relative_to(&base, o);
        }
        Ok(cfg)
    }
}

/// Resolves a path from the config against the config's folder, keeping a `FORMAT:` prefix.
fn relative_to(base: &Path, spec: &str) -> String {
    let (prefix, path) = match spec.split_once(':') {
        Some((f, rest)) if crate::intel::feed::FeedFormat::from_name(f).is_some() => {
            (format!("{f}:"), rest)
        }
        _ => (String::new(), spec),
    };
    if path == "-" || Path::new(path).is_absolute() {
        return spec.to_string();
    }
    let joined: PathBuf = base.join(path);
    format!("{prefix}{}", joined.display())
}

/// Parses `3600`, `90s`, `30m`, `1h`, `1d` into seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{s}`: expected e.g. 3600, 90s, 30m, 1h or 1d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("invalid duration `{s}`: unit must be s, m, h or d")),
    };
    Ok(n.saturating_mul(mult))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let base = Path::new("/etc/c2watch");
        assert_eq!(relative_to(base, "feeds/a.txt"), "/etc/c2watch/feeds/a.txt");
        assert_eq!(
            relative_to(base, "plain:feeds/a.txt"),
            "plain:/etc/c2watch/feeds/a.txt"
        );
        assert_eq!(relative_to(base, "/var/x.txt"), "/var/x.txt");
    }
}
