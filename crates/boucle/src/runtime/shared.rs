//! `Shared`: the half of a loop that other threads may touch. It holds the
//! remote run queue (wakes from other threads, or from this thread while the
//! loop is not running) and the `mio::Waker` that interrupts the loop's park.

#![allow(unsafe_code)] // the `Schedule` contract (task memory's seam)

use std::alloc::Layout;
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::context;
use super::core::Core;
use super::remote::{Job, Pushed, RemoteQueue, Taken};
use crate::task::raw::{RemoteRef, TaskRef};
use crate::task::schedule::{LocalQueue, Schedule};
use crate::task::slab::{class_of, SlabShared};

pub(crate) struct Shared {
    remote: RemoteQueue<RemoteRef>,
    /// The chunks of the loop's task slab: they live as long as any task
    /// memory of the loop.
    pub(crate) slab: SlabShared,
    waker: mio::Waker,
    /// Local task sides alive, plus one for the runtime. Written only by the
    /// loop thread (plain load + store, no read-modify-write): the `Runtime`
    /// and every local task reference are `!Send`.
    live_local: AtomicUsize,
    /// Blocking-pool jobs not finished yet (virtual time waits for them).
    blocking_inflight: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(waker: mio::Waker) -> Arc<Shared> {
        Arc::new(Shared {
            remote: RemoteQueue::new(),
            slab: SlabShared::new(),
            waker,
            live_local: AtomicUsize::new(1),
            blocking_inflight: AtomicUsize::new(0),
        })
    }

    /// A wake from another thread (or from outside the running loop).
    pub(crate) fn push_remote(&self, task: RemoteRef) {
        match self.remote.push(task) {
            Pushed::Queued { notify: true } => self.interrupt(),
            Pushed::Queued { notify: false } => {}
            Pushed::Closed(task) => drop(task),
        }
    }

    /// Queues `job` for the loop thread (any thread). Gives it back if the
    /// loop is shut down.
    pub(crate) fn push_job(&self, job: Job) -> Result<(), Job> {
        match self.remote.push_job(job) {
            Pushed::Queued { notify } => {
                if notify {
                    self.interrupt();
                }
                Ok(())
            }
            Pushed::Closed(job) => Err(job),
        }
    }

    /// Wakes the `block_on` future from another thread.
    pub(crate) fn push_remote_main(&self) {
        if self.remote.push_main() {
            self.interrupt();
        }
    }

    fn interrupt(&self) {
        // An error means the eventfd is gone or saturated: either way the
        // loop is awake or shut down.
        let _ = self.waker.wake();
    }

    /// On the loop thread: takes every remote wake.
    pub(crate) fn take_remote(&self) -> Option<Taken<RemoteRef>> {
        self.remote.take()
    }

    /// Shutdown: refuse further remote wakes and jobs; return the queued
    /// ones (jobs are dropped unrun, which tells their senders).
    pub(crate) fn close(&self) -> (Vec<RemoteRef>, Vec<Job>) {
        self.remote.close()
    }

    pub(crate) fn local_task_created(&self) {
        let n = self.live_local.load(Ordering::Relaxed);
        self.live_local.store(n + 1, Ordering::Relaxed);
    }

    /// A local task side (or the runtime) is gone. Returns true when that was
    /// the last one, so the strong count pinned by `Runtime::drop` must go.
    pub(crate) fn local_task_released(&self) -> bool {
        let n = self.live_local.load(Ordering::Relaxed) - 1;
        self.live_local.store(n, Ordering::Relaxed);
        n == 0
    }

    pub(crate) fn blocking_started(&self) {
        self.blocking_inflight.fetch_add(1, Ordering::AcqRel);
    }

    /// A blocking job finished: wake the loop so virtual time can move on.
    pub(crate) fn blocking_finished(&self) {
        self.blocking_inflight.fetch_sub(1, Ordering::AcqRel);
        self.remote.raise();
        self.interrupt();
    }

    pub(crate) fn blocking_inflight(&self) -> usize {
        self.blocking_inflight.load(Ordering::Acquire)
    }
}

/// The loop's scheduler, as task memory sees it (`task/schedule.rs`): wakes
/// on the loop thread go to the running `Core`'s run queue, others to the
/// remote queue; task memory comes from the loop's slab and returns to it.
// SAFETY: `with_local` runs `f` only when this thread runs the loop that owns
// this `Shared` (`with_core_of` checks it); `dealloc` frees slab blocks on
// the loop thread through the running core, or queues them for it, and
// other memory with the layout it was allocated with; `Shared` lives in the
// runtime's `Arc`, which task memory keeps alive as `task/raw/sched.rs` says.
unsafe impl Schedule for Shared {
    type Local = Core;

    fn with_local<R>(&self, f: impl FnOnce(&Core) -> R) -> Option<R> {
        context::with_core_of(self, |core| f(core))
    }

    fn push_remote(&self, task: RemoteRef) {
        Shared::push_remote(self, task);
    }

    fn local_task_released(&self) -> bool {
        Shared::local_task_released(self)
    }

    unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout, in_slab: bool) {
        match (in_slab, class_of(layout)) {
            (true, Some(class)) => {
                let local = context::with_core_of(self, |core| match &core.task_slab {
                    // SAFETY: the block came from this loop's slab and is unused.
                    Some(slab) => unsafe { slab.borrow_mut().free(class, ptr) },
                    None => unreachable!("a slab block from a loop without a slab"),
                });
                if local.is_none() {
                    self.slab.free_remote(class, ptr);
                }
            }
            // SAFETY: allocated by `alloc::alloc` with this layout (the
            // caller's contract).
            _ => unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) },
        }
    }

    fn report_unobserved(&self, payload: Box<dyn Any + Send>) {
        context::report_unobserved_panic_payload(payload);
    }
}

impl LocalQueue for Core {
    fn push(&self, task: TaskRef) {
        self.push_ready(task);
    }
}
