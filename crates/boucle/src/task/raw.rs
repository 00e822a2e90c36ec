//! Task memory: one allocation per task holding the header, the future and
//! then its output. This is the only module (with `waker.rs`' vtable use)
//! where `unsafe` code lives; the protocol it follows is written in
//! `task/mod.rs`.

#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::error::TaskError;
use super::refcount::{WakerCount, MAX_REFS};
use super::slab::{class_of, TaskSlab};
use super::state::{CancelAction, Outcome, RunAction, ScheduleAction, State};
use super::waker::{Completions, WakeHandle};
use super::TaskId;
use crate::runtime::{context, shared::Shared};

/// The part of a task that does not depend on its future's type.
///
/// Fields other than `wakers` are touched only on the loop thread, except that
/// the thread dropping the last waker reads `state.holds_shared()`, `shared`
/// and `vtable` after an acquire fence that pairs with the loop's release.
pub(crate) struct Header {
    pub(crate) state: State,
    /// Loop-local references: the `Task` handle, the owner entry in the
    /// loop's registry, run queue entries, loop-local `WakeHandle`s.
    refs: Cell<u32>,
    /// `Waker` references (any thread), plus one for the whole local side
    /// while `refs > 0`.
    wakers: WakerCount,
    /// Index in the loop's registry of unfinished tasks.
    pub(crate) registry_slot: Cell<u32>,
    pub(crate) id: TaskId,
    vtable: &'static Vtable,
    /// The loop's cross-thread half, for wakes from other threads.
    shared: *const Shared,
    /// Who awaits the `Task` handle.
    join_waiter: Cell<Option<WakeHandle>>,
    /// Where the task was spawned, and its name if it has one.
    meta: Cell<Meta>,
}

/// A spawn location, or a boxed (name, location) for named tasks, in one
/// word: names are rare, and the header stays small. The low bit tells
/// which (both pointees are 8-byte aligned).
#[derive(Clone, Copy)]
struct Meta(NonNull<()>);

struct Named {
    name: Rc<str>,
    location: &'static Location<'static>,
}

const NAMED: usize = 1;

impl Meta {
    fn new(name: Option<Rc<str>>, location: &'static Location<'static>) -> Meta {
        match name {
            None => Meta(NonNull::from(location).cast()),
            Some(name) => {
                let named: *mut Named = Box::into_raw(Box::new(Named { name, location }));
                let tagged = named.map_addr(|a| a | NAMED).cast::<()>();
                Meta(NonNull::new(tagged).expect("a Box is never null"))
            }
        }
    }

    fn named(self) -> Option<NonNull<Named>> {
        if self.0.as_ptr().addr() & NAMED == 0 {
            return None;
        }
        NonNull::new(self.0.as_ptr().map_addr(|a| a & !NAMED).cast::<Named>())
    }

    fn location(self) -> &'static Location<'static> {
        match self.named() {
            // SAFETY: a named meta points to a live `Named` (freed only by
            // `free_named`, at release, after which the header is unused).
            Some(named) => unsafe { named.as_ref() }.location,
            // SAFETY: an unnamed meta is a `&'static Location`.
            None => unsafe { self.0.cast::<Location<'static>>().as_ref() },
        }
    }

    fn name(self) -> Option<Rc<str>> {
        // SAFETY: as in `location`.
        self.named().map(|n| unsafe { n.as_ref() }.name.clone())
    }

    /// Frees the boxed name (at release).
    ///
    /// # Safety
    /// Called once; the meta is not used afterwards.
    unsafe fn free_named(self) {
        if let Some(named) = self.named() {
            // SAFETY: made by `Box::leak` in `new`, freed once (caller).
            drop(unsafe { Box::from_raw(named.as_ptr()) });
        }
    }
}

#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, TaskError>),
    Consumed,
}

