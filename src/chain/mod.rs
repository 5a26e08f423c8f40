//! The chain as a resource: subxt reads, call builders, submission, keys.

pub mod keys;
