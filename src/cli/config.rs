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
    /// Subscriber maps (`--subscribers`), relative to the config's folder.
    #[serde(default)]
    pub subscribers: Vec<String>,
    /// Read RADIUS accounting on the wire for `victim.subscriber` (default true;
    /// `--no-radius`).
    pub radius: Option<bool>,
    /// `eve` or `ecs` (`--alert-format`).
    pub alert_format: Option<crate::alert::output::AlertFormat>,
    /// A path (`output = "alerts.json"`), or sinks (`[[output]]` tables, see [`OutputSection`]).
    pub output: Option<toml::Value>,
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
    /// `c2watch capture` settings (`[capture]`); the same names as its flags.
    #[serde(default)]
    pub capture: CaptureSection,
}

/// `[capture]`: live capture. Each key is the flag of the same name.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CaptureSection {
    #[serde(default)]
    pub interface: Vec<String>,
    /// Workers per interface (default: one per core).
    pub workers: Option<usize>,
    pub filter: Option<String>,
    pub snaplen: Option<u32>,
    /// Kernel ring per worker, in MiB.
    pub buffer_size: Option<u32>,
    pub promisc: Option<bool>,
    pub immediate: Option<bool>,
    pub timeout_ms: Option<u32>,
    /// Seconds between `stats` events (integer or duration string; 0 turns them off).
    pub stats_interval: Option<toml::Value>,
    pub metrics_listen: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
}

/// One `[[output]]` entry: a sink. Which keys apply depends on `type`.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// `stdout`, `file`, `syslog` or `unix`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Names the sink in logs and stats, and its spool folder (default: type and position).
    pub name: Option<String>,
    /// `file`: the log file; `unix`: the datagram socket.
    pub path: Option<String>,
    /// `file`: append to what is there (default) or start empty.
    pub append: Option<bool>,
    /// `file`: rotate when the file would pass this size (bytes, or `100MiB`, `1GiB`).
    pub rotate_size: Option<toml::Value>,
    /// `file`: rotated files kept (default 5).
    pub rotate_keep: Option<u32>,
    /// `syslog`: `host:port` of the receiver.
    pub address: Option<String>,
    /// `syslog`: `udp` (default), `tcp` or `tls`.
    pub transport: Option<String>,
    /// `syslog`: facility name (default `local5`).
    pub facility: Option<String>,
    /// `syslog`: APP-NAME (default `c2watch`).
    pub app_name: Option<String>,
    /// `syslog`: HOSTNAME (default: this machine's name).
    pub hostname: Option<String>,
    /// `syslog` over TLS: CA certificates (PEM) to trust instead of the system's.
    pub ca_file: Option<String>,
    /// `syslog` over TLS: the name the receiver's certificate must carry.
    pub server_name: Option<String>,
    /// `syslog`, `unix`: the spool folder for events the receiver could not take.
    pub spool: Option<String>,
    /// Largest spool (bytes, or `256MiB`; default 256MiB).
    pub spool_size: Option<toml::Value>,
    /// How often a receiver that is down is retried (`5s`, or seconds; default 5s).
    pub retry: Option<toml::Value>,
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
    /// How often to refresh the source while running (`15m`, `1h`, or seconds).
    pub refresh: Option<toml::Value>,
    /// Largest feed read (bytes, or `100MiB`; default 1 GiB for files, 512 MiB downloads).
    pub max_size: Option<toml::Value>,
    /// HTTP(S)/TAXII: how long one request may take in all (`30s`; default 60 s).
    pub timeout: Option<toml::Value>,
    /// Entries first/last seen longer ago stop matching; a feed older than this warns.
    pub max_age: Option<toml::Value>,
    /// TAXII 2.1: the collection's id or title (`source` is then the discovery URL).
    pub collection: Option<String>,
    /// TAXII 2.1: the API root (default: the server's default API root).
    pub api_root: Option<String>,
    /// TAXII 2.1: objects asked for per page (default 1000).
    pub page_size: Option<u32>,
    /// HTTP basic authentication: the user name; the password from `password_env` or
    /// `password_file`.
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    /// Bearer token authentication: the token from `token_env` or `token_file`.
    pub token_env: Option<String>,
    pub token_file: Option<String>,
}

