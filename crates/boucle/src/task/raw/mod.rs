//! Task memory: one allocation per task holding the header, the future and
//! then its output. With the task slab (`task/slab.rs`), the only place
//! where `unsafe` code lives; the protocol it follows is written in
//! `task/mod.rs`. `cell.rs` holds the typed part (stage, vtable, poll),
//! `sched.rs` the part that depends on the scheduler (`task/schedule.rs`),
//! `vtables.rs` the waker vtable, `meta.rs` the spawn location and name.
//! Task memory never names the runtime: it reaches its loop only through
//! its `Schedule`.

#![allow(unsafe_code)]

mod cell;
mod meta;
mod sched;
#[cfg(all(test, not(loom)))]
mod tests;
mod vtables;

use cell::Vtable;
pub(crate) use cell::{allocate, layout_of};
use meta::Meta;

use vtables::drop_waker;
pub(crate) use vtables::waker_task;

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Waker};

use super::refcount::{WakerCount, MAX_REFS};
use super::slab::{SlabShared, TaskSlab};
use super::state::{CancelAction, Exit, RunAction, ScheduleAction, State};
use super::waker::WakeHandle;
use super::TaskId;

/// The part of a task that does not depend on its future's type.
///
/// Fields other than `wakers` are touched only on the loop thread, except that
/// the thread dropping the last waker reads `state.holds_sched()`, `sched`
/// and `vtable` after an acquire fence that pairs with the loop's release.
///
/// `repr(C)` with the state word first: the task slab tells blocks in use
/// from free ones by their first `u32` (`slab.rs`), and a slab task's state
/// is never zero (it holds `IN_SLAB`).
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    /// Loop-local references: the `Task` handle, the owner count of an
    /// unfinished task, run queue entries, loop-local `WakeHandle`s.
    refs: Cell<u32>,
    /// `Waker` references (any thread), plus one for the whole local side
    /// while `refs > 0`.
    wakers: WakerCount,
    /// Index in the loop's registry of unfinished tasks; [`SLAB_OWNED`]
    /// for an unfinished task found by scanning the slab instead;
    /// `u32::MAX` once finished (or taken out at shutdown).
    pub(crate) registry_slot: Cell<u32>,
    pub(crate) id: TaskId,
    vtable: &'static Vtable,
    /// The scheduler (`task/schedule.rs`), type-erased: the vtable's
    /// functions know its type. It lives in an `Arc`.
    sched: *const (),
    /// Who awaits the `Task` handle.
    join_waiter: Cell<Option<WakeHandle>>,
    /// Where the task was spawned, and its name if it has one.
    meta: Cell<Meta>,
}

const _: () = assert!(std::mem::offset_of!(Header, state) == 0);
const _: () = assert!(std::mem::size_of::<State>() == 4);

/// `Header::registry_slot` of an unfinished task of the slab: the loop keeps
/// its owner count without a registry entry, and finds it with
/// [`slab_tasks`] (8 bytes less per task).
pub(crate) const SLAB_OWNED: u32 = u32::MAX - 1;

/// What one turn of a task did.
pub(crate) enum PollOutcome {
    Pending,
    /// Completed; carries a panic payload that nobody can observe (the
    /// handle is gone), for the loop's exception handler.
    Complete {
        outcome: Exit,
        unobserved_panic: Option<Box<dyn Any + Send>>,
    },
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

    /// Gives up the reference without its count: the count now belongs to
    /// the pointer (`WakeHandle` keeps it in one tagged word).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }

