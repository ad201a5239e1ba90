//! Feed loaders: one module per format, the format detected from content
//! (feed-formats.md, Appendix A) unless the user forces one with `FORMAT:PATH`.
//!
//! Every loader streams its input, skips bad rows with a counted reason (the first few logged
//! as `file:line: reason`), and fails a file that has data but yields no indicator.

mod csv;
mod dataset;
mod detect;
mod feodo;
mod iprep;
pub mod lines;
mod misp;
mod plain;
mod spamhaus;
mod sslbl;
mod stix;
pub use stix::pattern_indicators as stix_pattern_indicators;
mod threatfox;
mod warninglist;
mod zeek;

pub use csv::Columns;
pub use detect::FeedFormat;

use super::indicator::Meta;
use super::keep::Keep;
use super::set::{IndicatorSetBuilder, Key};
use crate::input::{self, Progress};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bad rows logged per file at `warn`; the rest only counted.
const LOGGED_SKIPS: u64 = 5;

/// What a feed file is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Indicators,
    Allowlist,
}

/// One feed as the operator declared it: a `--intel` spec (`PATH` or `FORMAT:PATH`) or a
/// `[[feed]]` entry of the config file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeedDef {
    /// A file or a directory.
    pub source: String,
    /// Forced format; `None` detects it from content.
    pub format: Option<FeedFormat>,
    /// Feed name in alerts; default: the file name without extensions.
    pub name: Option<String>,
    /// Entries whose feed-given confidence is below this are not loaded (counted); entries
    /// without a confidence are kept.
    pub min_confidence: Option<u8>,
    /// Column names, for `format = "csv"`.
    pub columns: Option<Columns>,
    /// Where HTTP(S) sources are cached; default [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// An update with fewer entries than this fraction of the last good copy's is refused
    /// (a truncated download, a publisher's bad day); default [`DEFAULT_MIN_KEEP`].
    pub min_keep: Option<f64>,
    /// For a TAXII 2.1 source (`source` is then the discovery URL): which collection.
    pub taxii: Option<crate::intel::taxii::TaxiiSource>,
    /// How to authenticate to an HTTP(S) or TAXII server.
    pub credentials: Option<crate::intel::credentials::Credentials>,
    /// How often the feed manager refreshes the source while c2watch runs.
    pub refresh: Option<std::time::Duration>,
    /// Entries first or last seen longer ago than this stop matching; a feed not updated for
    /// longer raises a warning.
    pub max_age: Option<std::time::Duration>,
    /// The path logs and errors show in place of `source` (the feed manager loads copies of
    /// the operator's files and names the originals).
    pub shown_as: Option<String>,
    /// Largest feed read, in bytes after decompression (default [`DEFAULT_MAX_SIZE`]; for
    /// HTTP(S) and TAXII, the largest download, default 512 MiB).
    pub max_size: Option<u64>,
    /// HTTP(S) and TAXII: how long one request may take in all (default 60 s).
    pub timeout: Option<std::time::Duration>,
}

/// Default largest local feed: 1 GiB after decompression. A larger file (or a decompression
/// bomb) is an error that names the limit, not an exhausted memory.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;

/// Reads at most `left` bytes; past that, an error that says which limit was hit.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file of exactly `limit` bytes from a larger one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "the feed is larger than {} (max_size; raise it in its [[feed]] entry)",
                    human_bytes(self.limit)
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// `1 GiB`, `512 MiB`, `300 KiB`, `12 bytes`.
fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n.is_multiple_of(1 << 30) => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

impl FeedDef {
    /// How `path` (the source, or a file under it) is shown to the operator.
    fn display(&self, path: &Path) -> String {
        let p = path.display().to_string();
        match (&self.shown_as, p.strip_prefix(self.source.as_str())) {
            (Some(shown), Some(rest)) => format!("{shown}{rest}"),
            _ => p,
        }
    }
}