/// A duration key: seconds (integer) or a duration string (`90s`, `30m`, `1h`, `1d`).
pub fn duration_value(key: &str, v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        toml::Value::String(s) => parse_duration(s).map_err(|e| format!("{key}: {e}")),
        other => Err(format!(
            "{key} = {other}: expected seconds or a duration such as \"1h\""
        )),
    }
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
        let credentials = self.credentials(base).map_err(|e| format!("{what}: {e}"))?;
        if !is_url && (credentials.is_some() || self.collection.is_some()) {
            return Err(format!(
                "{what}: credentials and `collection` are for http(s) sources, and `{}` is a local path",
                self.source
            ));
        }
        if self.collection.is_none() && (self.api_root.is_some() || self.page_size.is_some()) {
            return Err(format!(
                "{what}: api_root and page_size are for TAXII sources: add `collection = \"<id or title>\"`"
            ));
        }
        if self.collection.is_some() && format.is_some() {
            return Err(format!(
                "{what}: a TAXII collection is always STIX 2.1: remove `format`"
            ));
        }
        if self.page_size == Some(0) {
            return Err(format!("{what}: page_size must be at least 1"));
        }
        let secs =
            |key: &str, v: &Option<toml::Value>| -> Result<Option<std::time::Duration>, String> {
                match v {
                    Some(v) => match duration_value(key, v).map_err(|e| format!("{what}: {e}"))? {
                        0 => Err(format!("{what}: {key} must be more than 0")),
                        n => Ok(Some(std::time::Duration::from_secs(n))),
                    },
                    None => Ok(None),
                }
            };
        let refresh = secs("refresh", &self.refresh)?;
        let max_age = secs("max_age", &self.max_age)?;
        let timeout = secs("timeout", &self.timeout)?;
        let max_size = self
            .max_size
            .as_ref()
            .map(|v| parse_size("max_size", v))
            .transpose()
            .map_err(|e| format!("{what}: {e}"))?;
        if let Some(r) = refresh
            && r.as_secs() < 60
            && is_url
        {
            tracing::warn!(
                "{what}: refresh = {}s may hammer the server; publishers ask for minutes or hours",
                r.as_secs()
            );
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
            taxii: self
                .collection
                .as_ref()
                .map(|c| crate::intel::taxii::TaxiiSource {
                    collection: c.clone(),
                    api_root: self.api_root.clone(),
                    page_size: self
                        .page_size
                        .unwrap_or(crate::intel::taxii::DEFAULT_PAGE_SIZE),
                }),
            credentials,
            refresh,
            max_age,
            shown_as: None,
            max_size,
            timeout,
        }))
    }

    /// The credentials the entry names (never the secret itself: where to read it).
    fn credentials(
        &self,
        base: &Path,
    ) -> Result<Option<crate::intel::credentials::Credentials>, String> {
        use crate::intel::credentials::{Credentials, Secret};
        let secret = |env: &Option<String>, file: &Option<String>, what: &str| match (env, file) {
            (Some(_), Some(_)) => Err(format!("give {what}_env or {what}_file, not both")),
            (Some(v), None) => Ok(Some(Secret::Env(v.clone()))),
            (None, Some(f)) => Ok(Some(Secret::File(base.join(f)))),
            (None, None) => Ok(None),
        };
        let password = secret(&self.password_env, &self.password_file, "password")?;
        let token = secret(&self.token_env, &self.token_file, "token")?;
        match (&self.username, password, token) {
            (Some(_), _, Some(_)) | (None, Some(_), Some(_)) => Err(
                "basic (username + password_env/password_file) or bearer (token_env/token_file) authentication, not both".into(),
            ),
            (Some(u), Some(p), None) => Ok(Some(Credentials::Basic {
                username: u.clone(),
                password: p,
            })),
            (Some(_), None, None) => Err(
                "username without a password: add password_env = \"VAR\" or password_file = \"PATH\" (never the password itself)".into(),
            ),
            (None, Some(_), None) => Err("password_env/password_file without a username".into()),
            (None, None, Some(t)) => Ok(Some(Credentials::Bearer(t))),
            (None, None, None) => Ok(None),
        }
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
        for list in [&mut cfg.intel, &mut cfg.allow, &mut cfg.subscribers] {
            for p in list.iter_mut() {
                *p = relative_to(&base, p);
            }
        }
        if let Some(c) = &mut cfg.cache_dir {
            *c = relative_to(&base, c);
        }
        Ok(cfg)
    }
}

/// Resolves a path from the config against the config's folder, keeping a `FORMAT:` prefix.
pub fn relative_to(base: &Path, spec: &str) -> String {
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

/// `1048576`, `512KiB`, `256MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB` as powers of 1024).
pub fn parse_size(key: &str, v: &toml::Value) -> Result<u64, String> {
    let bad = || format!("{key} = {v}: expected bytes or a size such as \"256MiB\"");
    match v {
        toml::Value::Integer(n) if *n > 0 => Ok(*n as u64),
        toml::Value::String(s) => {
            let t = s.trim();
            let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            let n: u64 = t[..split].parse().map_err(|_| bad())?;
            let shift = match t[split..].trim().to_ascii_lowercase().as_str() {
                "" | "b" => 0,
                "k" | "kb" | "kib" => 10,
                "m" | "mb" | "mib" => 20,
                "g" | "gb" | "gib" => 30,
                _ => return Err(bad()),
            };
            n.checked_shl(shift).filter(|b| *b > 0).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
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
    fn sizes() {
        let s = |t: &str| parse_size("k", &toml::Value::String(t.into()));
        assert_eq!(s("256MiB"), Ok(256 << 20));
        assert_eq!(s("1G"), Ok(1 << 30));
        assert_eq!(s("10"), Ok(10));
        assert!(s("10 parsecs").is_err());
        assert!(s("0").is_err());
        assert_eq!(parse_size("k", &toml::Value::Integer(5)), Ok(5));
    }

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
