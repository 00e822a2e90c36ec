//! The waker vtable of task memory: the `Waker` of a task (any thread,
//! counted in `wakers`).

#![allow(unsafe_code)]

use std::ptr::{self, NonNull};
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::{schedule, Header};

/// The task a waker wakes, if it is a boucle task waker.
pub(crate) fn waker_task(waker: &Waker) -> Option<NonNull<Header>> {
    if ptr::eq(waker.vtable(), &WAKER_VTABLE) {
        NonNull::new(waker.data() as *mut Header)
    } else {
        None
    }
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
    // alive), so the contents are dropped and `holds_sched` is set.
    let sched = header.sched;
    let holds_sched = header.state.holds_sched();
    let dealloc_fn = header.vtable.dealloc;
    let drop_sched = header.vtable.sched.drop_sched;
    // SAFETY: no count remains.
    unsafe { dealloc_fn(NonNull::new_unchecked(data as *mut Header)) };
    if holds_sched {
        // SAFETY: the strong count `release` took for the wakers.
        unsafe { drop_sched(sched) };
    }
}
