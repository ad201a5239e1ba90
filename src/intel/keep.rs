//! Last good copies of local feed files, for the life of one c2watch process.
//!
//! A local feed is read from a copy taken when the file last changed; a change is loaded
//! from a fresh copy, and replaces the kept one only when it loads (and does not shrink
//! below `min_keep`). So a feed file that a publisher's script truncates, half-writes or
//! deletes while c2watch runs costs nothing: the last good copy stays in use, marked stale.
//!
//! Invariant: a kept copy is only ever replaced by [`Keep::commit`], after its replacement
//! loaded. Copies live in a private directory removed when the store is dropped; a new
//! process starts with none (a feed that does not load at start-up is an error, so the
//! operator sees it).

use super::fetch::Fetched;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Size and modification time of a file, or of each file in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

impl Fingerprint {
    /// The fingerprint of `path` now; `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        let mut files = if meta.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        let v = files
            .drain(..)
            .map(|f| {
                let m = std::fs::metadata(&f).ok();
                let (len, mtime) = (
                    m.as_ref().map_or(0, |m| m.len()),
                    m.and_then(|m| m.modified().ok()),
                );
                (f, len, mtime)
            })
            .collect();
        Some(Fingerprint(v))
    }

    /// The latest modification time in it.
    pub fn modified(&self) -> Option<SystemTime> {
        self.0.iter().filter_map(|(_, _, m)| *m).max()
    }
}

struct Kept {
    fingerprint: Fingerprint,
    entries: u64,
}

/// The store of last good copies.
pub struct Keep {
    dir: PathBuf,
    kept: HashMap<String, Kept>,
    pending: HashMap<String, Fingerprint>,
}

impl Keep {
    /// A store in a new private directory under `parent`.
    pub fn new(parent: &Path) -> std::io::Result<Keep> {
        remove_orphans(parent);
        let dir = parent.join(format!("c2watch-keep-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Keep {
            dir,
            kept: HashMap::new(),
            pending: HashMap::new(),
        })
    }

    /// Where the copies of `source` go: `<slot>/cur/<name>` (kept), `<slot>/new/<name>`
    /// (being tried). The file or directory name is the source's, so feed names derived
    /// from it do not change.
    fn slot(&self, source: &str) -> (PathBuf, PathBuf) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut h);
        let slot = self.dir.join(format!("{:016x}", h.finish()));
        let name = Path::new(source)
            .file_name()
            .map_or_else(|| "feed".into(), |n| n.to_os_string());
        (slot.join("cur").join(&name), slot.join("new").join(name))
    }

    /// The copy of `source` to load: the kept one when the file has not changed since, a
    /// fresh copy when it has, or the kept one (stale) when the source cannot be read.
    pub fn fetch(&mut self, source: &str) -> Result<Fetched, String> {
        let (cur, new) = self.slot(source);
        let kept = self.kept.get(source);
        let cached = kept.map(|_| cur.clone());
        let Some(now) = Fingerprint::of(Path::new(source)) else {
            let reason = format!("{source}: cannot open (removed, or no permission)");
            return match cached {
                Some(c) => Ok(Fetched::Stale { cached: c, reason }),
                None => Err(reason),
            };
        };
        if let Some(k) = kept
            && k.fingerprint == now
        {
            return Ok(Fetched::NotModified(cur));
        }
        let previous = kept.map(|k| (cur, Some(k.entries)));
        match copy(Path::new(source), &new) {
            Ok(()) => {
                self.pending.insert(source.to_string(), now);
                Ok(Fetched::Updated { new, previous })
            }
            Err(e) => {
                let reason = format!("{source}: cannot copy: {e}");
                match previous {
                    Some((c, _)) => Ok(Fetched::Stale { cached: c, reason }),
                    None => Err(reason),
                }
            }
        }
    }

    /// Makes the copy [`Keep::fetch`] took the kept one (it loaded `entries`).
    pub fn commit(&mut self, source: &str, entries: u64) -> Result<(), String> {
        let (cur, new) = self.slot(source);
        let Some(fingerprint) = self.pending.remove(source) else {
            return Ok(());
        };
        let swap = || -> std::io::Result<()> {
            if let Some(parent) = cur.parent() {
                if parent.exists() {
                    std::fs::remove_dir_all(parent)?;
                }
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&new, &cur)
        };
        swap().map_err(|e| format!("cannot keep a copy of {source}: {e}"))?;
        self.kept.insert(
            source.to_string(),
            Kept {
                fingerprint,
                entries,
            },
        );
        Ok(())
    }

    /// Throws the copy being tried away.
    pub fn discard(&mut self, source: &str) {
        let (_, new) = self.slot(source);
        self.pending.remove(source);
        if let Some(parent) = new.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }

    /// When `source`'s kept copy last changed.
    pub fn modified(&self, source: &str) -> Option<SystemTime> {
        self.kept.get(source).and_then(|k| k.fingerprint.modified())
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes the stores of c2watch processes that are gone (killed before they could clean up).
fn remove_orphans(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("c2watch-keep-"))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && Path::new("/proc/self").exists()
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Copies a file, or the files of a directory (one level: feed directories are flat).
fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        if parent.exists() {
            std::fs::remove_dir_all(parent)?;
        }
        std::fs::create_dir_all(parent)?;
    }
    if !from.is_dir() {
        return std::fs::copy(from, to).map(|_| ());
    }
    std::fs::create_dir(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let p = e.path();
        if p.is_file()
            && let Some(name) = p.file_name()
        {
            std::fs::copy(&p, to.join(name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_change_keeps_the_last_good_copy() {
        let base = std::env::temp_dir().join(format!("c2watch-keep-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let feed = base.join("feed.txt");
        std::fs::write(&feed, "203.0.113.1\n").unwrap();
        let src = feed.display().to_string();
        let mut keep = Keep::new(&base).unwrap();
        let Ok(Fetched::Updated {
            new,
            previous: None,
        }) = keep.fetch(&src)
        else {
            panic!("first fetch copies");
        };
        assert!(new.ends_with("new/feed.txt"));
        keep.commit(&src, 1).unwrap();
        assert!(matches!(keep.fetch(&src), Ok(Fetched::NotModified(_))));
        std::fs::write(&feed, "garbage and more\n").unwrap();
        let Ok(Fetched::Updated {
            previous: Some((cur, Some(1))),
            ..
        }) = keep.fetch(&src)
        else {
            panic!("a change is a new copy");
        };
        keep.discard(&src);
        assert_eq!(std::fs::read_to_string(&cur).unwrap(), "203.0.113.1\n");
        std::fs::remove_file(&feed).unwrap();
        assert!(matches!(keep.fetch(&src), Ok(Fetched::Stale { .. })));
        let dir = keep.dir.clone();
        drop(keep);
        assert!(!dir.exists(), "the store is removed with it");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