struct Vtable {
    poll: unsafe fn(NonNull<Header>) -> PollOutcome,
    cancel: unsafe fn(NonNull<Header>) -> PollOutcome,
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    drop_stage: unsafe fn(NonNull<Header>) -> Option<Box<dyn Any + Send>>,
    dealloc: unsafe fn(NonNull<Header>),
}

/// What one turn of a task did.
pub(crate) enum PollOutcome {
    Pending,
    /// Completed; carries a panic payload that nobody can observe (the
    /// handle is gone), for the loop's exception handler.
    Complete {
        outcome: Outcome,
        unobserved_panic: Option<Box<dyn Any + Send>>,
    },
}

fn vtable<F: Future + 'static>() -> &'static Vtable {
    struct V<F>(PhantomData<F>);
    impl<F: Future + 'static> V<F> {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            take_output: take_output::<F>,
            drop_stage: drop_stage::<F>,
            dealloc: dealloc::<F>,
        };
    }
    &V::<F>::VTABLE
}

/// Allocates a task and returns its three first references: the `Task`
/// handle, the registry's owner entry and the run queue entry.
pub(crate) fn allocate<F>(
    future: F,
    id: TaskId,
    shared: &Arc<Shared>,
    slab: Option<&RefCell<TaskSlab>>,
    name: Option<Rc<str>>,
    location: &'static Location<'static>,
) -> [TaskRef; 3]
where
    F: Future + 'static,
{
    let layout = Layout::new::<TaskCell<F>>();
    let block = match (slab, class_of(layout)) {
        (Some(slab), Some(class)) => slab.borrow_mut().alloc(&shared.slab, class),
        _ => None,
    };
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
            vtable: vtable::<F>(),
            shared: Arc::as_ptr(shared),
            join_waiter: Cell::new(None),
            meta: Cell::new(Meta::new(name, location)),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
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

/// Drops the future in place (it is pinned) and leaves `Consumed`. A panic
/// in its destructor is caught and returned.
///
/// # Safety
/// As `stage`; the stage must be `Running`.
unsafe fn drop_future<F: Future>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    let raw: *mut Stage<F> = stage;
    // SAFETY: `raw` is valid and the stage is dropped exactly once here; if
    // the destructor unwinds, drop glue has still dropped every field, so
    // the memory is treated as dropped either way and overwritten.
    let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(raw) }));
    // SAFETY: the old value is dropped (above); writing does not drop it again.
    unsafe { ptr::write(raw, Stage::Consumed) };
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
    let Stage::Running(future) = (unsafe { stage::<F>(ptr) }) else {
        unreachable!("boucle: a task was polled after its future was dropped");
    };
    // SAFETY: the future lives in the task allocation and is dropped in place
    // (`drop_future`), never moved: it is pinned.
    let future = unsafe { Pin::new_unchecked(future) };
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
        Ok(_) => Outcome::Done,
        Err(e) if e.is_cancelled() => Outcome::Cancelled,
        Err(_) => Outcome::Panicked,
    };
    let mut unobserved_panic = None;
    if header.state.has_join_interest() {
        // SAFETY: the caller holds a reference; nobody borrows the stage.
        unsafe { *stage::<F>(ptr) = Stage::Finished(result) };
    } else {
        match result {
            Err(e) if e.is_panic() => unobserved_panic = Some(e.into_panic()),
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
    // SAFETY: the caller guarantees type and liveness; the task is complete,
    // so no turn borrows the stage.
    let stage = unsafe { stage::<F>(ptr) };
    match std::mem::replace(stage, Stage::Consumed) {
        Stage::Finished(result) => {
            // SAFETY: the caller guarantees `dst`'s type.
            unsafe { *dst.cast::<Poll<Result<F::Output, TaskError>>>() = Poll::Ready(result) };
        }
        _ => panic!("boucle: a `Task` was polled again after it returned its result"),
    }
}

/// Drops whatever the stage holds. Returns the payload of a panic result
/// that nobody read.
///
/// # Safety
/// `ptr` is a live task of type `F` on its loop's thread, not being polled.
unsafe fn drop_stage<F: Future + 'static>(ptr: NonNull<Header>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: forwarded from the caller.
    let stage = unsafe { stage::<F>(ptr) };
    match stage {
        Stage::Running(_) => {
            // SAFETY: forwarded from the caller.
            unsafe { drop_future::<F>(ptr) }
        }
        Stage::Finished(_) => match std::mem::replace(stage, Stage::Consumed) {
            Stage::Finished(Err(e)) if e.is_panic() => Some(e.into_panic()),
            other => panic::catch_unwind(AssertUnwindSafe(|| drop(other))).err(),
        },
        Stage::Consumed => None,
    }
}

