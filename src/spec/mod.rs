//! Desired state: schema, load (dir or git rev), validate, expand.

pub mod ids;
pub mod model;
pub mod workload;

pub use ids::*;
pub use model::*;
pub use workload::WorkloadSpec;
