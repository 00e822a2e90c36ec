//! asyncio's combinators: gather, as_completed, wait, shield, TaskGroup.

mod as_completed;
mod error_group;
mod gather;
mod gather_all;
mod group;
mod group_task;
mod shield;
mod wait;

pub use as_completed::{as_completed, as_completed_tasks, AsCompleted, Next};
pub use error_group::ErrorGroup;
#[doc(hidden)]
pub use gather::MaybeDone;
pub use gather_all::{gather, try_gather, Gather, TryGather};
pub use group::{Join, Spawner, TaskGroup};
pub use group_task::{Finished, GroupTask, JoinNext};
pub use shield::{shield, Shield};
pub use wait::{wait, wait_results, ReturnWhen, Wait};
