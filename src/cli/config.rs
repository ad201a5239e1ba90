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
    /// Where feeds fetched over HTTP(S) are cached (default `~/.cache/c2watch/feeds`).
    pub cache_dir: Option<String>,
    /// The config file's folder (relative paths start there).
    #[serde(skip)]
    pub base: PathBuf,
    /// Declared feeds (`[[feed]]`), loaded with `intel`.
    #[serde(default)]
    pub feed: Vec<FeedSection>,
}

/// One `[[feed]]` entry: a named source with options.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct FeedSection {
    pub name: Option<String>,
    /// A file or a directory (relative to the config file).
    pub source: String,
    /// A format name (`c2watch intel check` lists them); detected from content when absent.
    pub format: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    pub min_confidence: Option<u8>,
    /// Refuse an update that keeps less than this fraction of the last good copy's entries
    /// (0.0-1.0; default 0.5).
    pub min_keep: Option<f64>,
    /// For `format = "csv"`: which header names hold the value and the metadata.
    pub columns: Option<crate::intel::feed::Columns>,
}

fn enabled_by_default() -> bool {
    true
}

impl FeedSection {
    /// The checked feed definition, or what is wrong with the entry.
    pub fn resolve(
        &self,
        base: &Path,
        cache_dir: Option<&Path>,
    ) -> Result<Option<crate::intel::feed::FeedDef>, String> {
        use crate::intel::feed::{FeedDef, FeedFormat};
        let what = format!(
            "[[feed]] {}",
            self.name.as_deref().unwrap_or(self.source.as_str())
        );
        if !self.enabled {
            return Ok(None);
        }
        let is_url = self.source.starts_with("http://") || self.source.starts_with("https://");
        let format = match &self.format {
            Some(f) => Some(FeedFormat::from_name(f).ok_or_else(|| {
                format!(
                    "{what}: unknown format `{f}` (known: {})",
                    FeedFormat::names().join(", ")
                )
            })?),
            None => None,
        };
        if let Some(c) = self.min_confidence
            && c > 100
        {
            return Err(format!("{what}: min_confidence must be 0-100, not {c}"));
        }
        if let Some(k) = self.min_keep
            && !(0.0..=1.0).contains(&k)
        {
            return Err(format!(
                "{what}: min_keep is a fraction from 0.0 to 1.0, not {k}"
            ));
        }
        match (&self.columns, format) {
            (Some(cols), Some(FeedFormat::Csv)) => {
                cols.validate().map_err(|e| format!("{what}: {e}"))?
            }
            (None, Some(FeedFormat::Csv)) => {
                return Err(format!(
                    "{what}: format \"csv\" needs [feed.columns] with at least `value = \"<header name>\"`"
                ));
            }
            (Some(_), _) => {
                return Err(format!(
                    "{what}: [feed.columns] is only for format = \"csv\""
                ));
            }
            _ => {}
        }
        Ok(Some(FeedDef {
            source: if is_url || Path::new(&self.source).is_absolute() {
                self.source.clone()
            } else {
                base.join(&self.source).display().to_string()
            },
            format,
            name: self.name.clone(),
            min_confidence: self.min_confidence,
            columns: self.columns.clone(),
            cache_dir: cache_dir.map(Path::to_path_buf),
            min_keep: self.min_keep,
        }))
    }
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
        cfg.base = base.clone();
        for list in [&mut cfg.intel, &mut cfg.allow] {
            for p in list.iter_mut() {
                *p = relative_to(&base, p);
            }
        }
        if let Some(c) = &mut cfg.cache_dir {
            *c = relative_to(&base, c);
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
