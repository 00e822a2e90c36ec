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

pub(crate) enum WakeHandle {
    Task(TaskRef),
    Waker(Waker),
    /// Completion notice: push the index to a queue, wake its consumer
    /// (`as_completed`, `TaskGroup`).
    Notify(Rc<Completions>, usize),
}

/// Indices of finished tasks, in the order they finished, and who waits
/// for the next one.
#[derive(Default)]
pub(crate) struct Completions {
    ready: RefCell<VecDeque<usize>>,
    waiter: RefCell<Option<WakeHandle>>,
}

impl Completions {
    pub(crate) fn push(&self, index: usize) {
        self.ready.borrow_mut().push_back(index);
        let waiter = self.waiter.borrow_mut().take();
        if let Some(w) = waiter {
            w.wake();
        }
    }

    pub(crate) fn pop(&self) -> Option<usize> {
        self.ready.borrow_mut().pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ready.borrow().is_empty()
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
            WakeHandle::Notify(queue, index) => queue.push(index),
        }
    }

    pub(crate) fn wake_by_ref(&self) {
        match self {
            WakeHandle::Task(task) => task.clone().wake_local(),
            WakeHandle::Waker(waker) => waker.wake_by_ref(),
            WakeHandle::Notify(queue, index) => queue.push(*index),
        }
    }
}
