//! The part of task memory that depends on its scheduler `S` (see
//! `task/schedule.rs`): where a wake goes, the release of the local side,
//! and what keeps the scheduler alive for late wakers. These functions are
//! built once per `S` and reached through the task's vtable, so task memory
//! never names the runtime.

#![allow(unsafe_code)]

use std::future::Future;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use super::cell::{dealloc, drop_stage};
use super::{clone_local, Header, RemoteRef, TaskRef};
use crate::task::schedule::{LocalQueue, Schedule};
use crate::task::state::ScheduleAction;

/// The scheduler's functions, for one `S`.
pub(super) struct SchedVtable {
    /// A wake from any thread.
    pub(super) schedule: unsafe fn(NonNull<Header>),
    /// A wake from the loop thread that may reuse the reference.
    pub(super) wake_local: unsafe fn(TaskRef),
    /// Whether this thread runs the task's loop now.
    pub(super) is_local: unsafe fn(*const ()) -> bool,
    /// Gives back the strong count taken for late wakers.
    pub(super) drop_sched: unsafe fn(*const ()),
}

/// The scheduler functions for `S`: `&SchedV::<S>::VTABLE`.
pub(super) struct SchedV<S>(PhantomData<S>);

impl<S: Schedule> SchedV<S> {
    pub(super) const VTABLE: SchedVtable = SchedVtable {
        schedule: schedule::<S>,
        wake_local: wake_local::<S>,
        is_local: is_local::<S>,
        drop_sched: drop_sched::<S>,
    };
}

/// The scheduler of a task.
///
/// # Safety
/// `header.sched` is an `S` kept alive by the rules of `task/schedule.rs`
/// while the caller holds a count.
unsafe fn sched_of<S: Schedule>(header: &Header) -> &S {
    // SAFETY: forwarded from the caller.
    unsafe { &*(header.sched as *const S) }
}

/// Wakes a task from any thread.
///
/// # Safety
/// The caller holds a count (waker or local) on the live header, whose
/// scheduler is an `S`.
unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a count.
    let header = unsafe { ptr.as_ref() };
    // SAFETY: as above.
    let sched = unsafe { sched_of::<S>(header) };
    let local = sched.with_local(|queue| {
        if header.state.transition_to_scheduled() == ScheduleAction::Push {
            queue.push(clone_local(ptr));
        }
    });
    if local.is_none() && header.wakers.transition_to_notified() {
        // Another thread, or this thread outside the loop, and the first
        // such wake since the loop last took one: hand a waker count to the
        // loop's remote queue. Later wakes find `NOTIFIED` set and are
        // covered by this entry (`refcount.rs`).
        header.wakers.increment();
        sched.push_remote(RemoteRef(ptr));
    }
}

/// Wakes a task from the loop thread, reusing `task` as the run queue
/// entry when it needs queueing.
///
/// # Safety
/// The task's scheduler is an `S`.
unsafe fn wake_local<S: Schedule>(task: TaskRef) {
    let sched_ptr = task.header().sched as *const S;
    // SAFETY: `task` holds a count, so its scheduler is alive (the caller
    // guarantees its type) while this function runs.
    let sched = unsafe { &*sched_ptr };
    let mut this = Some(task);
    let local = sched.with_local(|queue| {
        let task = this.take().expect("taken once");
        if task.header().state.transition_to_scheduled() == ScheduleAction::Push {
            queue.push(task);
        }
    });
    if local.is_none() {
        if let Some(task) = this {
            // SAFETY: `task` holds a count.
            unsafe { schedule::<S>(task.ptr) };
        }
    }
}

/// # Safety
/// `sched` is a live `S`.
unsafe fn is_local<S: Schedule>(sched: *const ()) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { &*(sched as *const S) }
        .with_local(|_| ())
        .is_some()
}

/// The last local reference is gone: drop the contents on this (the loop's)
/// thread, then free the memory unless wakers remain. Built per future and
/// scheduler type, so its work is direct calls.
///
/// # Safety
/// `ptr` is a live task of future type `F` whose local count just reached
/// zero, and its scheduler is an `S`.
pub(super) unsafe fn release<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: still live: the local side's unit in `wakers` is held.
    let header = unsafe { ptr.as_ref() };
    let waiter = header.join_waiter.take();
    let meta = header.meta.get();
    // SAFETY: live, of type `F`, loop thread, nobody polls a task without a
    // local count.
    let stage_panic = unsafe { drop_stage::<F>(ptr) };
    let sched_ptr = header.sched as *const S;
    // Wakers may remain, perhaps on other threads: then the memory keeps
    // the scheduler alive for their wakes, and the last one frees it.
    let free_now = header.wakers.release_local(|| {
        // SAFETY: the scheduler lives in an `Arc` kept alive while local
        // task sides exist (this one included).
        unsafe { Arc::increment_strong_count(sched_ptr) };
        header.state.set_holds_sched();
    });
    if free_now {
        let holds_sched = header.state.holds_sched();
        // SAFETY: no count remains; the task is an `F` of scheduler `S`.
        unsafe { dealloc::<F, S>(ptr) };
        if holds_sched {
            // SAFETY: the strong count taken in the hand-off above.
            unsafe { Arc::decrement_strong_count(sched_ptr) };
        }
    }
    if let Some(waiter) = waiter {
        // Rare: a waiter is taken (and woken) when the task completes.
        drop_cold(waiter);
    }
    // SAFETY: released once; the header is not read again (it may even be
    // freed already: `meta` is a copy).
    unsafe { meta.free_named() };
    // SAFETY: this task's local side keeps the scheduler alive (its loop's
    // `Arc`, or the pin the loop leaves while local sides exist) until the
    // pin is given back below.
    let sched = unsafe { &*sched_ptr };
    if let Some(p) = stage_panic {
        sched.report_unobserved(p);
    }
    if sched.local_task_released() {
        // SAFETY: the count pinned for the local sides; `sched` is not used
        // after this.
        unsafe { Arc::decrement_strong_count(sched_ptr) };
    }
}

/// # Safety
/// `sched` is an `S` with a strong count owned by the caller.
unsafe fn drop_sched<S: Schedule>(sched: *const ()) {
    // SAFETY: forwarded from the caller.
    unsafe { Arc::decrement_strong_count(sched as *const S) };
}

/// Drops `value` out of line: keeps a rare drop's glue off the hot path.
#[cold]
#[inline(never)]
pub(super) fn drop_cold<T>(value: T) {
    drop(value);
}
