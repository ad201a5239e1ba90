//! Alerts: the records workers produce, their EVE-style JSON form, and the output thread
//! that orders, deduplicates and writes them.

pub mod community_id;
pub mod ecs;
pub mod episode;
pub mod eve;
pub mod output;
pub mod record;
pub mod sink;
