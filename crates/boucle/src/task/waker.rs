//! `WakeHandle`: how loop structures (timers, join waiters, wait lists)
//! remember whom to wake.
//!
//! When the waker in a `Context` is a boucle task waker of the loop running
//! on this thread, a `WakeHandle` keeps a loop-local task reference instead
//! of cloning the `Waker`: no atomic operation to store it, none to wake it.
//! Any other waker (a combinator's, another runtime's) is cloned as usual.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ptr;
use std::rc::Rc;
use std::task::{Context, Waker};

use super::raw::{waker_task, TaskRef};
use super::TaskId;

pub(crate) enum WakeHandle {
    Task(TaskRef),
    Waker(Waker),
    /// Completion notice, only as a task's join waiter: push the task's id
    /// to a queue and wake its consumer (`as_completed`, `TaskGroup`).
    Notify(Rc<Completions>),
}

/// Ids of finished tasks, in the order they finished, and who waits for the
/// next one.
#[derive(Default)]
pub(crate) struct Completions {
    ready: RefCell<VecDeque<TaskId>>,
    waiter: RefCell<Option<WakeHandle>>,
}

impl Completions {
    pub(crate) fn push(&self, id: TaskId) {
        self.ready.borrow_mut().push_back(id);
        let waiter = self.waiter.borrow_mut().take();
        if let Some(w) = waiter {
            w.wake();
        }
    }

    pub(crate) fn pop(&self) -> Option<TaskId> {
        self.ready.borrow_mut().pop_front()
    }

    /// Registers `cx` to be woken by the next `push`.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        let mut waiter = self.waiter.borrow_mut();
        WakeHandle::register(&mut waiter, cx);
    }
}

impl WakeHandle {
    /// A handle that wakes whoever `cx` belongs to.
    pub(crate) fn new(cx: &Context<'_>) -> WakeHandle {
        match TaskRef::from_waker(cx.waker()) {
            Some(task) => WakeHandle::Task(task),
            None => WakeHandle::Waker(cx.waker().clone()),
        }
    }

    /// Stores a handle for `cx` in `slot`, unless the one there already
    /// wakes the same task.
    pub(crate) fn register(slot: &mut Option<WakeHandle>, cx: &Context<'_>) {
        if let Some(handle) = slot {
            if handle.will_wake(cx) {
                return;
            }
        }
        *slot = Some(WakeHandle::new(cx));
    }

    /// Whether waking this handle wakes the same task as `cx`'s waker.
    pub(crate) fn will_wake(&self, cx: &Context<'_>) -> bool {
        match self {
            WakeHandle::Task(task) => {
                waker_task(cx.waker()).is_some_and(|p| ptr::eq(p.as_ptr(), task.as_ptr().as_ptr()))
            }
            WakeHandle::Waker(waker) => waker.will_wake(cx.waker()),
            WakeHandle::Notify(..) => false,
        }
    }

    pub(crate) fn wake(self) {
        match self {
            WakeHandle::Task(task) => task.wake_local(),
            WakeHandle::Waker(waker) => waker.wake(),
            WakeHandle::Notify(_) => {
                debug_assert!(false, "a completion notice woken as a plain waker")
            }
        }
    }

    /// Wakes the join waiter of task `id`, which just completed.
    pub(crate) fn wake_completed(self, id: TaskId) {
        match self {
            WakeHandle::Notify(queue) => queue.push(id),
            other => other.wake(),
        }
    }
}
