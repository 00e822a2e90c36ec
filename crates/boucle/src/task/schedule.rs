//! `Schedule`: the seam between task memory and the loop that owns it
//! (async-task's `Schedule`, tokio's `runtime::task::Schedule`).
//!
//! Task memory knows its scheduler only through this trait: where a woken
//! task goes (the loop's run queue on the loop thread, its remote queue
//! from anywhere else), what keeps the scheduler alive for wakers that
//! outlive the loop, where task memory comes from and goes back to, and
//! who hears of a panic nobody observed. The runtime's scheduler is the
//! loop's `Shared` (`runtime/shared.rs`); the unit tests of `raw/` use a
//! scheduler of their own, with no loop at all.
//!
//! Each task header stores a type-erased pointer to its scheduler, which
//! lives in an `Arc<S>`; the functions of the task's vtable are built for
//! its `S`, so a wake is one indirect call into code that knows `S`.

#![allow(unsafe_code)] // an unsafe trait: the contract task memory relies on

use std::alloc::Layout;
use std::any::Any;
use std::ptr::NonNull;

use super::raw::{RemoteRef, TaskRef};

/// The loop-thread side of a scheduler, reached through
/// [`Schedule::with_local`].
pub(crate) trait LocalQueue {
    /// Queues a task that was just marked scheduled.
    fn push(&self, task: TaskRef);
}

/// How task memory reaches its loop.
///
/// # Safety
/// Implementations promise that:
/// * `with_local` runs `f` only on the thread that owns the loop, while no
///   other code of that loop borrows what `f` may touch (task memory's
///   loop-thread fields are `Cell`s);
/// * `dealloc` frees memory that `alloc` (or the global allocator, for
///   `in_slab == false`) gave, with that layout, from any thread;
/// * the scheduler stays valid while any task memory still refers to it:
///   task memory keeps it alive through its `Arc` (strong counts it takes
///   and gives back), plus what `local_task_released` says.
pub(crate) unsafe trait Schedule: Send + Sync + Sized + 'static {
    /// The loop-thread side.
    type Local: LocalQueue;

    /// Runs `f` with the loop-thread side if this thread runs the loop now;
    /// `None` otherwise (another thread, or the loop is not running).
    fn with_local<R>(&self, f: impl FnOnce(&Self::Local) -> R) -> Option<R>;

    /// Hands a wake to the loop from anywhere (its remote queue).
    fn push_remote(&self, task: RemoteRef);

    /// A task's local side is gone. True when it was the last one alive
    /// after the loop itself went away: the caller then gives back the
    /// strong count that kept the scheduler alive for them.
    fn local_task_released(&self) -> bool;

    /// Frees task memory of `layout`: a block of the loop's slab when
    /// `in_slab`, else memory from the global allocator.
    ///
    /// # Safety
    /// `ptr` came from this scheduler's slab (`in_slab`) or from
    /// `std::alloc::alloc(layout)`, and nothing refers to it any more.
    unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout, in_slab: bool);

    /// A panic payload nobody can observe any more.
    fn report_unobserved(&self, payload: Box<dyn Any + Send>);
}
