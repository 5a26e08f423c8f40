//! The chain as a resource: subxt reads, call builders, submission, keys.

pub mod calls;
pub mod client;
pub mod error;
pub mod keys;
pub mod node_rpc;
pub mod read;
pub mod storage;
pub mod submit;

pub use client::{ChainClient, ConnectOptions, RpcCounter};
pub use error::{ChainError, DispatchFailure};
