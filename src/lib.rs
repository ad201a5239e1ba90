#![deny(unsafe_code)]
//! c2watch: flags traffic to known command-and-control infrastructure and names the victim.
//!
//! Data flow, one module each: [`capture`] (packet sources) → [`decode`] (L2–L4 and tunnels)
//! → [`detect`] (flows, indicator matching, victims) → [`alert`] (events and output), with the
//! indicators in [`intel`]. `unsafe` is denied everywhere but [`sys`], which wraps the few
//! system calls std lacks (capture files mapped, huge-page advice), and a cache prefetch hint.

pub mod alert;
pub mod app;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod detect;
pub mod fuzzing;
pub mod input;
pub mod intel;
pub mod live;
pub mod progress;
pub mod replay;
pub mod report;
pub mod subscriber;
pub mod summary;
pub mod synth;
pub mod sys;
pub mod time;
