//! Observed: assemble one snapshot from provider + chain + node RPC.

pub mod live;
pub mod model;

pub use model::*;
