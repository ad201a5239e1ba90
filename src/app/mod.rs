//! Application-layer sniffers: read only what detection needs from the first bytes of a flow.
//! Each parser is bounded (lengths checked, loops limited) and never panics on any input.

pub mod dns;
pub mod http;
pub mod quic;
pub mod radius;
pub mod reassembly;
pub mod tls;
