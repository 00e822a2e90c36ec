//! The typed part of task memory: the cell holding header and stage, its
//! vtable, and the functions that poll, cancel, complete and free it.

#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::meta::Meta;
use super::sched::{release, SchedV, SchedVtable};
use super::vtables::raw_waker;
use super::{Header, PollOutcome, TaskRef};
use crate::task::error::TaskError;
use crate::task::refcount::WakerCount;
use crate::task::schedule::Schedule;
use crate::task::state::{Exit, Stage as Holds, State};
use crate::task::TaskId;

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then the output: which one (or none) is recorded in the
/// header's state word (`State::stage`), not in a tag here, which would
/// cost a word per task.
union Stage<F: Future> {
    running: ManuallyDrop<F>,
    finished: ManuallyDrop<Result<F::Output, TaskError>>,
}

pub(super) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>) -> PollOutcome,
    pub(super) cancel: unsafe fn(NonNull<Header>) -> PollOutcome,
    pub(super) take_output: unsafe fn(NonNull<Header>, *mut ()),
    pub(super) peek_output: unsafe fn(NonNull<Header>) -> *const (),
    pub(super) drop_stage: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    /// The last local reference is gone (`sched::release`).
    pub(super) release: unsafe fn(NonNull<Header>),
    /// The scheduler's functions (`sched.rs`).
    pub(super) sched: &'static SchedVtable,
}

fn vtable<F: Future + 'static, S: Schedule>() -> &'static Vtable {
    struct V<F, S>(PhantomData<(F, S)>);
    impl<F: Future + 'static, S: Schedule> V<F, S> {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            take_output: take_output::<F>,
            peek_output: peek_output::<F>,
            drop_stage: drop_stage::<F>,
            dealloc: dealloc::<F, S>,
            release: release::<F, S>,
            sched: &SchedV::<S>::VTABLE,
        };
    }
    &V::<F, S>::VTABLE
}

/// The layout of a task whose future is `F`, for the scheduler's allocator.
pub(crate) fn layout_of<F: Future>() -> Layout {
    Layout::new::<TaskCell<F>>()
}

/// Allocates a task and returns its three first references: the `Task`
/// handle, the owner count (see `task/mod.rs`) and the run queue entry. `block` is
/// memory from the scheduler's slab for [`layout_of::<F>`](layout_of), or
/// `None` for the global allocator.
pub(crate) fn allocate<F, S>(
    future: F,
    id: TaskId,
    sched: &Arc<S>,
    block: Option<NonNull<u8>>,
    name: Option<Rc<str>>,
    location: &'static Location<'static>,
) -> [TaskRef; 3]
where
    F: Future + 'static,
    S: Schedule,
{
    let layout = Layout::new::<TaskCell<F>>();
    let (memory, in_slab) = match block {
        Some(block) => (block.cast::<TaskCell<F>>(), true),
        None => {
            // SAFETY: a task cell has a non-zero size (its header).
            let raw = unsafe { alloc::alloc(layout) };
            match NonNull::new(raw) {
                Some(p) => (p.cast::<TaskCell<F>>(), false),
                None => alloc::handle_alloc_error(layout),
            }
        }
    };
    let cell = TaskCell {
        header: Header {
            state: State::new_scheduled(),
            refs: Cell::new(3),
            wakers: WakerCount::new(),
            registry_slot: Cell::new(u32::MAX),
            id,
            vtable: vtable::<F, S>(),
            sched: Arc::as_ptr(sched) as *const (),
            join_waiter: Cell::new(None),
            meta: Cell::new(Meta::new(name, location)),
        },
        stage: UnsafeCell::new(Stage {
            running: ManuallyDrop::new(future),
        }),
    };
    if in_slab {
        cell.header.state.set_in_slab();
    }
    // SAFETY: `memory` is fresh, unaliased, and sized and aligned for a
    // `TaskCell<F>` (the slab class rounds the size up; alignment <= 8).
    unsafe { memory.as_ptr().write(cell) };
    let ptr = memory.cast::<Header>();
    let r = || TaskRef {
        ptr,
        _not_send: PhantomData,
    };
    [r(), r(), r()]
}

/// Gives access to a task's stage.
///
/// # Safety
/// `ptr` must point to a live `TaskCell<F>` (its header's vtable was built
/// for `F`), and no other reference to the stage may be alive.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: the caller guarantees the cell is live and of type `F`, and
    // that nobody else borrows the stage.
    unsafe { &mut *(*cell).stage.get() }
}