/// Default for [`FeedDef::min_keep`]: an update may not lose more than half the feed at once.
pub const DEFAULT_MIN_KEEP: f64 = 0.5;

/// `$XDG_CACHE_HOME/c2watch/feeds`, else `~/.cache/c2watch/feeds`, else a folder in the
/// system temporary directory.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("c2watch")
        .join("feeds")
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// A feed name from a URL: its last path segment without extensions.
fn url_feed_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("feed");
    feed_name(Path::new(last))
}

/// How a load reaches its sources.
pub struct LoadOptions<'k> {
    /// Last good copies of local feeds (the feed manager's); `None` reads the files as they
    /// are, with no fallback.
    pub keep: Option<&'k mut Keep>,
    /// Contact servers; when false, a remote feed with a cached copy uses it as it is (a
    /// reload for another feed's sake does not refresh this one before its time).
    pub fetch_remote: bool,
    /// The caller still has what the last good copy loaded: when the copy to load is that
    /// one (unchanged, or the refresh failed), nothing is read, and `reused` says so.
    pub reuse: bool,
    /// Set when the feed was not read because `reuse` allowed it; the reports returned then
    /// carry only the feed's name, source, staleness and update time.
    pub reused: bool,
}

impl LoadOptions<'_> {
    /// Files read directly, servers contacted: what one-shot commands do.
    pub fn direct() -> LoadOptions<'static> {
        LoadOptions {
            keep: None,
            fetch_remote: true,
            reuse: false,
            reused: false,
        }
    }
}

/// Where a feed's last good copy lives.
enum Store<'a> {
    /// The download cache of a remote feed.
    Cache { dir: &'a Path, name: &'a str },
    /// The feed manager's copies of a local feed.
    Keep { keep: &'a mut Keep, source: &'a str },
}

impl Store<'_> {
    fn commit(&mut self, entries: u64) -> Result<(), String> {
        match self {
            Store::Cache { dir, name } => crate::intel::fetch::commit(dir, name, entries),
            Store::Keep { keep, source } => keep.commit(source, entries),
        }
    }

    fn discard(&mut self) {
        match self {
            Store::Cache { dir, name } => crate::intel::fetch::discard(dir, name),
            Store::Keep { keep, source } => keep.discard(source),
        }
    }
}

type LoadFn<'f> =
    dyn FnMut(&Path, &mut IndicatorSetBuilder) -> Result<Vec<FeedReport>, FeedError> + 'f;

/// Loads what a refresh gave: new content replaces the last good copy only when it loads
/// and does not shrink below `min_keep`; otherwise (or when the source failed) the last good
/// copy is loaded and the second value says why the feed is stale. The first load of a feed
/// (no last good copy) goes straight into `builder`: it either loads or is an error. With
/// `reuse`, the last good copy is not read again (`None`: the caller keeps what it loaded).
fn accept(
    shown: &str,
    def: &FeedDef,
    fetched: crate::intel::fetch::Fetched,
    store: &mut Store,
    builder: &mut IndicatorSetBuilder,
    load: &mut LoadFn,
    reuse: bool,
) -> Result<(Option<Vec<FeedReport>>, Option<String>), FeedError> {
    use crate::intel::fetch::Fetched;
    let err = |reason: String| FeedError {
        path: shown.to_string(),
        line: None,
        reason,
    };
    let entries = |r: &[FeedReport]| r.iter().map(|r| r.entries).sum::<u64>();
    match fetched {
        Fetched::NotModified(_) if reuse => Ok((None, None)),
        Fetched::NotModified(p) => Ok((Some(load(&p, builder)?), None)),
        Fetched::Stale { cached, reason } => {
            tracing::warn!("{shown}: {reason}; using the last good copy");
            if reuse {
                return Ok((None, Some(reason)));
            }
            Ok((Some(load(&cached, builder)?), Some(reason)))
        }
        Fetched::Updated {
            new,
            previous: None,
        } => match load(&new, builder) {
            Ok(r) => {
                store.commit(entries(&r)).map_err(err)?;
                Ok((Some(r), None))
            }
            Err(e) => {
                store.discard();
                Err(e)
            }
        },
        Fetched::Updated {
            new,
            previous: Some((previous, before)),
        } => {
            // Loaded once, straight into `builder` (it holds only this feed); thrown away
            // if refused.
            let min_keep = def.min_keep.unwrap_or(DEFAULT_MIN_KEEP);
            let checked = load(&new, builder).and_then(|r| {
                let got = entries(&r);
                match before {
                    Some(before) if (got as f64) < (before as f64) * min_keep => Err(err(format!(
                        "the update has {got} entries, the last good copy {before}: a shrink below {:.0}% is refused (min_keep)",
                        min_keep * 100.0
                    ))),
                    _ => Ok(r),
                }
            });
            match checked {
                Ok(r) => {
                    store.commit(entries(&r)).map_err(err)?;
                    Ok((Some(r), None))
                }
                Err(e) => {
                    store.discard();
                    *builder = IndicatorSetBuilder::new();
                    let reason = format!("the update was refused: {e}");
                    tracing::warn!("{shown}: {reason}; using the last good copy");
                    if reuse {
                        return Ok((None, Some(reason)));
                    }
                    Ok((Some(load(&previous, builder)?), Some(reason)))
                }
            }
        }
    }
}

