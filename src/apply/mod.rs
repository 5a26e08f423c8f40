//! Apply: carry a plan out against the live world, under the network's
//! lock, journaling every submission (see ARCHITECTURE §1, §3, §5).

pub mod executor;
pub mod interrupt;
pub mod journal;
pub mod live;
pub mod ops;
pub mod progress;
pub mod session;
pub(crate) mod steps;
#[cfg(test)]
mod tests;
pub mod workflow;

pub use executor::{ApplyReport, ExecOptions, Executor, StepResult, CRASH_ENV};
pub use interrupt::{Interrupt, Signal};
pub use journal::{settle_all, Journal, Settled};
pub use ops::{ChainOps, Intent, Landing, OpError, SignerRole};
pub use progress::Progress;
pub use steps::StepOutcome;
pub use workflow::{Applied, Live, PlanSource, Policy, Review, WorkflowError};
