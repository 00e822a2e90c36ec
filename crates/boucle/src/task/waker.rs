//! `WakeHandle`: how loop structures (timers, join waiters, wait lists)
//! remember whom to wake.
//!
//! When the waker in a `Context` is a boucle task waker of the loop running
//! on this thread, a `WakeHandle` keeps a loop-local task reference instead
//! of cloning the `Waker`: no atomic operation to store it, none to wake it.
//! A task's join waiter may instead be a completion notice for a combinator
//! (`as_completed`, `TaskGroup`). Any other waker (a combinator's, another
//! runtime's) is cloned, boxed so that the handle stays two words.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ptr;
use std::rc::Rc;
use std::task::{Context, Waker};

use super::raw::{waker_task, TaskRef};
use super::TaskId;

/// Whom to wake. Two words (`Option<WakeHandle>` too): a tag and a pointer.
/// `!Send` through `TaskRef` and `Rc`: it never leaves the loop thread,
/// and it never pretends to be a `Waker`.
pub(crate) enum WakeHandle {
    /// A task of this loop, by a loop-local reference.
    Local(TaskRef),
    /// A completion notice: only for a task's join waiter. When the task
    /// completes, its id is pushed to the queue, which wakes its consumer.
    Notify(Rc<Completions>),
    /// Any other waker.
    Foreign(Box<Waker>),
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
    /// A completion notice, only for a task's join waiter (`as_completed`,
    /// `TaskGroup`).
    pub(crate) fn notify(queue: Rc<Completions>) -> WakeHandle {
        WakeHandle::Notify(queue)
    }

    /// A handle that wakes whoever `cx` belongs to.
    pub(crate) fn new(cx: &Context<'_>) -> WakeHandle {
        match TaskRef::from_waker(cx.waker()) {
            Some(task) => WakeHandle::Local(task),
            None => WakeHandle::Foreign(Box::new(cx.waker().clone())),
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
            WakeHandle::Local(mine) => {
                waker_task(cx.waker()).is_some_and(|p| ptr::eq(p.as_ptr(), mine.header()))
            }
            WakeHandle::Notify(_) => false,
            WakeHandle::Foreign(waker) => waker.will_wake(cx.waker()),
        }
    }

    /// The task this handle wakes, when it is one of this loop's.
    pub(crate) fn task_id(&self) -> Option<TaskId> {
        match self {
            WakeHandle::Local(task) => Some(task.id()),
            _ => None,
        }
    }

    pub(crate) fn wake(self) {
        match self {
            WakeHandle::Local(task) => task.wake_local(),
            // A notice carries no task id: only `wake_completed` delivers it.
            WakeHandle::Notify(_) => {}
            WakeHandle::Foreign(waker) => waker.wake(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_handle_is_two_words_with_or_without_option() {
        assert_eq!(std::mem::size_of::<WakeHandle>(), 16);
        assert_eq!(std::mem::size_of::<Option<WakeHandle>>(), 16);
    }
}