/// Loads a feed served over HTTP(S), or a TAXII collection, through its download cache.
fn load_remote(
    url: &str,
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
    opts: &mut LoadOptions,
) -> Result<Vec<FeedReport>, FeedError> {
    use crate::intel::fetch::{self, FetchLimits, Fetched};
    let fetch_remote = opts.fetch_remote;
    let name = def.name.clone().unwrap_or_else(|| url_feed_name(url));
    let cache = def.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let err = |reason: String| FeedError {
        path: url.to_string(),
        line: None,
        reason,
    };
    let d = FetchLimits::default();
    let limits = FetchLimits {
        timeout: def.timeout.unwrap_or(d.timeout),
        max_bytes: def.max_size.unwrap_or(d.max_bytes),
    };
    let auth = def.credentials.as_ref();
    let key = match &def.taxii {
        Some(src) => crate::intel::taxii::source_key(url, src),
        None => url.to_string(),
    };
    let cached = fetch::cached_meta(&cache, &name, &key)
        .map_err(err)?
        .map(|_| fetch::cached_path(&cache, &name));
    let fetched = match (&def.taxii, cached) {
        (_, Some(c)) if !fetch_remote => Fetched::NotModified(c),
        (Some(src), _) => {
            crate::intel::taxii::poll(url, src, &name, &cache, &limits, auth).map_err(err)?
        }
        (None, _) => fetch::fetch(url, &name, &cache, &limits, auth).map_err(err)?,
    };
    // A TAXII collection is kept as a STIX bundle.
    let def = FeedDef {
        format: def
            .taxii
            .as_ref()
            .map_or(def.format, |_| Some(FeedFormat::Stix)),
        ..def.clone()
    };
    let mut store = Store::Cache {
        dir: &cache,
        name: &name,
    };
    let mut load = |p: &Path, b: &mut IndicatorSetBuilder| {
        load_file(p, &def, role, b, Some(&name)).map(|r| vec![r])
    };
    let (reports, stale) = accept(
        url, &def, fetched, &mut store, builder, &mut load, opts.reuse,
    )?;
    opts.reused = reports.is_none();
    let mut reports = reports.unwrap_or_else(|| vec![placeholder(&name, role)]);
    let checked = fetch::checked_at(&cache, &name);
    for r in &mut reports {
        r.path = url.to_string();
        r.stale = stale.clone();
        r.modified = checked;
    }
    Ok(reports)
}