/// Frees the allocation. Contents must already be dropped.
///
/// # Safety
/// `ptr` came from `allocate::<F>` and no reference of any kind remains.
unsafe fn dealloc<F: Future + 'static>(ptr: NonNull<Header>) {
    let layout = Layout::new::<TaskCell<F>>();
    // SAFETY: the memory is live until the end of this function.
    let header = unsafe { ptr.as_ref() };
    // The stage is `Consumed` and the header's owning fields are empty, so
    // nothing needs dropping (and nothing of type `F` is touched, which
    // matters when the last waker is dropped on another thread).
    match (header.state.in_slab(), class_of(layout)) {
        (true, Some(class)) => {
            let shared = header.shared;
            let block = ptr.cast::<u8>();
            let local = context::with_core_of(shared, |core| match &core.task_slab {
                // SAFETY: the block came from this loop's slab and is unused.
                Some(slab) => unsafe { slab.borrow_mut().free(class, block) },
                None => unreachable!("a slab block from a loop without a slab"),
            });
            if local.is_none() {
                // SAFETY: `Shared` outlives every task memory of its loop
                // (the caller still holds its pin, if any, until after this).
                unsafe { &*shared }.slab.free_remote(class, block);
            }
        }
        // SAFETY: allocated by `alloc::alloc` with this layout in `allocate`.
        _ => unsafe { alloc::dealloc(ptr.as_ptr().cast(), layout) },
    }
}

/// A loop-local counted reference to a task. `!Send`: the count is a `Cell`.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
    _not_send: PhantomData<*const ()>,
}

impl TaskRef {
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `TaskRef` owns a local count, so the header is live.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(&self) -> TaskId {
        self.header().id
    }

    pub(crate) fn name(&self) -> Option<Rc<str>> {
        self.header().meta.get().name()
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.header().meta.get().location()
    }

    /// Runs one turn of the task. The loop calls this with the reference it
    /// popped from the run queue.
    pub(crate) fn run(&self) -> (RunAction, PollOutcome) {
        let header = self.header();
        let action = header.state.transition_to_running();
        let outcome = match action {
            // SAFETY: `self` keeps the task alive; we are on the loop thread
            // (a `TaskRef` never leaves it) and the state machine guarantees
            // the stage is `Running` for `Poll` and `Cancel`.
            RunAction::Poll { .. } => unsafe { (header.vtable.poll)(self.ptr) },
            // SAFETY: as above.
            RunAction::Cancel => unsafe { (header.vtable.cancel)(self.ptr) },
            RunAction::Skip => PollOutcome::Pending,
        };
        (action, outcome)
    }

    /// Completes an unfinished task at once by dropping its future (loop
    /// shutdown). Does nothing if it is complete.
    pub(crate) fn cancel_now(&self) -> Option<PollOutcome> {
        let header = self.header();
        if header.state.is_complete() || header.state.is_running() {
            return None;
        }
        // SAFETY: as in `run`: live, loop thread, stage `Running`.
        Some(unsafe { (header.vtable.cancel)(self.ptr) })
    }

    /// `Task::cancel`: records the request and schedules the task.
    pub(crate) fn request_cancel(&self) -> bool {
        match self.header().state.request_cancel() {
            CancelAction::Complete => false,
            CancelAction::AlreadyRequested => true,
            CancelAction::Schedule => {
                schedule(self.ptr);
                true
            }
        }
    }

