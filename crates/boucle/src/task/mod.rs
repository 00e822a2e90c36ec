//! Tasks: futures scheduled on the loop (asyncio's `Task`).
//!
//! [`spawn`] (alias [`create_task`]) starts a future as a task and returns a
//! [`Task`] handle; awaiting the handle gives the task's output, or a
//! [`TaskError`] if it was cancelled or panicked. Dropping the handle
//! detaches the task: it keeps running.
//!
//! # The task protocol
//!
//! A task is one heap allocation (`raw/`): a header, then the future, whose
//! slot later holds the output. The header carries two counts:
//!
//! * `refs`, a plain `Cell<u32>` of **loop-local references** (`TaskRef`):
//!   the `Task` handle, the **owner count** every unfinished task holds
//!   (an entry in the loop's registry, or, for a task in the task slab, a
//!   count the slab keeps without an entry: the loop finds those tasks by
//!   scanning the slab's blocks, 8 bytes less per task), each run queue
//!   entry, and the `WakeHandle`s loop structures keep (timers, join
//!   waiters). `TaskRef` is `!Send`, so only the loop thread changes this
//!   count.
//! * `wakers`, an `AtomicU32` of **`Waker` references**, which may live on
//!   any thread, plus one unit for the whole local side while `refs > 0`.
//!   The waker a task's poll receives is borrowed (it owns no count); only
//!   clones count. A task that completes on its first poll therefore never
//!   performs an atomic read-modify-write.
//!
//! When `refs` reaches 0 the local side is **released** on the loop thread:
//! the future or output is dropped there (they may be `!Send`). The memory is
//! freed at once if `wakers == 1`, else by whichever thread drops the last
//! waker; in that case the task first takes a strong count on its scheduler
//! so a late foreign wake still finds its remote queue.
//!
//! Task memory reaches its loop only through its scheduler
//! (`schedule.rs`, the `Schedule` trait: where wakes go, where memory comes
//! from and returns to, who hears of unobserved panics). The runtime's
//! scheduler is the loop's `Shared`; `raw/tests.rs` runs tasks with a
//! scheduler of its own and no loop.
//!
//! State bits (`state.rs`), loop-thread only: `SCHEDULED` (in the run
//! queue), `RUNNING`, `COMPLETE`, `CANCEL_REQUESTED`, `CANCELLED`,
//! `PANICKED`, `JOIN_INTEREST` (a handle exists), `RETRIEVED` (the output
//! was looked at, so a panic in it counts as observed),
//! `HOLDS_SCHED`, `STARTED`, `IN_SLAB` (the memory is a block of the
//! loop's task slab, `slab.rs`, whose chunks `Shared` owns).
//!
//! ```text
//!  spawn ──▶ SCHEDULED ──Core::run_task──▶ RUNNING ──Pending──▶ idle
//!              ▲                            │  │                 │
//!              └──── schedule (a waker) ────┼──┼─────────────────┘
//!                                           │  └─Ready / panic──▶ COMPLETE ──refs = 0──▶ released (`release`) ──wakers = 0──▶ freed
//!  Task::cancel ─▶ CANCEL_REQUESTED + schedule ─▶ run_task drops the future ─▶ COMPLETE (CANCELLED)
//! ```
//!
//! Wakes: on the loop thread, a waker pushes a new `TaskRef` to the run
//! queue (`transition_to_scheduled` keeps it there at most once). From
//! another thread, or when the loop is not running, the first wake sets the
//! `NOTIFIED` bit of `wakers` and hands a waker count to the loop's remote
//! queue, interrupting its park through a `mio::Waker`; further foreign
//! wakes see the bit and do nothing until the loop clears it and turns the
//! entry into a local schedule (`refcount.rs`). The remote queue so holds at
//! most one entry per task, whatever the number of wakes.

mod builder;
mod callback;
pub(crate) mod error;
mod handle;
pub(crate) mod raw;
mod refcount;
pub(crate) mod schedule;
pub(crate) mod slab;
pub(crate) mod state;
pub(crate) mod waker;

use std::fmt;
use std::panic::Location;
use std::rc::Rc;

pub use builder::Builder;
pub use callback::{call_at, call_later, call_soon, CallHandle, TimerHandle};
pub use error::{InvalidStateError, TaskError};
pub use handle::Task;

use crate::runtime::context;
use raw::TaskRef;

/// A task's id: unique within its loop, counting from 1 in spawn order (the
/// `N` of asyncio's default names `Task-N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a task is in its life, as `all_tasks` and `current_task` see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a wake-up.
    Waiting,
    /// In the run queue.
    Scheduled,
    /// Being polled now.
    Running,
    /// Finished with a value.
    Done,
    /// Finished by cancellation.
    Cancelled,
    /// Finished by a panic.
    Panicked,
}

/// A snapshot of a task: id, name, state and where it was spawned.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// The name given with `task::Builder::name`, if any.
    pub name: Option<Rc<str>>,
    /// Its state when the snapshot was taken.
    pub state: TaskState,
    /// True if `Task::cancel` was called and the task has not finished yet.
    pub cancel_requested: bool,
    /// Where `spawn` was called.
    pub location: &'static Location<'static>,
}

impl TaskInfo {
    pub(crate) fn from_ref(task: &TaskRef) -> TaskInfo {
        let h = task.header();
        let s = &h.state;
        let state = if s.is_complete() {
            if s.is_cancelled() {
                TaskState::Cancelled
            } else if s.is_panicked() {
                TaskState::Panicked
            } else {
                TaskState::Done
            }
        } else if s.is_running() {
            TaskState::Running
        } else if s.is_scheduled() {
            TaskState::Scheduled
        } else {
            TaskState::Waiting
        };
        TaskInfo {
            id: h.id,
            name: task.name(),
            state,
            cancel_requested: s.cancel_requested(),
            location: task.location(),
        }
    }

    /// The name, or `Task-<id>` as asyncio names unnamed tasks.
    pub fn label(&self) -> String {
        label(self.name.as_deref(), self.id)
    }
}

/// A task's display name: its name, or `Task-<id>` as asyncio names unnamed
/// tasks. The one place that decides it (`TaskInfo::label`, the tracer).
pub(crate) fn label(name: Option<&str>, id: TaskId) -> String {
    match name {
        Some(n) => n.to_owned(),
        None => format!("Task-{id}"),
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task '{}' (id {}, spawned at {})",
            self.label(),
            self.id,
            self.location
        )
    }
}

/// Starts `future` as a task on the running loop (asyncio's `create_task`).
///
/// The task is queued at once and first runs at the loop's next iteration,
/// after the current task yields. Dropping the returned [`Task`] detaches it.
///
/// # Examples
///
/// ```
/// let total = boucle::run(async {
///     let a = boucle::spawn(async { 1 });
///     let b = boucle::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(total, 3);
/// ```
///
/// # Panics
/// Outside a running loop ("no running boucle loop: call this inside
/// boucle::run ...").
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: std::future::Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    context::spawn(future, None, location)
}

/// asyncio's name for [`spawn`].
#[track_caller]
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: std::future::Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    context::spawn(future, None, location)
}

/// The task being polled now (asyncio's `current_task()`); `None` in the
/// `block_on` future or outside a loop.
pub fn current_task() -> Option<TaskInfo> {
    context::with_current(|core| core.current_task().map(|t| TaskInfo::from_ref(&t))).flatten()
}

/// Every unfinished task of the running loop (asyncio's `all_tasks()`),
/// in no particular order. Empty outside a loop.
pub fn all_tasks() -> Vec<TaskInfo> {
    context::with_current(|core| core.all_tasks()).unwrap_or_default()
}
