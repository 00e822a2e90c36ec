//! asyncio's combinators: [`gather`], [`try_gather`], [`as_completed`],
//! [`wait`], [`shield`], and the futures they return. The functions and the
//! specific types are also at the crate root; the generic names ([`Next`],
//! [`Wait`]) live here. `TaskGroup` is in [`group`](crate::group).

mod as_completed;
mod gather;
pub(crate) mod gather_all;
mod shield;
mod wait;

pub use as_completed::{as_completed, as_completed_tasks, AsCompleted, Next};
#[doc(hidden)]
pub use gather::MaybeDone;
pub use gather_all::{gather, try_gather, Gather, TryGather};
pub use shield::{shield, Shield};
pub use wait::{wait, wait_results, ReturnWhen, Wait};