    /// The `Task<T>` handle polls for the output.
    ///
    /// # Safety
    /// `dst` points to a valid `Poll<Result<T, TaskError>>` where `T` is the
    /// output type of the future this task was allocated with.
    pub(crate) unsafe fn poll_output(&self, dst: *mut (), cx: &Context<'_>) {
        let header = self.header();
        if header.state.is_complete() {
            // SAFETY: the task is live (we hold a count), complete, and the
            // caller guarantees `dst`'s type.
            unsafe { (header.vtable.take_output)(self.ptr, dst) };
            return;
        }
        let mut waiter = header.join_waiter.take();
        WakeHandle::register(&mut waiter, cx);
        header.join_waiter.set(waiter);
    }

    /// Replaces the join waiter with a completion notice (`Completions`).
    /// Returns false if the task is already complete (no notice will come).
    pub(crate) fn notify_on_complete(&self, handle: WakeHandle) -> bool {
        let header = self.header();
        if header.state.is_complete() {
            return false;
        }
        drop(header.join_waiter.replace(Some(handle)));
        true
    }

    /// The `Task<T>` handle is dropped. Returns an unread panic payload.
    pub(crate) fn drop_join_interest(&self) -> Option<Box<dyn Any + Send>> {
        let header = self.header();
        header.state.transition_to_detached();
        drop(header.join_waiter.take());
        if header.state.is_complete() {
            // SAFETY: live, complete (no turn borrows the stage), loop thread.
            unsafe { (header.vtable.drop_stage)(self.ptr) }
        } else {
            None
        }
    }

    /// Wakes this task from the loop thread, reusing this reference as the
    /// run queue entry when the task needs queueing.
    pub(crate) fn wake_local(self) {
        let shared = self.header().shared;
        let mut this = Some(self);
        let local = context::with_core_of(shared, |core| {
            let task = this.take().expect("taken once");
            if task.header().state.transition_to_scheduled() == ScheduleAction::Push {
                core.push_ready(task);
            }
        });
        if local.is_none() {
            if let Some(task) = this {
                schedule(task.ptr);
            }
        }
    }

    /// A local reference from a waker, when the waker is a boucle task
    /// waker of the loop running on this thread.
    pub(crate) fn from_waker(waker: &Waker) -> Option<TaskRef> {
        let ptr = waker_task(waker)?;
        // SAFETY: a boucle task waker owns a count (or is the borrowed waker
        // of a running turn), so the header is live.
        let header = unsafe { ptr.as_ref() };
        context::with_core_of(header.shared, |_| ())?;
        if header.state.is_complete() {
            // Possibly released: never resurrect a local count.
            return None;
        }
        Some(clone_local(ptr))
    }
}

fn clone_local(ptr: NonNull<Header>) -> TaskRef {
    // SAFETY: callers hold a count on the live header.
    let header = unsafe { ptr.as_ref() };
    let n = header.refs.get();
    if n >= MAX_REFS {
        std::process::abort();
    }
    header.refs.set(n + 1);
    TaskRef {
        ptr,
        _not_send: PhantomData,
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        clone_local(self.ptr)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        let header = self.header();
        let n = header.refs.get() - 1;
        header.refs.set(n);
        if n == 0 {
            // SAFETY: that was the last local count.
            unsafe { release(self.ptr) };
        }
    }
}