/// Loads a local feed through the feed manager's last good copies.
fn load_kept(
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
    keep: &mut Keep,
    reuse: bool,
) -> Result<(Vec<FeedReport>, bool), FeedError> {
    let source = def.source.as_str();
    let fetched = keep.fetch(source).map_err(|reason| FeedError {
        path: source.to_string(),
        line: None,
        reason,
    })?;
    // Logs, reports and errors name the operator's file, not the copy.
    let mut load = |p: &Path, b: &mut IndicatorSetBuilder| {
        let as_copy = FeedDef {
            source: p.display().to_string(),
            shown_as: Some(source.to_string()),
            ..def.clone()
        };
        load_local(&as_copy, role, b)
    };
    let mut store = Store::Keep {
        keep: &mut *keep,
        source,
    };
    let (reports, stale) = accept(source, def, fetched, &mut store, builder, &mut load, reuse)?;
    let reused = reports.is_none();
    let mut reports = reports.unwrap_or_else(|| {
        let name = def
            .name
            .clone()
            .unwrap_or_else(|| feed_name(Path::new(source)));
        vec![FeedReport {
            path: source.to_string(),
            ..placeholder(&name, role)
        }]
    });
    let modified = keep.modified(source);
    for r in &mut reports {
        r.stale = stale.clone();
        r.modified = modified.or(r.modified);
    }
    Ok((reports, reused))
}

/// The report of a feed that was not read again (see [`LoadOptions::reuse`]).
fn placeholder(name: &str, role: Role) -> FeedReport {
    FeedReport {
        name: name.to_string(),
        role: Some(match role {
            Role::Indicators => "indicators",
            Role::Allowlist => "allowlist",
        }),
        ..FeedReport::default()
    }
}

impl FeedDef {
    /// Parses a `--intel` spec.
    pub fn from_spec(spec: &str) -> Result<FeedDef, FeedError> {
        if is_url(spec) {
            return Ok(FeedDef {
                source: spec.to_string(),
                ..FeedDef::default()
            });
        }
        let (format, source) = match spec.split_once(':') {
            Some((f, rest)) if !rest.is_empty() => match FeedFormat::from_name(f) {
                Some(fmt) => (Some(fmt), rest),
                None if Path::new(spec).exists() => (None, spec),
                None => {
                    return Err(FeedError {
                        path: spec.to_string(),
                        line: None,
                        reason: format!(
                            "unknown feed format `{f}` (known: {})",
                            FeedFormat::names().join(", ")
                        ),
                    });
                }
            },
            _ => (None, spec),
        };
        Ok(FeedDef {
            source: source.to_string(),
            format,
            ..FeedDef::default()
        })
    }
}

/// A feed that could not be loaded, with where and why.
#[derive(Debug)]
pub struct FeedError {
    pub path: String,
    pub line: Option<u64>,
    pub reason: String,
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.path, l, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl std::error::Error for FeedError {}

/// What loading one file gave.
#[derive(Clone, Debug, Default)]
pub struct FeedReport {
    pub name: String,
    pub path: String,
    pub format: &'static str,
    /// Entries accepted (before merging duplicates across feeds).
    pub entries: u64,
    /// Skipped rows by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    pub role: Option<&'static str>,
    /// Why the feed's source could not be refreshed, when its last good copy was loaded.
    pub stale: Option<String>,
    /// When the feed was last updated: a local file's modification time; for a server, its
    /// last successful refresh (a download, a 304, an empty TAXII poll).
    pub modified: Option<std::time::SystemTime>,
    /// The feed's `max_age`, in seconds.
    pub max_age: Option<u64>,
}

impl FeedReport {
    /// Seconds since the last update at `now`, when that is more than `max_age`.
    pub fn too_old(&self, now: std::time::SystemTime) -> Option<u64> {
        let age = now.duration_since(self.modified?).ok()?.as_secs();
        (age > self.max_age?).then_some(age)
    }
}

/// Where a loader puts what it parsed, with skip accounting.
pub struct Sink<'b> {
    builder: &'b mut IndicatorSetBuilder,
    /// The last metadata added, shared with following rows that carry the same.
    last_meta: Option<Arc<Meta>>,
    role: Role,
    path: String,
    pub feed: Arc<str>,
    report: FeedReport,
    data_rows: u64,
    min_confidence: Option<u8>,
    /// Seconds after its first/last seen time an entry stops matching (`max_age`).
    max_age: Option<u64>,
}

