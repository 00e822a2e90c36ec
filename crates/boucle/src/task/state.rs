//! The state word of a task: plain bits in a `Cell`, read and written only on
//! the loop thread. Every change goes through a `transition_to_*` method that
//! returns what the caller must do next.

use std::cell::Cell;

/// The task sits in the run queue (at most once).
const SCHEDULED: u32 = 1 << 0;
/// The task's future is being polled right now.
const RUNNING: u32 = 1 << 1;
/// The task has a result (or had one and it was taken): its future is gone.
const COMPLETE: u32 = 1 << 2;
/// `Task::cancel` was called and the task has not completed yet.
const CANCEL_REQUESTED: u32 = 1 << 3;
/// The task completed because it was cancelled.
const CANCELLED: u32 = 1 << 4;
/// The task completed because its future panicked (in poll or in drop).
const PANICKED: u32 = 1 << 5;
/// A `Task<T>` handle is alive: the output must be kept for it.
const JOIN_INTEREST: u32 = 1 << 6;
/// The output was looked at (`Task::result` / `exception`): a panic in it
/// counts as observed, and is not reported when the handle is dropped.
const RETRIEVED: u32 = 1 << 7;
/// The memory holds a strong count of its scheduler (see `raw/sched.rs`).
const HOLDS_SCHED: u32 = 1 << 8;
/// The task has been polled at least once (tracing uses it).
const STARTED: u32 = 1 << 9;
/// The memory is a block of the loop's task slab (`slab.rs`). Set before
/// the task is shared, read by whoever frees it.
const IN_SLAB: u32 = 1 << 10;
/// What the task's stage holds (`raw/cell.rs` keeps it in an untagged
/// union, so that its tag costs no word in each task): neither bit, the
/// future; `STAGE_FINISHED`, the output; `STAGE_CONSUMED`, nothing.
const STAGE_FINISHED: u32 = 1 << 11;
const STAGE_CONSUMED: u32 = 1 << 12;
const STAGE: u32 = STAGE_FINISHED | STAGE_CONSUMED;

/// What a task's stage holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The future (from spawn until it completes or is dropped).
    Running,
    /// The output, kept for the handle.
    Finished,
    /// Nothing: the future was dropped and no output is kept (or it was
    /// taken).
    Consumed,
}

/// What `transition_to_scheduled` tells the waker to do.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScheduleAction {
    /// Push a new reference to the run queue.
    Push,
    /// Already queued, or already complete: nothing to do.
    Nothing,
}

/// What `transition_to_running` tells the loop to do with a popped task.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunAction {
    /// Poll the future.
    Poll {
        /// True the first time the task runs.
        first: bool,
    },
    /// Drop the future: cancellation was requested.
    Cancel,
    /// The task completed while it was queued (a stale entry).
    Skip,
}

/// How a task ended, recorded by `transition_to_complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Done,
    Cancelled,
    Panicked,
}

/// What `request_cancel` tells the caller to do.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelAction {
    /// Schedule the task so it sees the request at its next turn.
    Schedule,
    /// The request is already recorded and the task will see it.
    AlreadyRequested,
    /// Too late: the task has completed.
    Complete,
}

/// The state word. Loop-thread only (the type is `!Sync` through `Cell`),
/// except `holds_sched`, which the last waker reads after an acquire fence
/// on the waker count (see `raw/mod.rs`).
#[repr(transparent)]
pub(crate) struct State(Cell<u32>);

impl State {
    /// A new task: queued, with a handle.
    pub(crate) fn new_scheduled() -> State {
        State(Cell::new(SCHEDULED | JOIN_INTEREST))
    }

    fn get(&self) -> u32 {
        self.0.get()
    }

    fn set(&self, v: u32) {
        self.0.set(v)
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.get() & COMPLETE != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.get() & CANCELLED != 0
    }

    pub(crate) fn is_panicked(&self) -> bool {
        self.get() & PANICKED != 0
    }

    pub(crate) fn is_running(&self) -> bool {
        self.get() & RUNNING != 0
    }

    pub(crate) fn is_scheduled(&self) -> bool {
        self.get() & SCHEDULED != 0
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.get() & CANCEL_REQUESTED != 0
    }

    pub(crate) fn has_join_interest(&self) -> bool {
        self.get() & JOIN_INTEREST != 0
    }

    pub(crate) fn in_slab(&self) -> bool {
        self.get() & IN_SLAB != 0
    }

    /// What the stage holds.
    #[inline]
    pub(crate) fn stage(&self) -> Stage {
        match self.get() & STAGE {
            0 => Stage::Running,
            STAGE_FINISHED => Stage::Finished,
            _ => Stage::Consumed,
        }
    }

