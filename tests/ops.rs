//! Operating paraform: status views, drift classification and its report and
//! metrics, the PR comment's size bound and content hash, the CI workflow
//! files in docs/ci/, and the `status` / `drift` / `apply --expect-hash`
//! commands run offline against observed snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "ops/cli.rs"]
mod cli;
#[path = "ops/comment.rs"]
mod comment;
#[path = "ops/drift.rs"]
mod drift;
#[path = "ops/prom.rs"]
mod prom;
#[path = "ops/status.rs"]
mod status;
#[path = "ops/workflows.rs"]
mod workflows;
#[path = "ops/world.rs"]
mod world;