impl Sink<'_> {
    /// Adds an indicator (or allowlist entry) as the feed listed it.
    pub fn add(&mut self, key: Key, listed: &str, mut meta: Meta) {
        if let (Some(min), Some(c)) = (self.min_confidence, meta.confidence)
            && c < min
        {
            self.data_rows += 1;
            *self
                .report
                .skipped
                .entry("below-min-confidence")
                .or_insert(0) += 1;
            return;
        }
        self.data_rows += 1;
        self.report.entries += 1;
        if let Some(age) = self.max_age {
            expire_by_age(&mut meta, age);
        }
        match self.role {
            Role::Indicators => {
                let shared = match &self.last_meta {
                    Some(m) if **m == meta => m.clone(),
                    _ => {
                        let m = Arc::new(meta);
                        self.last_meta = Some(m.clone());
                        m
                    }
                };
                self.builder.add(key, listed, shared)
            }
            Role::Allowlist => self.builder.allow(key),
        }
    }

    /// Adds an allowlist entry from an indicator feed (a Zeek intel row with `meta.whitelist=T`).
    pub fn allow(&mut self, key: Key) {
        self.data_rows += 1;
        self.report.entries += 1;
        self.builder.allow(key);
    }

    /// A metadata row for a feed entry (feed name filled in).
    pub fn meta(&self) -> Meta {
        Meta {
            feed: self.feed.clone(),
            ..Meta::default()
        }
    }

    /// Counts a skipped data row; logs the first few.
    pub fn skip(&mut self, line: u64, reason: &'static str, detail: &str) {
        self.data_rows += 1;
        let n = self.report.skipped.entry(reason).or_insert(0);
        *n += 1;
        let total: u64 = self.report.skipped.values().sum();
        if total <= LOGGED_SKIPS {
            tracing::warn!(
                "{}:{}: skipped ({reason}): {}",
                self.path,
                line,
                shorten(detail)
            );
        } else {
            tracing::debug!(
                "{}:{}: skipped ({reason}): {}",
                self.path,
                line,
                shorten(detail)
            );
        }
    }

    /// The next line of text with its number; undecodable or overlong lines are skipped
    /// and counted here, a read error ends the feed. `None` at the end.
    pub fn next_line(
        &mut self,
        lines: &mut lines::Lines<impl BufRead>,
    ) -> Result<Option<(u64, String)>, FeedError> {
        loop {
            match lines.next_line() {
                Ok(Some((no, lines::Line::Text(t)))) => return Ok(Some((no, t.to_string()))),
                Ok(Some((no, _))) => {
                    self.skip(no, "bad-encoding", "line is not valid UTF-8 or too long")
                }
                Ok(None) => return Ok(None),
                Err(e) => {
                    return Err(self.error(Some(lines.line_no()), format!("read error: {e}")));
                }
            }
        }
    }

    pub fn error(&self, line: Option<u64>, reason: impl Into<String>) -> FeedError {
        FeedError {
            path: self.path.clone(),
            line,
            reason: reason.into(),
        }
    }
}

/// Ends an entry's validity `age` seconds after the feed last (else first) saw it, unless it
/// already ends sooner. Entries without either time are left as they are.
fn expire_by_age(meta: &mut Meta, age: u64) {
    let seen = meta
        .last_seen
        .as_deref()
        .or(meta.first_seen.as_deref())
        .and_then(crate::time::parse_feed_time);
    if let Some(seen) = seen {
        let cutoff = seen.plus_secs(age).rfc3339_secs();
        if meta
            .valid_until
            .as_deref()
            .is_none_or(|u| cutoff.as_str() < u)
        {
            meta.valid_until = Some(cutoff);
        }
    }
}

