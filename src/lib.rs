//! paraform: a declarative, Terraform-style reconciler for Polkadot/Substrate testnets.
//!
//! Data flows `spec` → `observe` → `plan` (pure) → `apply`, one folder per stage.

pub mod apply;
pub mod chain;
pub mod cli;
pub mod drift;
pub mod error;
pub mod observe;
pub mod plan;
pub mod provider;
pub mod render;
pub mod spec;
pub mod state;
pub mod status;
