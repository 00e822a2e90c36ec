//! `WakeHandle`: how loop structures (timers, join waiters, wait lists)
//! remember whom to wake.
//!
//! When the waker in a `Context` is a boucle task waker of the loop running
//! on this thread, a `WakeHandle` keeps a loop-local task reference instead
//! of cloning the `Waker`: no atomic operation to store it, none to wake it.
//! A task's join waiter may instead be a completion notice for a combinator
//! (`as_completed`, `TaskGroup`). Any other waker (a combinator's, another
//! runtime's) is cloned and boxed.
//!
//! The three kinds share one word: a pointer whose two low bits say which
//! (a task header, an `Rc<Completions>` and a `Box<Waker>` are all 8-byte
//! aligned). A handle sits in every task header (the join waiter), every
//! timer and every wait-list entry, so the word it saves is saved per task
//! and per wait.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::task::{Context, Waker};

use super::raw::{waker_task, Header, TaskRef};
use super::TaskId;

/// Whom to wake, in one word (`Option<WakeHandle>` too). `!Send`: it holds
/// loop-local counts and never leaves the loop thread, and it never
/// pretends to be a `Waker`.
pub(crate) struct WakeHandle {
    tagged: NonNull<()>,
    _not_send: PhantomData<*const ()>,
}

/// A task of this loop, by a loop-local reference (`TaskRef::into_raw`).
const LOCAL: usize = 0;
/// A completion notice (`Rc::into_raw`): only for a task's join waiter.
/// When the task completes, its id is pushed to the queue, which wakes its
/// consumer.
const NOTIFY: usize = 1;
/// Any other waker (`Box::into_raw`).
const FOREIGN: usize = 2;
const TAG: usize = 3;

/// A handle taken apart: what it owns, by kind.
enum Owned {
    Local(TaskRef),
    Notify(Rc<Completions>),
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
    fn from_owned(owned: Owned) -> WakeHandle {
        let (ptr, tag) = match owned {
            Owned::Local(task) => (task.into_raw().cast::<()>(), LOCAL),
            Owned::Notify(queue) => {
                // SAFETY: `Rc::into_raw` never returns null.
                let raw = unsafe { NonNull::new_unchecked(Rc::into_raw(queue).cast_mut()) };
                (raw.cast(), NOTIFY)
            }
            Owned::Foreign(waker) => (NonNull::from(Box::leak(waker)).cast(), FOREIGN),
        };
        debug_assert_eq!(
            ptr.as_ptr().addr() & TAG,
            0,
            "WakeHandle pointee under-aligned"
        );
        // SAFETY: setting low bits of a non-null pointer keeps it non-null.
        let tagged = unsafe { NonNull::new_unchecked(ptr.as_ptr().map_addr(|a| a | tag)) };
        WakeHandle {
            tagged,
            _not_send: PhantomData,
        }
    }

    fn tag(&self) -> usize {
        self.tagged.as_ptr().addr() & TAG
    }

    fn pointer(&self) -> NonNull<()> {
        // SAFETY: clearing the tag gives back the pointer `from_owned` got,
        // which was not null.
        unsafe { NonNull::new_unchecked(self.tagged.as_ptr().map_addr(|a| a & !TAG)) }
    }

    /// Takes the handle apart, giving its ownership back.
    fn into_owned(self) -> Owned {
        let this = ManuallyDrop::new(self);
        let ptr = this.pointer();
        // SAFETY: each arm rebuilds the value `from_owned` took apart with
        // the same tag, once: `this` is never dropped.
        unsafe {
            match this.tag() {
                LOCAL => Owned::Local(TaskRef::from_raw(ptr.cast::<Header>())),
                NOTIFY => Owned::Notify(Rc::from_raw(ptr.cast::<Completions>().as_ptr())),
                _ => Owned::Foreign(Box::from_raw(ptr.cast::<Waker>().as_ptr())),
            }
        }
    }

    /// The task reference of a `LOCAL` handle, borrowed.
    fn local(&self) -> Option<ManuallyDrop<TaskRef>> {
        if self.tag() != LOCAL {
            return None;
        }
        // SAFETY: a `LOCAL` handle owns a count of this header; the view is
        // never dropped, so the count stays the handle's.
        let task = unsafe { TaskRef::from_raw(self.pointer().cast()) };
        Some(ManuallyDrop::new(task))
    }

    /// A completion notice, only for a task's join waiter (`as_completed`,
    /// `TaskGroup`).
    pub(crate) fn notify(queue: Rc<Completions>) -> WakeHandle {
        WakeHandle::from_owned(Owned::Notify(queue))
    }

    /// A handle that wakes whoever `cx` belongs to.
    pub(crate) fn new(cx: &Context<'_>) -> WakeHandle {
        WakeHandle::from_owned(match TaskRef::from_waker(cx.waker()) {
            Some(task) => Owned::Local(task),
            None => Owned::Foreign(Box::new(cx.waker().clone())),
        })
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
        match self.tag() {
            LOCAL => waker_task(cx.waker())
                .is_some_and(|p| ptr::eq(p.as_ptr(), self.pointer().cast::<Header>().as_ptr())),
            NOTIFY => false,
            // SAFETY: a `FOREIGN` handle points to the boxed `Waker` it owns.
            _ => unsafe { self.pointer().cast::<Waker>().as_ref() }.will_wake(cx.waker()),
        }
    }

    /// The task this handle wakes, when it is one of this loop's.
    pub(crate) fn task_id(&self) -> Option<TaskId> {
        self.local().map(|task| task.id())
    }

    pub(crate) fn wake(self) {
        match self.into_owned() {
            Owned::Local(task) => task.wake_local(),
            // A notice carries no task id: only `wake_completed` delivers it.
            Owned::Notify(_) => {}
            Owned::Foreign(waker) => waker.wake(),
        }
    }

    /// Wakes the join waiter of task `id`, which just completed.
    pub(crate) fn wake_completed(self, id: TaskId) {
        match self.into_owned() {
            Owned::Notify(queue) => queue.push(id),
            Owned::Local(task) => task.wake_local(),
            Owned::Foreign(waker) => waker.wake(),
        }
    }
}

impl Drop for WakeHandle {
    fn drop(&mut self) {
        // SAFETY: `self` is dropped once and not used after: rebuilding the
        // owned value from a bitwise copy hands its count or box to `Owned`,
        // whose drop releases it.
        drop(unsafe { ptr::read(self) }.into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_handle_is_one_word_with_or_without_option() {
        assert_eq!(std::mem::size_of::<WakeHandle>(), 8);
        assert_eq!(std::mem::size_of::<Option<WakeHandle>>(), 8);
    }
}
