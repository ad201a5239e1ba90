//! HTTP(S) feed sources: a conditional download (ETag / If-Modified-Since) into a cache
//! directory, so the last good copy survives a server that is down or sends garbage.
//!
//! Invariant: the cached copy is only replaced by a download that loads (the caller checks
//! it with [`Fetched::Updated`] before calling [`commit`]).

use super::credentials::Credentials;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Limits for one download.
#[derive(Clone, Debug)]
pub struct FetchLimits {
    pub timeout: Duration,
    pub max_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> FetchLimits {
        FetchLimits {
            timeout: Duration::from_secs(60),
            max_bytes: 512 << 20,
        }
    }
}

/// Validators of the cached copy, kept beside it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct CacheMeta {
    /// What the copy came from (for TAXII: the discovery URL and the collection).
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Entries the cached copy loaded (for the shrink check).
    #[serde(default)]
    pub entries: Option<u64>,
    /// TAXII: the `added_after` of the next poll (the last `X-TAXII-Date-Added-Last` seen).
    #[serde(default)]
    pub added_after: Option<String>,
}

/// What a fetch gave.
#[derive(Debug)]
pub enum Fetched {
    /// New content, written to `new` (not yet the cached copy); `previous` is the last good
    /// copy, if any.
    Updated {
        new: PathBuf,
        /// The last good copy and how many entries it loaded.
        previous: Option<(PathBuf, Option<u64>)>,
    },
    /// 304 Not Modified: the cached copy is current.
    NotModified(PathBuf),
    /// The download failed; the last good copy is used and the feed is stale.
    Stale { cached: PathBuf, reason: String },
}

/// Paths of a feed's cache entry.
fn paths(cache_dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        cache_dir.join(format!("{safe}.body")),
        cache_dir.join(format!("{safe}.meta.json")),
        cache_dir.join(format!("{safe}.new")),
    )
}

/// Downloads `url` for feed `name` unless the cached copy is current. An error only when
/// the download failed and there is no cached copy to fall back on.
pub fn fetch(
    url: &str,
    name: &str,
    cache_dir: &Path,
    limits: &FetchLimits,
    auth: Option<&Credentials>,
) -> Result<Fetched, String> {
    let meta = cached_meta(cache_dir, name, url)?;
    let cached = meta.as_ref().map(|_| cached_path(cache_dir, name));
    let meta = meta.unwrap_or_default();
    match download(url, &meta, limits, auth) {
        Ok(None) => match cached {
            Some(c) => {
                // Confirmed current: the record's time says so (see `checked_at`).
                write_meta(cache_dir, name, &meta)?;
                Ok(Fetched::NotModified(c))
            }
            None => Err(format!("{url}: 304 Not Modified but no cached copy")),
        },
        Ok(Some((bytes, etag, last_modified))) => {
            let pending = CacheMeta {
                url: url.to_string(),
                etag,
                last_modified,
                ..CacheMeta::default()
            };
            stage(
                cache_dir,
                name,
                &bytes,
                &pending,
                cached.map(|c| (c, meta.entries)),
            )
        }
        Err(reason) => fall_back(cached, reason),
    }
}

/// The cache record of feed `name` when its copy came from `source` and is still there;
/// creates the cache directory.
pub(crate) fn cached_meta(
    cache_dir: &Path,
    name: &str,
    source: &str,
) -> Result<Option<CacheMeta>, String> {
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create cache directory {}: {e}", cache_dir.display()))?;
    let (body, meta_path, _) = paths(cache_dir, name);
    Ok(std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|m: &CacheMeta| m.url == source && body.is_file()))
}

/// A failed refresh: the last good copy when there is one, else the error.
pub(crate) fn fall_back(cached: Option<PathBuf>, reason: String) -> Result<Fetched, String> {
    match cached {
        Some(c) => Ok(Fetched::Stale { cached: c, reason }),
        None => Err(format!("{reason} (and no cached copy yet)")),
    }
}

