//! What the bench examples share: the feeds `gen_bench` writes (the issue #4 shape: IPv4,
//! CIDR, domains, JA3), loaded by the same feed loader as the command line.

use c2watch::intel::Snapshot;
use c2watch::intel::feed::FeedDef;
use c2watch::intel::manager::{FeedManager, Refresh};
use std::path::Path;
use std::sync::Arc;

/// Loads `feed.txt`, `cidrs.txt`, `domains.txt` and `ja3.txt` from `dir` and prints how
/// many indicators they hold.
pub fn load(dir: &Path) -> Snapshot {
    let specs = ["feed.txt", "cidrs.txt", "domains.txt", "ja3.txt"].map(|f| {
        let p = dir.join(f).display().to_string();
        if f == "ja3.txt" {
            format!("ja3:{p}")
        } else {
            p
        }
    });
    let defs = specs
        .iter()
        .map(|s| FeedDef::from_spec(s).expect("feed spec"))
        .collect();
    let mut manager = FeedManager::new(defs, &[], None).expect("feed manager");
    let set = manager.load(&Refresh::All).expect("load feeds").set;
    println!("{} indicators loaded", set.len());
    Arc::new(arc_swap::ArcSwap::from_pointee(set))
}

/// The median of `v` (not empty).
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