fn shorten(s: &str) -> String {
    if s.len() <= 120 {
        return s.to_string();
    }
    let mut end = 117;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Loads `spec` (a file, a directory of files, or `FORMAT:PATH`) into `builder`.
pub fn load(
    spec: &str,
    role: Role,
    builder: &mut IndicatorSetBuilder,
) -> Result<Vec<FeedReport>, FeedError> {
    load_def(&FeedDef::from_spec(spec)?, role, builder)
}

/// Loads one declared feed (every file of it, for a directory) into `builder`, which must
/// hold nothing else: an update that is refused is thrown away with what `builder` holds.
pub fn load_def(
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
) -> Result<Vec<FeedReport>, FeedError> {
    load_def_with(def, role, builder, &mut LoadOptions::direct())
}

/// [`load_def`] with the feed manager's options.
pub fn load_def_with(
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
    opts: &mut LoadOptions,
) -> Result<Vec<FeedReport>, FeedError> {
    opts.reused = false;
    let mut reports = if is_url(&def.source) {
        load_remote(&def.source, def, role, builder, opts)?
    } else {
        match opts.keep.as_deref_mut() {
            Some(keep) => {
                let (r, reused) = load_kept(def, role, builder, keep, opts.reuse)?;
                opts.reused = reused;
                r
            }
            None => load_local(def, role, builder)?,
        }
    };
    for r in &mut reports {
        r.max_age = def.max_age.map(|d| d.as_secs());
    }
    Ok(reports)
}

/// A local file or directory, read as it is now.
fn load_local(
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
) -> Result<Vec<FeedReport>, FeedError> {
    let path = def.source.as_str();
    let shown = def.display(Path::new(path));
    let forced = def.format;
    if forced == Some(FeedFormat::Csv) && def.columns.is_none() {
        return Err(FeedError {
            path: shown.clone(),
            line: None,
            reason: "format `csv` needs its columns named: use a [[feed]] entry with [feed.columns] value = \"...\" in the config file".into(),
        });
    }
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| FeedError {
        path: shown.clone(),
        line: None,
        reason: format!("cannot open: {e}"),
    })?;
    if !meta.is_dir() {
        return Ok(vec![load_file(p, def, role, builder, None)?]);
    }
    let manifest = p.join("manifest.json");
    if manifest.is_file() && matches!(forced, None | Some(FeedFormat::MispEvent)) {
        return load_misp_feed(p, &manifest, def, role, builder);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| FeedError {
            path: shown.clone(),
            line: None,
            reason: format!("cannot list directory: {e}"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Hidden files are not feeds; `categories.txt` belongs to the Suricata reputation
        // files beside it (their loader reads it).
        .filter(|f| {
            f.is_file()
                && !f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || n == "categories.txt")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(FeedError {
            path: shown.clone(),
            line: None,
            reason: "directory holds no feed files".into(),
        });
    }
    files
        .iter()
        .map(|f| load_file(f, def, role, builder, None))
        .collect()
}

/// A MISP feed directory (feed-formats.md §7.1): the events its `manifest.json` lists, all
/// under the directory's name. A listed event that is missing or fails its
/// `integrity:sha256` is an error (the feed is incomplete or tampered with), not a skip.
fn load_misp_feed(
    dir: &Path,
    manifest: &Path,
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
) -> Result<Vec<FeedReport>, FeedError> {
    let err = |path: &Path, reason: String| FeedError {
        path: def.display(path),
        line: None,
        reason,
    };
    let text = std::fs::read(manifest).map_err(|e| err(manifest, format!("cannot read: {e}")))?;
    let entries = misp::manifest(&text).map_err(|e| err(manifest, e))?;
    if entries.is_empty() {
        return Err(err(manifest, "the manifest lists no event".into()));
    }
    let name = def.name.clone().unwrap_or_else(|| {
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("misp")
            .to_string()
    });
    let def = FeedDef {
        format: Some(FeedFormat::MispEvent),
        ..def.clone()
    };
    let mut reports = Vec::with_capacity(entries.len());
    for e in entries {
        let file = dir.join(&e.file);
        if let Some(want) = &e.sha256 {
            use sha2::{Digest, Sha256};
            let bytes = std::fs::read(&file).map_err(|x| {
                err(
                    &file,
                    format!("listed in manifest.json but cannot be read: {x}"),
                )
            })?;
            let got: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if &got != want {
                return Err(err(
                    &file,
                    format!("integrity:sha256 in manifest.json is {want}, the file's is {got}"),
                ));
            }
        } else if !file.is_file() {
            return Err(err(&file, "listed in manifest.json but missing".into()));
        }
        reports.push(load_file(&file, &def, role, builder, Some(&name))?);
    }
    Ok(reports)
}

fn feed_name(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("feed");
    let mut stem = name;
    for ext in [
        ".gz", ".zst", ".txt", ".csv", ".json", ".jsonl", ".list", ".lst",
    ] {
        stem = stem.strip_suffix(ext).unwrap_or(stem);
    }
    stem.to_string()
}

fn load_file(
    path: &Path,
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
    name: Option<&str>,
) -> Result<FeedReport, FeedError> {
    let shown = def.display(path);
    let err = |reason: String| FeedError {
        path: shown.clone(),
        line: None,
        reason,
    };
    let limit = def.max_size.unwrap_or(DEFAULT_MAX_SIZE);
    let meta = std::fs::metadata(path).ok();
    if let Some(len) = meta
        .as_ref()
        .map(std::fs::Metadata::len)
        .filter(|l| *l > limit)
    {
        return Err(err(format!(
            "the file is {}, larger than {} (max_size; raise it in its [[feed]] entry)",
            human_bytes(len),
            human_bytes(limit)
        )));
    }
    let (reader, _) = input::open(&path.display().to_string(), &Progress::default())
        .map_err(|e| err(format!("cannot open: {e}")))?;
    let modified = meta.and_then(|m| m.modified().ok());
    let name = name
        .or(def.name.as_deref())
        .map_or_else(|| feed_name(path), str::to_string);
    let mut report = load_reader(path, name, reader, def, role, builder)?;
    report.modified = modified;
    Ok(report)
}

/// Loads one feed from bytes already in memory (what the fuzz target runs); `name` is shown
/// in errors and becomes the feed name.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    forced: Option<FeedFormat>,
    builder: &mut IndicatorSetBuilder,
) -> Result<FeedReport, FeedError> {
    let def = FeedDef {
        format: forced,
        ..FeedDef::default()
    };
    load_bytes_as(name, bytes, &def, builder)
}

/// [`load_bytes`] with a whole feed definition (columns, max_age, ...).
pub fn load_bytes_as(
    name: &str,
    bytes: &[u8],
    def: &FeedDef,
    builder: &mut IndicatorSetBuilder,
) -> Result<FeedReport, FeedError> {
    load_reader(
        Path::new(name),
        name.to_string(),
        bytes,
        def,
        Role::Indicators,
        builder,
    )
}

fn load_reader(
    path: &Path,
    name: String,
    reader: impl Read,
    def: &FeedDef,
    role: Role,
    builder: &mut IndicatorSetBuilder,
) -> Result<FeedReport, FeedError> {
    let shown = def.display(path);
    let err = |reason: String| FeedError {
        path: shown.clone(),
        line: None,
        reason,
    };
    let limit = def.max_size.unwrap_or(DEFAULT_MAX_SIZE);
    let reader = Capped {
        inner: reader,
        left: limit,
        limit,
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = peek_head(&mut reader).map_err(|e| err(format!("read error: {e}")))?;
    let format = match def.format {
        Some(f) => f,
        None => FeedFormat::detect(&head),
    };
    let mut sink = Sink {
        last_meta: None,
        builder,
        role,
        path: shown.clone(),
        feed: Arc::from(name.as_str()),
        report: FeedReport {
            name,
            path: shown.clone(),
            format: format.as_str(),
            role: Some(match role {
                Role::Indicators => "indicators",
                Role::Allowlist => "allowlist",
            }),
            ..FeedReport::default()
        },
        data_rows: 0,
        min_confidence: def.min_confidence,
        max_age: def.max_age.map(|d| d.as_secs()),
    };
    let src = std::io::Cursor::new(head).chain(reader);
    let src = BufReader::with_capacity(1 << 16, src);
    match format {
        FeedFormat::Plain => plain::load(src, &mut sink, None)?,
        FeedFormat::PlainDomain => plain::load(src, &mut sink, Some(plain::Forced::Domain))?,
        FeedFormat::PlainHash(h) => plain::load(src, &mut sink, Some(plain::Forced::Hash(h)))?,
        FeedFormat::SslblCerts => sslbl::load_certs(src, &mut sink)?,
        FeedFormat::SslblJa3 => sslbl::load_ja3(src, &mut sink)?,
        FeedFormat::ThreatfoxCsv => threatfox::load_csv(src, &mut sink)?,
        FeedFormat::ThreatfoxJson => threatfox::load_json(src, &mut sink)?,
        FeedFormat::UrlhausCsv => threatfox::load_urlhaus(src, &mut sink)?,
        FeedFormat::Iprep => iprep::load(src, &mut sink, &iprep::categories_beside(path))?,
        FeedFormat::ZeekIntel => zeek::load(src, &mut sink)?,
        FeedFormat::MispEvent => misp::load(src, &mut sink)?,
        FeedFormat::Stix => stix::load(src, &mut sink)?,
        FeedFormat::MispWarninglist => warninglist::load(src, &mut sink)?,
        FeedFormat::Csv => match &def.columns {
            Some(cols) => csv::load(src, &mut sink, cols)?,
            None => return Err(err("format `csv` needs its columns named".into())),
        },
        FeedFormat::Dataset(kind) => dataset::load(src, &mut sink, kind)?,
        FeedFormat::FeodoCsv => feodo::load_csv(src, &mut sink)?,
        FeedFormat::FeodoJson => feodo::load_json(src, &mut sink)?,
        FeedFormat::SpamhausText => spamhaus::load_text(src, &mut sink)?,
        FeedFormat::SpamhausJson => spamhaus::load_json(src, &mut sink)?,
    }
    let only_filtered = sink
        .report
        .skipped
        .keys()
        .all(|r| *r == "below-min-confidence");
    if sink.data_rows > 0 && sink.report.entries == 0 && !only_filtered {
        let reasons: Vec<String> = sink
            .report
            .skipped
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        return Err(err(format!(
            "no valid indicator in {} data rows ({}); format {}",
            sink.data_rows,
            reasons.join(", "),
            format.as_str()
        )));
    }
    if sink.data_rows == 0 {
        tracing::warn!("{shown}: feed is empty (only comments)");
    }
    let skipped: u64 = sink.report.skipped.values().sum();
    tracing::info!(
        "{shown}: {} entries loaded as {} ({skipped} rows skipped)",
        sink.report.entries,
        format.as_str()
    );
    Ok(sink.report)
}

/// Reads up to 64 KiB from the start of the (decompressed) feed, for format detection.
fn peek_head(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1 << 16);
    r.take(1 << 16).read_to_end(&mut head)?;
    Ok(head)
}

/// True when a plain-list value would be skipped as unparsable (for tests and tools that
/// compare against other systems' trail lists).
pub fn is_unloadable_plain(value: &str) -> bool {
    matches!(
        plain::classify(value),
        plain::Token::Unparsable | plain::Token::Ignored(_)
    )
}