/// Drops the future in place (it is pinned) and records `Consumed`. A
/// panic in its destructor is caught and returned.
///
/// # Safety
/// As `stage`; the stage must hold the future (`Running`).
unsafe fn drop_future<F: Future>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the caller holds a reference: the header is live.
    let header = unsafe { ptr.as_ref() };
    debug_assert_eq!(header.state.stage(), Holds::Running);
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the stage holds the future (caller), dropped exactly once
    // here; if its destructor unwinds, drop glue has still dropped every
    // field, so it counts as dropped either way.
    let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
        ManuallyDrop::drop(&mut stage.running)
    }));
    header.state.set_stage(Holds::Consumed);
    result.err()
}

/// One turn of the task: poll the future once.
///
/// # Safety
/// `ptr` is a live task of type `F`, on its loop's thread, and the caller
/// holds a reference for the duration of the call.
unsafe fn poll<F: Future + 'static>(ptr: NonNull<Header>) -> PollOutcome {
    // SAFETY: the caller holds a reference: the header is live.
    let header = unsafe { ptr.as_ref() };
    // SAFETY: the task is live and of type `F`; only this turn uses the stage
    // (the handle reads it only once the state says complete).
    let stage = unsafe { stage::<F>(ptr) };
    assert!(
        header.state.stage() == Holds::Running,
        "boucle: a task was polled after its future was dropped"
    );
    // SAFETY: the stage holds the future (checked above); it lives in the
    // task allocation and is dropped in place (`drop_future`), never moved:
    // it is pinned.
    let future = unsafe { Pin::new_unchecked(&mut *stage.running) };
    // The waker borrowed by this poll: it owns no count, so it is never
    // dropped; clones made from it take one.
    // SAFETY: the vtable's functions expect a `Header` pointer, which this is.
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(ptr)) });
    let mut cx = Context::from_waker(&waker);
    match panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
        Ok(Poll::Pending) => {
            header.state.transition_to_idle();
            PollOutcome::Pending
        }
        Ok(Poll::Ready(output)) => {
            // SAFETY: as above; the `future` borrow ended with the poll.
            let drop_panic = unsafe { drop_future::<F>(ptr) };
            let result = match drop_panic {
                None => Ok(output),
                Some(p) => Err(TaskError::panic(p)),
            };
            // SAFETY: as above.
            unsafe { complete::<F>(ptr, result) }
        }
        Err(payload) => {
            // SAFETY: as above.
            let _ = unsafe { drop_future::<F>(ptr) };
            // SAFETY: as above.
            unsafe { complete::<F>(ptr, Err(TaskError::panic(payload))) }
        }
    }
}

/// Cancellation: drop the future now and complete with `Cancelled` (or with
/// the panic its destructor raised).
///
/// # Safety
/// As `poll`.
unsafe fn cancel<F: Future + 'static>(ptr: NonNull<Header>) -> PollOutcome {
    // SAFETY: forwarded from the caller; the stage is `Running` (the task is
    // not complete, checked by the state transition that led here).
    let result = match unsafe { drop_future::<F>(ptr) } {
        None => Err(TaskError::cancelled()),
        Some(p) => Err(TaskError::panic(p)),
    };
    // SAFETY: forwarded from the caller.
    unsafe { complete::<F>(ptr, result) }
}

/// Stores the result (or drops it if nobody can read it), marks the task
/// complete and wakes the task awaiting the handle.
///
/// # Safety
/// As `poll`; the stage is `Consumed`.
unsafe fn complete<F: Future + 'static>(
    ptr: NonNull<Header>,
    result: Result<F::Output, TaskError>,
) -> PollOutcome {
    // SAFETY: the caller holds a reference.
    let header = unsafe { ptr.as_ref() };
    let outcome = match &result {
        Ok(_) => Exit::Done,
        Err(e) if e.is_cancelled() => Exit::Cancelled,
        Err(_) => Exit::Panicked,
    };
    let mut unobserved_panic = None;
    if header.state.has_join_interest() {
        // SAFETY: the caller holds a reference; nobody borrows the stage,
        // which holds nothing (`Consumed`): writing a field drops nothing.
        unsafe { stage::<F>(ptr) }.finished = ManuallyDrop::new(result);
        header.state.set_stage(Holds::Finished);
    } else {
        match result {
            Err(e) if e.is_panic() => unobserved_panic = e.into_panic().ok(),
            other => {
                // The output's destructor is user code: keep its panic in
                // the task too.
                if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| drop(other))) {
                    unobserved_panic = Some(p);
                }
            }
        }
    }
    header.state.transition_to_complete(outcome);
    if let Some(waiter) = header.join_waiter.take() {
        waiter.wake_completed(header.id);
    }
    PollOutcome::Complete {
        outcome,
        unobserved_panic,
    }
}

