//! Reports made from alerts after the fact: the victims to notify.

pub mod victims;
pub mod xarf;
