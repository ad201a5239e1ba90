//! Threat intelligence: the indicator model, feed loaders, and the immutable [`IndicatorSet`]
//! snapshot that workers match against without locks.

pub mod credentials;
pub mod feed;
pub mod fetch;
pub mod indicator;
pub mod keep;
pub mod manager;
pub mod name;
pub mod net;
pub mod prefilter;
pub mod set;
pub mod table;
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
