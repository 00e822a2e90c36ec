//! `WakeHandle`: how loop structures (timers, join waiters, wait lists)
//! remember whom to wake.
//!
//! When the waker in a `Context` is a boucle task waker of the loop running
//! on this thread, a `WakeHandle` keeps a loop-local task reference instead
//! of cloning the `Waker`: no atomic operation to store it, none to wake it.
//! Any other waker (a combinator's, another runtime's) is cloned as usual.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ptr;
use std::rc::Rc;
use std::task::{Context, Waker};

use super::raw::{local_task, local_waker, notify_queue, notify_waker, waker_task, TaskRef};
use super::TaskId;

/// Whom to wake, in one `Waker`'s two words (so `Option<WakeHandle>` is
/// 16 bytes too): a loop-local task reference (`raw::local_waker`), a
/// completion notice (`raw::notify_waker`), or a cloned foreign `Waker`.
/// The first two are wakers in form only: they must never leave the loop
/// thread, which is why this type is `!Send` and never hands its waker out.
pub(crate) struct WakeHandle {
    waker: Waker,
    _not_send: PhantomData<*const ()>,
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
    fn from_waker(waker: Waker) -> WakeHandle {
        WakeHandle {
            waker,
            _not_send: PhantomData,
        }
    }

    /// A completion notice, only for a task's join waiter: when the task
    /// completes, its id is pushed to `queue`, which wakes its consumer
    /// (`as_completed`, `TaskGroup`).
    pub(crate) fn notify(queue: Rc<Completions>) -> WakeHandle {
        WakeHandle::from_waker(notify_waker(queue))
    }

    /// A handle that wakes whoever `cx` belongs to.
    pub(crate) fn new(cx: &Context<'_>) -> WakeHandle {
        match TaskRef::from_waker(cx.waker()) {
            Some(task) => WakeHandle::from_waker(local_waker(task)),
            None => WakeHandle::from_waker(cx.waker().clone()),
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
        match local_task(&self.waker) {
            Some(mine) => {
                waker_task(cx.waker()).is_some_and(|p| ptr::eq(p.as_ptr(), mine.as_ptr()))
            }
            None => self.waker.will_wake(cx.waker()),
        }
    }

    pub(crate) fn wake(self) {
        self.waker.wake();
    }

    /// Wakes the join waiter of task `id`, which just completed.
    pub(crate) fn wake_completed(self, id: TaskId) {
        match notify_queue(&self.waker) {
            Some(queue) => queue.push(id),
            None => self.wake(),
        }
    }
}