    /// Takes back a reference made by [`into_raw`](TaskRef::into_raw).
    ///
    /// # Safety
    /// `ptr` came from `into_raw` and its count has not been taken back
    /// yet (for a borrowed view, wrap the result in `ManuallyDrop`).
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef {
            ptr,
            _not_send: PhantomData,
        }
    }

    /// Hands the owner count of a new slab task to the slab (see
    /// [`SLAB_OWNED`]); the loop takes it back with
    /// [`take_slab_owner`](TaskRef::take_slab_owner) or finds the task with
    /// [`slab_owned`](TaskRef::slab_owned).
    pub(crate) fn give_to_slab(self) {
        let header = self.header();
        debug_assert!(header.state.in_slab() && !header.state.is_complete());
        header.registry_slot.set(SLAB_OWNED);
        std::mem::forget(self);
    }

    /// Takes back the owner count the slab holds for this task, if it does.
    pub(crate) fn take_slab_owner(&self) -> Option<TaskRef> {
        let slot = &self.header().registry_slot;
        if slot.get() != SLAB_OWNED {
            return None;
        }
        slot.set(u32::MAX);
        // SAFETY: `SLAB_OWNED` says a count was forgotten by `give_to_slab`
        // and not taken back yet (the slot changes only here and there).
        Some(unsafe { TaskRef::from_raw(self.ptr) })
    }

    /// The unfinished task whose owner count the slab holds in `block`, if
    /// any, as a new local reference.
    ///
    /// # Safety
    /// `block` was returned by `TaskSlab::used_blocks` of the running
    /// loop's slab, and no task memory of the loop was freed or reused
    /// since (the caller has not run task code in between).
    unsafe fn slab_owned(block: NonNull<u8>) -> Option<TaskRef> {
        let ptr = block.cast::<Header>();
        // SAFETY: a used block holds a task header: a live task's, or that
        // of a finished task freed on another thread and not reclaimed yet,
        // whose non-atomic fields nobody writes any more (the other thread
        // only reads `state`, `sched` and `vtable`). Either way reading the
        // header on the loop thread is sound.
        let header = unsafe { ptr.as_ref() };
        // `SLAB_OWNED` holds until the task finishes: the owner count keeps
        // it alive, so a local count may be added.
        (header.registry_slot.get() == SLAB_OWNED).then(|| clone_local(ptr))
    }

    /// Whether `waker` is this task's own: a task awaiting itself.
    pub(crate) fn is_woken_by(&self, waker: &Waker) -> bool {
        waker_task(waker) == Some(self.ptr)
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

    /// The output of a complete task that has not been taken yet.
    ///
    /// # Safety
    /// `T` is the output type of the future this task was allocated with,
    /// and the caller keeps the output from being taken or dropped while
    /// the reference lives (it borrows the task's only handle).
    pub(crate) unsafe fn peek_output<T>(&self) -> Option<&Result<T, crate::task::TaskError>> {
        let header = self.header();
        if !header.state.is_complete() {
            return None;
        }
        // SAFETY: live (we hold a count), complete, loop thread (a
        // `TaskRef` never leaves it).
        let p = unsafe { (header.vtable.peek_output)(self.ptr) };
        // SAFETY: non-null points to the stage's `Result<T, TaskError>` (the
        // caller guarantees `T`), which stays put while the caller borrows.
        unsafe { p.cast::<Result<T, crate::task::TaskError>>().as_ref() }
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
        if let Some(waiter) = header.join_waiter.take() {
            sched::drop_cold(waiter);
        }
        if header.state.is_complete() {
            // SAFETY: live, complete (no turn borrows the stage), loop thread.
            let unread = unsafe { (header.vtable.drop_stage)(self.ptr) };
            // A panic the user looked at (`Task::exception`) was observed.
            unread.filter(|_| !header.state.is_retrieved())
        } else {
            None
        }
    }

    /// Wakes this task from the loop thread, reusing this reference as the
    /// run queue entry when the task needs queueing.
    pub(crate) fn wake_local(self) {
        let wake = self.header().vtable.sched.wake_local;
        // SAFETY: the vtable's scheduler functions were built for this
        // task's scheduler.
        unsafe { wake(self) };
    }

    /// A local reference from a waker, when the waker is a boucle task
    /// waker of the loop running on this thread.
    pub(crate) fn from_waker(waker: &Waker) -> Option<TaskRef> {
        let ptr = waker_task(waker)?;
        // SAFETY: a boucle task waker owns a count (or is the borrowed waker
        // of a running turn), so the header is live.
        let header = unsafe { ptr.as_ref() };
        // SAFETY: the scheduler is alive while a count exists.
        if !unsafe { (header.vtable.sched.is_local)(header.sched) } {
            return None;
        }
        if header.state.is_complete() {
            // Possibly released: never resurrect a local count.
            return None;
        }
        Some(clone_local(ptr))
    }
}

/// The unfinished tasks whose owner counts `slab` holds (see
/// [`SLAB_OWNED`]), each as a new local reference, in address order. Runs
/// on the loop thread that owns `slab` (a `TaskSlab` never leaves it).
pub(crate) fn slab_tasks(slab: &TaskSlab, shared: &SlabShared) -> Vec<TaskRef> {
    slab.used_blocks(shared)
        .into_iter()
        // SAFETY: the blocks were just listed by this loop's slab, and
        // nothing below frees or reuses task memory (`clone_local` only
        // adds a count).
        .filter_map(|block| unsafe { TaskRef::slab_owned(block) })
        .collect()
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
    #[inline]
    fn drop(&mut self) {
        let header = self.header();
        let n = header.refs.get() - 1;
        header.refs.set(n);
        if n == 0 {
            let release = header.vtable.release;
            // SAFETY: that was the last local count; the function was built
            // for this task's scheduler.
            unsafe { release(self.ptr) };
        }
    }
}

/// Wakes a task from any thread.
fn schedule(ptr: NonNull<Header>) {
    // SAFETY: callers hold a count (waker or local) on the live header.
    let header = unsafe { ptr.as_ref() };
    // SAFETY: built for this task's scheduler; the caller holds a count.
    unsafe { (header.vtable.sched.schedule)(ptr) };
}

/// A waker count sent to the loop through its remote queue.
pub(crate) struct RemoteRef(NonNull<Header>);

// SAFETY: a `RemoteRef` owns a waker count (atomic) and touches only the
// atomic count, the immutable `sched`/`vtable` fields, and - once the count
// says it is the last - the memory it then frees. Local fields are used only
// by `schedule_on_loop`, which runs on the loop thread.
unsafe impl Send for RemoteRef {}

impl RemoteRef {
    /// On the loop thread: turn the remote wake into a local schedule.
    pub(crate) fn schedule_on_loop(self, push: impl FnOnce(TaskRef)) {
        // SAFETY: we own a waker count: the header is live.
        let header = unsafe { self.0.as_ref() };
        // Clear before scheduling: a foreign wake after this point queues
        // a new entry; one before it is seen by the coming poll.
        header.wakers.clear_notified();
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