/// The last local reference is gone: drop the contents on this (the loop's)
/// thread, then free the memory unless wakers remain.
///
/// # Safety
/// `ptr` is live and its local count just reached zero.
unsafe fn release(ptr: NonNull<Header>) {
    // SAFETY: still live: the local side's unit in `wakers` is held.
    let header = unsafe { ptr.as_ref() };
    header.state.transition_to_released();
    let waiter = header.join_waiter.take();
    let meta = header.meta.get();
    // SAFETY: live, loop thread, nobody polls a task without a local count.
    let stage_panic = unsafe { (header.vtable.drop_stage)(ptr) };
    let shared = header.shared;
    // Wakers may remain, perhaps on other threads: then the memory keeps the
    // loop's `Shared` alive for their wakes, and the last one frees it.
    let free_now = header.wakers.release_local(|| {
        // SAFETY: `shared` came from `Arc::as_ptr` of a live `Arc` (the
        // runtime's, or the pin `Runtime::drop` leaves while local task
        // sides exist, this one included).
        unsafe { Arc::increment_strong_count(shared) };
        header.state.set_holds_shared();
    });
    if free_now {
        let holds_shared = header.state.holds_shared();
        // SAFETY: no count remains.
        unsafe { (header.vtable.dealloc)(ptr) };
        if holds_shared {
            // SAFETY: the strong count taken in the hand-off above.
            unsafe { Arc::decrement_strong_count(shared) };
        }
    }
    // SAFETY: this task's local side is counted in `live_local`, so `Shared`
    // is alive: the runtime holds it, or `Runtime::drop` pinned a strong
    // count that the last local side (maybe this one) gives back.
    if unsafe { &*shared }.local_task_released() {
        // SAFETY: the count pinned by `Runtime::drop` for the local sides.
        unsafe { Arc::decrement_strong_count(shared) };
    }
    drop(waiter);
    // SAFETY: released once; the header is not read again (it may even be
    // freed already: `meta` is a copy).
    unsafe { meta.free_named() };
    if let Some(p) = stage_panic {
        context::report_unobserved_panic_payload(p);
    }
}

/// Wakes a task from any thread.
fn schedule(ptr: NonNull<Header>) {
    // SAFETY: callers hold a count (waker or local) on the live header.
    let header = unsafe { ptr.as_ref() };
    let local = context::with_core_of(header.shared, |core| {
        if header.state.transition_to_scheduled() == ScheduleAction::Push {
            core.push_ready(clone_local(ptr));
        }
    });
    if local.is_none() {
        // Another thread, or this thread outside the loop: hand a waker
        // count to the loop's remote queue.
        header.wakers.increment();
        let remote = RemoteRef(ptr);
        // SAFETY: `shared` is alive while any count exists (see `release`
        // and `Shared::local_task_released`), and we hold one.
        unsafe { &*header.shared }.push_remote(remote);
    }
}

/// A waker count sent to the loop through its remote queue.
pub(crate) struct RemoteRef(NonNull<Header>);

// SAFETY: a `RemoteRef` owns a waker count (atomic) and touches only the
// atomic count, the immutable `shared`/`vtable` fields, and - once the count
// says it is the last - the memory it then frees. Local fields are used only
// by `schedule_on_loop`, which runs on the loop thread.
unsafe impl Send for RemoteRef {}

impl RemoteRef {
    /// On the loop thread: turn the remote wake into a local schedule.
    pub(crate) fn schedule_on_loop(self, push: impl FnOnce(TaskRef)) {
        // SAFETY: we own a waker count: the header is live.
        let header = unsafe { self.0.as_ref() };
        if header.state.transition_to_scheduled() == ScheduleAction::Push {
            push(clone_local(self.0));
        }
    }
}

impl Drop for RemoteRef {
    fn drop(&mut self) {
        // SAFETY: we own one waker count on the live header.
        unsafe { drop_waker(self.0.as_ptr() as *const ()) };
    }
}

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

fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
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
unsafe fn drop_waker(data: *const ()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_stays_small() {
        // The per-task memory budget (DESIGN.md): keep the header compact.
        assert_eq!(std::mem::size_of::<Result<u64, TaskError>>(), 16);
        assert_eq!(std::mem::size_of::<WakeHandle>(), 16);
        assert!(
            std::mem::size_of::<Header>() <= 64,
            "{}",
            std::mem::size_of::<Header>()
        );
    }
}
