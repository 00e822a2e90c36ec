//! asyncio's combinators: gather, as_completed, wait, shield, TaskGroup.

mod as_completed;
mod gather;
mod gather_all;
mod group;
mod shield;
mod wait;

pub use as_completed::{as_completed, as_completed_tasks, AsCompleted, Next};
#[doc(hidden)]
pub use gather::MaybeDone;
pub use gather_all::{gather, try_gather, Gather, TryGather};
pub use group::{ErrorGroup, Join, Spawner, TaskGroup};
pub use shield::{shield, Shield};
pub use wait::{wait, wait_results, ReturnWhen, Wait};
