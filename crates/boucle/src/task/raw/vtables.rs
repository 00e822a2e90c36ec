//! The waker vtables of task memory: the `Waker` of a task (any thread,
//! counted in `wakers`), and two loop-private forms used by `WakeHandle`: a
//! local task reference (counted in `refs`) and a completion notice.

#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::{clone_local, schedule, Header, TaskRef};
use crate::task::waker::Completions;

/// The task a waker wakes, if it is a boucle task waker.
pub(crate) fn waker_task(waker: &Waker) -> Option<NonNull<Header>> {
    if ptr::eq(waker.vtable(), &WAKER_VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
}

/// A loop-local task reference as a `Waker` (`WakeHandle::new`): its data
/// is a task header, and it owns one *local* count (`refs`), not a waker
/// count. Like the notice below, it lives only in loop structures (through
/// the `!Send` `WakeHandle`), on the loop thread, and is never handed to
/// user code: waking and dropping it touch `Cell`s only.
static LOCAL_VTABLE: RawWakerVTable =
    RawWakerVTable::new(local_clone, local_wake, local_wake_by_ref, local_drop);

pub(crate) fn local_waker(task: TaskRef) -> Waker {
    let data = task.ptr.as_ptr() as *const ();
    std::mem::forget(task); // its count now belongs to the waker
                            // SAFETY: `LOCAL_VTABLE`'s functions take `data` as a header pointer
                            // owning one local count, under the loop-thread-only use above.
    unsafe { Waker::from_raw(RawWaker::new(data, &LOCAL_VTABLE)) }
}

/// The task of a loop-local waker.
pub(crate) fn local_task(waker: &Waker) -> Option<NonNull<Header>> {
    if ptr::eq(waker.vtable(), &LOCAL_VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
}

/// Rebuilds the `TaskRef` a local waker owns.
///
/// # Safety
/// `data` is the data of a local waker whose count the caller takes over.
unsafe fn local_ref(data: *const ()) -> TaskRef {
    TaskRef {
        // SAFETY: a local waker's data is a non-null header pointer.
        ptr: unsafe { NonNull::new_unchecked(data as *mut Header) },
        _not_send: PhantomData,
    }
}

/// # Safety
/// `data` is a live local waker's, on the loop thread.
unsafe fn local_clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a count: the header is live.
    let task = clone_local(unsafe { NonNull::new_unchecked(data as *mut Header) });
    std::mem::forget(task);
    RawWaker::new(data, &LOCAL_VTABLE)
}

/// # Safety
/// As `local_clone`; the caller gives up this waker's count.
unsafe fn local_wake(data: *const ()) {
    // SAFETY: forwarded from the caller.
    unsafe { local_ref(data) }.wake_local();
}

/// # Safety
/// As `local_clone`.
unsafe fn local_wake_by_ref(data: *const ()) {
    // SAFETY: the waker holds a count: the header is live.
    clone_local(unsafe { NonNull::new_unchecked(data as *mut Header) }).wake_local();
}

/// # Safety
/// As `local_clone`; the caller gives up this waker's count.
unsafe fn local_drop(data: *const ()) {
    // SAFETY: forwarded from the caller.
    drop(unsafe { local_ref(data) });
}

/// A completion notice as a `Waker` (`WakeHandle::notify`): its data is an
/// `Rc<Completions>`. Such a waker is made only for a task's join-waiter
/// slot, a loop-thread field, and is taken out of it only by `complete`
/// (which calls `notify_queue`) or dropped on the loop thread: it is never
/// handed to user code, cloned, or sent, so the non-atomic `Rc` is sound.
static NOTIFY_VTABLE: RawWakerVTable =
    RawWakerVTable::new(notify_clone, notify_drop, notify_wake_by_ref, notify_drop);

pub(crate) fn notify_waker(queue: Rc<Completions>) -> Waker {
    let data = Rc::into_raw(queue) as *const ();
    // SAFETY: `NOTIFY_VTABLE`'s functions take `data` as the raw `Rc`
    // made here, under the loop-thread-only use described above.
    unsafe { Waker::from_raw(RawWaker::new(data, &NOTIFY_VTABLE)) }
}

/// The queue of a completion-notice waker.
pub(crate) fn notify_queue(waker: &Waker) -> Option<&Completions> {
    if !ptr::eq(waker.vtable(), &NOTIFY_VTABLE) {
        return None;
    }
    // SAFETY: a notice's data is a live `Rc<Completions>` owned by `waker`.
    Some(unsafe { &*(waker.data() as *const Completions) })
}

/// # Safety
/// `data` is the raw `Rc<Completions>` of a live notice, on the loop thread.
unsafe fn notify_clone(data: *const ()) -> RawWaker {
    // SAFETY: forwarded from the caller.
    unsafe { Rc::increment_strong_count(data as *const Completions) };
    RawWaker::new(data, &NOTIFY_VTABLE)
}

/// # Safety
/// As `notify_clone`.
unsafe fn notify_wake_by_ref(_data: *const ()) {
    // A notice carries no task id: only `complete` can deliver it.
}

/// Also the `wake` entry: waking by value delivers nothing (see above) and
/// releases the notice.
///
/// # Safety
/// As `notify_clone`; the caller gives up this count.
unsafe fn notify_drop(data: *const ()) {
    // SAFETY: forwarded from the caller.
    drop(unsafe { Rc::from_raw(data as *const Completions) });
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_waker, wake_by_ref_waker, drop_waker);

pub(super) fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)
}

/// # Safety
/// `data` is a live task header held by the waker being cloned.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned keeps the header alive.
    let header = unsafe { &*(data as *const Header) };
    header.wakers.increment();
    RawWaker::new(data, &WAKER_VTABLE)
}

/// # Safety
/// `data` is a live task header; the waker owns one count.
unsafe fn wake_waker(data: *const ()) {
    // SAFETY: forwarded.
    unsafe {
        wake_by_ref_waker(data);
        drop_waker(data);
    }
}

/// # Safety
/// `data` is a live task header held by the waker.
unsafe fn wake_by_ref_waker(data: *const ()) {
    // SAFETY: the waker keeps the header alive; `data` is non-null.
    schedule(unsafe { NonNull::new_unchecked(data as *mut Header) });
}

/// # Safety
/// `data` is a live task header; the caller gives up one waker count.
pub(super) unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the count being dropped keeps the header alive until here.
    let header = unsafe { &*(data as *const Header) };
    if !header.wakers.decrement() {
        return;
    }
    // Last count: the local side released earlier (it holds one count while
    // alive), so the contents are dropped and `holds_shared` is set.
    let shared = header.shared;
    let holds_shared = header.state.holds_shared();
    let dealloc_fn = header.vtable.dealloc;
    // SAFETY: no count remains.
    unsafe { dealloc_fn(NonNull::new_unchecked(data as *mut Header)) };
    if holds_shared {
        // SAFETY: the strong count `release` took for the wakers.
        unsafe { Arc::decrement_strong_count(shared) };
    }
}