/// Moves the output into `*dst`, a `Poll<Result<F::Output, TaskError>>`.
///
/// # Safety
/// `ptr` is a live, complete task of type `F`; `dst` points to a valid
/// `Poll<Result<F::Output, TaskError>>`.
unsafe fn take_output<F: Future + 'static>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: the caller guarantees liveness.
    let header = unsafe { ptr.as_ref() };
    assert!(
        header.state.stage() == Holds::Finished,
        "boucle: a `Task` was polled again after it returned its result"
    );
    // SAFETY: the caller guarantees type; the task is complete, so no turn
    // borrows the stage.
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the stage holds the output (checked above); it is moved out
    // once, and the state says so before anything else can look.
    let result = unsafe { ManuallyDrop::take(&mut stage.finished) };
    header.state.set_stage(Holds::Consumed);
    // SAFETY: the caller guarantees `dst`'s type.
    unsafe { *dst.cast::<Poll<Result<F::Output, TaskError>>>() = Poll::Ready(result) };
}

/// A pointer to the output, a `Result<F::Output, TaskError>`, if the task
/// finished and the output was not taken; null otherwise.
///
/// # Safety
/// `ptr` is a live, complete task of type `F`, on its loop's thread.
unsafe fn peek_output<F: Future + 'static>(ptr: NonNull<Header>) -> *const () {
    // SAFETY: the caller guarantees liveness.
    let header = unsafe { ptr.as_ref() };
    if header.state.stage() != Holds::Finished {
        return ptr::null();
    }
    // SAFETY: the caller guarantees type; the task is complete, so no turn
    // borrows the stage, which holds the output (checked above).
    let result: &Result<F::Output, TaskError> = unsafe { &stage::<F>(ptr).finished };
    (result as *const Result<F::Output, TaskError>).cast()
}

/// Drops whatever the stage holds. Returns the payload of a panic result
/// that nobody read.
///
/// # Safety
/// `ptr` is a live task of type `F` on its loop's thread, not being polled.
pub(super) unsafe fn drop_stage<F: Future + 'static>(
    ptr: NonNull<Header>,
) -> Option<Box<dyn Any + Send>> {
    // SAFETY: forwarded from the caller.
    let header = unsafe { ptr.as_ref() };
    match header.state.stage() {
        // SAFETY: forwarded from the caller; the stage holds the future.
        Holds::Running => unsafe { drop_future::<F>(ptr) },
        Holds::Finished => {
            // SAFETY: forwarded from the caller; the stage holds the output,
            // moved out once (the state records it at once).
            let result = unsafe { ManuallyDrop::take(&mut stage::<F>(ptr).finished) };
            header.state.set_stage(Holds::Consumed);
            match result {
                Err(e) if e.is_panic() => e.into_panic().ok(),
                other => panic::catch_unwind(AssertUnwindSafe(|| drop(other))).err(),
            }
        }
        Holds::Consumed => None,
    }
}

/// Frees the allocation (through the scheduler). Contents must already be
/// dropped.
///
/// # Safety
/// `ptr` came from `allocate::<F, S>` and no reference of any kind remains.
pub(super) unsafe fn dealloc<F: Future + 'static, S: Schedule>(ptr: NonNull<Header>) {
    let layout = Layout::new::<TaskCell<F>>();
    // SAFETY: the memory is live until the scheduler frees it below.
    let header = unsafe { ptr.as_ref() };
    // The stage is `Consumed` and the header's owning fields are empty, so
    // nothing needs dropping (and nothing of type `F` is touched, which
    // matters when the last waker is dropped on another thread).
    let in_slab = header.state.in_slab();
    // SAFETY: the scheduler outlives every task memory of its loop (the
    // caller still holds its count, if any, until after this).
    let sched = unsafe { &*(header.sched as *const S) };
    // SAFETY: the memory came from the scheduler's slab or from
    // `alloc::alloc(layout)`, and nothing refers to it.
    unsafe { sched.dealloc(ptr.cast(), layout, in_slab) };
}
