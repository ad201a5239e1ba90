//! Threat intelligence: the indicator model, feed loaders, and the immutable [`IndicatorSet`]
//! snapshot that workers match against without locks.

pub mod credentials;
pub mod feed;
pub mod fetch;
pub mod indicator;
pub mod name;
pub mod net;
pub mod prefix;
pub mod reload;
pub mod set;
pub mod taxii;

pub use indicator::{Indicator, IndicatorKind, Meta};
pub use set::{IndicatorSet, IndicatorSetBuilder};

use arc_swap::ArcSwap;
use std::sync::Arc;

/// The current indicator set, swapped atomically as a whole: readers see the old snapshot or
/// the new one, never a mix. Workers load it once per batch.
pub type Snapshot = Arc<ArcSwap<IndicatorSet>>;

/// What loading every feed gave: the set and a report per file.
pub struct Loaded {
    pub set: IndicatorSet,
    pub reports: Vec<feed::FeedReport>,
}

/// Loads every indicator and allowlist spec into one new set.
pub fn load_all(
    intel: &[feed::FeedDef],
    allow: &[String],
    generation: u64,
) -> Result<Loaded, feed::FeedError> {
    let mut builder = IndicatorSetBuilder::new();
    let mut reports = Vec::new();
    for def in intel {
        reports.extend(feed::load_def(def, feed::Role::Indicators, &mut builder)?);
    }
    for spec in allow {
        reports.extend(feed::load(spec, feed::Role::Allowlist, &mut builder)?);
    }
    Ok(Loaded {
        set: builder.build(generation),
        reports,
    })
}
