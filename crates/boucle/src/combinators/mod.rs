//! asyncio's combinators: gather, as_completed, wait, shield, TaskGroup.

mod as_completed;
mod gather;

pub use as_completed::{as_completed, as_completed_tasks, AsCompleted, Next};
#[doc(hidden)]
pub use gather::MaybeDone;