    /// Records what the stage now holds.
    #[inline]
    pub(crate) fn set_stage(&self, stage: Stage) {
        let bits = match stage {
            Stage::Running => 0,
            Stage::Finished => STAGE_FINISHED,
            Stage::Consumed => STAGE_CONSUMED,
        };
        self.set((self.get() & !STAGE) | bits);
    }

    /// Allocation: the memory came from the task slab.
    pub(crate) fn set_in_slab(&self) {
        self.set(self.get() | IN_SLAB);
    }

    pub(crate) fn holds_sched(&self) -> bool {
        self.get() & HOLDS_SCHED != 0
    }

    /// A wake-up: queue the task unless it is queued or complete.
    pub(crate) fn transition_to_scheduled(&self) -> ScheduleAction {
        let s = self.get();
        if s & (SCHEDULED | COMPLETE) != 0 {
            return ScheduleAction::Nothing;
        }
        self.set(s | SCHEDULED);
        ScheduleAction::Push
    }

    /// The loop popped the task from the run queue.
    pub(crate) fn transition_to_running(&self) -> RunAction {
        let s = self.get();
        if s & COMPLETE != 0 {
            return RunAction::Skip;
        }
        let next = (s & !SCHEDULED) | RUNNING | STARTED;
        self.set(next);
        if s & CANCEL_REQUESTED != 0 {
            RunAction::Cancel
        } else {
            RunAction::Poll {
                first: s & STARTED == 0,
            }
        }
    }

    /// The future returned `Pending`.
    pub(crate) fn transition_to_idle(&self) {
        self.set(self.get() & !RUNNING);
    }

    /// The future is gone; the result is stored (or dropped if no handle).
    pub(crate) fn transition_to_complete(&self, outcome: Exit) {
        let mut s = (self.get() & !(RUNNING | SCHEDULED | CANCEL_REQUESTED)) | COMPLETE;
        match outcome {
            Exit::Done => {}
            Exit::Cancelled => s |= CANCELLED,
            Exit::Panicked => s |= PANICKED,
        }
        self.set(s);
    }

    /// `Task::cancel`.
    pub(crate) fn request_cancel(&self) -> CancelAction {
        let s = self.get();
        if s & COMPLETE != 0 {
            return CancelAction::Complete;
        }
        if s & CANCEL_REQUESTED != 0 {
            return CancelAction::AlreadyRequested;
        }
        self.set(s | CANCEL_REQUESTED);
        CancelAction::Schedule
    }

    /// The `Task<T>` handle was dropped.
    pub(crate) fn transition_to_detached(&self) {
        self.set(self.get() & !JOIN_INTEREST);
    }

    /// `Task::result` or `exception` looked at the output.
    pub(crate) fn mark_retrieved(&self) {
        self.set(self.get() | RETRIEVED);
    }

    pub(crate) fn is_retrieved(&self) -> bool {
        self.get() & RETRIEVED != 0
    }

    /// The memory now keeps its scheduler alive (slow path of release).
    pub(crate) fn set_holds_sched(&self) {
        self.set(self.get() | HOLDS_SCHED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_idempotent_until_run() {
        let s = State::new_scheduled();
        assert_eq!(s.transition_to_scheduled(), ScheduleAction::Nothing);
        assert_eq!(s.transition_to_running(), RunAction::Poll { first: true });
        // Woken while running: queued again.
        assert_eq!(s.transition_to_scheduled(), ScheduleAction::Push);
        assert_eq!(s.transition_to_scheduled(), ScheduleAction::Nothing);
        s.transition_to_idle();
        assert_eq!(s.transition_to_running(), RunAction::Poll { first: false });
    }

    #[test]
    fn complete_tasks_are_never_scheduled_or_run() {
        let s = State::new_scheduled();
        let _ = s.transition_to_running();
        s.transition_to_complete(Exit::Done);
        assert_eq!(s.transition_to_scheduled(), ScheduleAction::Nothing);
        assert_eq!(s.transition_to_running(), RunAction::Skip);
        assert_eq!(s.request_cancel(), CancelAction::Complete);
        assert!(!s.is_cancelled());
    }

    #[test]
    fn cancel_request_turns_the_next_run_into_a_cancel() {
        let s = State::new_scheduled();
        assert_eq!(s.request_cancel(), CancelAction::Schedule);
        assert_eq!(s.request_cancel(), CancelAction::AlreadyRequested);
        assert_eq!(s.transition_to_running(), RunAction::Cancel);
        s.transition_to_complete(Exit::Cancelled);
        assert!(s.is_cancelled() && s.is_complete() && !s.cancel_requested());
    }
}
