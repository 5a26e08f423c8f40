//! Desired state: schema, load (dir or git rev), validate, expand.

pub mod diagnostic;
mod expand;
mod hrmp;
pub mod ids;
mod kubernetes;
pub mod load;
pub mod model;
pub mod schema;
pub mod secrets;
mod validate;
pub mod workload;

pub use diagnostic::{SpecDiagnostic, SpecErrors};
pub use expand::{DEFAULT_FUNDING, DEFAULT_VOLUME_SIZE, PARA_COMMAND, RELAY_COMMAND};
pub use hrmp::{DEFAULT_MAX_CAPACITY, DEFAULT_MAX_MESSAGE_SIZE};
pub use ids::*;
pub use load::{load_dir, load_git};
pub use model::*;
pub use secrets::{resolve, SecretError};
pub use validate::{DEV_KEYS, PARA_BUILTIN_CHAINS, RELAY_BUILTIN_CHAINS};
pub use workload::WorkloadSpec;