/// Writes new content beside the cached copy, pending [`commit`] or [`discard`].
pub(crate) fn stage(
    cache_dir: &Path,
    name: &str,
    bytes: &[u8],
    pending: &CacheMeta,
    previous: Option<(PathBuf, Option<u64>)>,
) -> Result<Fetched, String> {
    let (_, meta_path, new) = paths(cache_dir, name);
    std::fs::write(&new, bytes).map_err(|e| format!("cannot write {}: {e}", new.display()))?;
    let pending_path = meta_path.with_extension("pending");
    std::fs::write(
        &pending_path,
        serde_json::to_vec(pending).unwrap_or_default(),
    )
    .map_err(|e| format!("cannot write {}: {e}", pending_path.display()))?;
    Ok(Fetched::Updated { new, previous })
}

/// When feed `name` was last refreshed successfully (downloaded, or confirmed current by a
/// 304 or an empty TAXII poll): the time its cache record was last written.
pub fn checked_at(cache_dir: &Path, name: &str) -> Option<std::time::SystemTime> {
    let (_, meta_path, _) = paths(cache_dir, name);
    std::fs::metadata(meta_path).and_then(|m| m.modified()).ok()
}

/// Where the last good copy of feed `name` is kept.
pub fn cached_path(cache_dir: &Path, name: &str) -> PathBuf {
    paths(cache_dir, name).0
}

/// Makes a downloaded update the cached copy (after it loaded `entries`).
pub fn commit(cache_dir: &Path, name: &str, entries: u64) -> Result<(), String> {
    let (body, meta_path, new) = paths(cache_dir, name);
    let pending = meta_path.with_extension("pending");
    if let Some(mut m) = std::fs::read(&pending)
        .ok()
        .and_then(|b| serde_json::from_slice::<CacheMeta>(&b).ok())
    {
        m.entries = Some(entries);
        let _ = std::fs::write(&pending, serde_json::to_vec(&m).unwrap_or_default());
    }
    std::fs::rename(&new, &body)
        .and_then(|_| std::fs::rename(&pending, &meta_path))
        .map_err(|e| format!("cannot update the cache of {name}: {e}"))
}

/// Replaces the cache record of feed `name` (the copy itself unchanged).
pub(crate) fn write_meta(cache_dir: &Path, name: &str, meta: &CacheMeta) -> Result<(), String> {
    let (_, meta_path, _) = paths(cache_dir, name);
    let tmp = meta_path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(meta).unwrap_or_default())
        .and_then(|_| std::fs::rename(&tmp, &meta_path))
        .map_err(|e| format!("cannot update the cache of {name}: {e}"))
}

/// Throws a downloaded update away (it did not load).
pub fn discard(cache_dir: &Path, name: &str) {
    let (_, meta_path, new) = paths(cache_dir, name);
    let _ = std::fs::remove_file(new);
    let _ = std::fs::remove_file(meta_path.with_extension("pending"));
}

type Download = Option<(Vec<u8>, Option<String>, Option<String>)>;

/// An HTTP client with the system's trust roots, `limits.timeout` per request, and HTTP
/// errors as responses (the caller words them).
pub(crate) fn agent(limits: &FetchLimits) -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig};
    ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .http_status_as_error(false)
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .user_agent(concat!("c2watch/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// What an HTTP error status means for a feed, in words an operator can act on.
pub(crate) fn status_error(url: &str, status: u16) -> String {
    match status {
        401 => format!(
            "{url}: HTTP 401: the server refused the credentials (check username and password_env/password_file or token_env/token_file of this feed)"
        ),
        403 => format!("{url}: HTTP 403: these credentials may not read this feed"),
        404 => format!("{url}: HTTP 404: no such feed on the server (check the URL)"),
        s => format!("{url}: HTTP {s}"),
    }
}

fn download(
    url: &str,
    meta: &CacheMeta,
    limits: &FetchLimits,
    auth: Option<&Credentials>,
) -> Result<Download, String> {
    let agent = agent(limits);
    let mut req = agent.get(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a.authorization()?);
    }
    if let Some(e) = &meta.etag {
        req = req.header("If-None-Match", e);
    }
    if let Some(m) = &meta.last_modified {
        req = req.header("If-Modified-Since", m);
    }
    let mut resp = req.call().map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    if status == 304 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(status_error(url, status));
    }
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(limits.max_bytes)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e} (limit {} bytes)", limits.max_bytes))?;
    Ok(Some((bytes, etag, last_modified)))
}
