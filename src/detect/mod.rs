//! Detection: flows, indicator matching once per new flow, victim inference.

pub mod dns_cache;
pub mod fault;
pub mod flow;
pub mod flow_table;
pub mod homenet;
pub mod inspect;
pub mod victim;
pub mod worker;

pub use homenet::HomeNet;
pub use worker::{DetectConfig, PacketInfo, Worker, WorkerStats};
