//! HTTP(S) feed sources: a conditional download (ETag / If-Modified-Since) into a cache
//! directory, so the last good copy survives a server that is down or sends garbage.
//!
//! Invariant: the cached copy is only replaced by a download that loads (the caller checks
//! it with [`Fetched::Updated`] before calling [`commit`]).

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
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    /// Entries the cached copy loaded (for the shrink check).
    #[serde(default)]
    entries: Option<u64>,
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
) -> Result<Fetched, String> {
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create cache directory {}: {e}", cache_dir.display()))?;
    let (body, meta_path, new) = paths(cache_dir, name);
    let meta: CacheMeta = std::fs::read(&meta_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|m: &CacheMeta| m.url == url && body.is_file())
        .unwrap_or_default();
    let cached = (!meta.url.is_empty()).then(|| body.clone());
    let previous_entries = meta.entries;
    match download(url, &meta, limits) {
        Ok(None) => match cached {
            Some(c) => Ok(Fetched::NotModified(c)),
            None => Err(format!("{url}: 304 Not Modified but no cached copy")),
        },
        Ok(Some((bytes, etag, last_modified))) => {
            std::fs::write(&new, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", new.display()))?;
            let pending = CacheMeta {
                url: url.to_string(),
                etag,
                last_modified,
                entries: None,
            };
            let pending_path = meta_path.with_extension("pending");
            std::fs::write(
                &pending_path,
                serde_json::to_vec(&pending).unwrap_or_default(),
            )
            .map_err(|e| format!("cannot write {}: {e}", pending_path.display()))?;
            Ok(Fetched::Updated {
                new,
                previous: cached.map(|c| (c, previous_entries)),
            })
        }
        Err(reason) => match cached {
            Some(c) => Ok(Fetched::Stale { cached: c, reason }),
            None => Err(format!("{reason} (and no cached copy yet)")),
        },
    }
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

/// Throws a downloaded update away (it did not load).
pub fn discard(cache_dir: &Path, name: &str) {
    let (_, meta_path, new) = paths(cache_dir, name);
    let _ = std::fs::remove_file(new);
    let _ = std::fs::remove_file(meta_path.with_extension("pending"));
}

type Download = Option<(Vec<u8>, Option<String>, Option<String>)>;

fn download(url: &str, meta: &CacheMeta, limits: &FetchLimits) -> Result<Download, String> {
    use ureq::tls::{RootCerts, TlsConfig};
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .http_status_as_error(false)
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .user_agent(concat!("c2watch/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut req = agent.get(url);
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
        return Err(format!("{url}: HTTP {status}"));
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
