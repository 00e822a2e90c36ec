//! `Shared`: the half of a loop that other threads may touch. It holds the
//! remote run queue (wakes from other threads, or from this thread while the
//! loop is not running) and the `mio::Waker` that interrupts the loop's park.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::task::raw::RemoteRef;

pub(crate) struct Shared {
    remote: Mutex<Remote>,
    /// Set when `remote` has entries, so the loop can skip the lock.
    remote_pending: AtomicBool,
    waker: mio::Waker,
    /// Local task sides alive, plus one for the runtime. Written only by the
    /// loop thread (plain load + store, no read-modify-write): the `Runtime`
    /// and every local task reference are `!Send`.
    live_local: AtomicUsize,
    /// Blocking-pool jobs not finished yet (virtual time waits for them).
    blocking_inflight: AtomicUsize,
}

#[derive(Default)]
struct Remote {
    tasks: Vec<RemoteRef>,
    main: bool,
    closed: bool,
}

/// What the loop takes from the remote queue.
pub(crate) struct RemoteWakes {
    pub(crate) tasks: Vec<RemoteRef>,
    pub(crate) main: bool,
}

impl Shared {
    pub(crate) fn new(waker: mio::Waker) -> Arc<Shared> {
        Arc::new(Shared {
            remote: Mutex::new(Remote::default()),
            remote_pending: AtomicBool::new(false),
            waker,
            live_local: AtomicUsize::new(1),
            blocking_inflight: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remote> {
        // A panic while holding this lock cannot leave `Remote` half-written
        // (only `Vec::push` and flag stores happen under it).
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A wake from another thread (or from outside the running loop).
    pub(crate) fn push_remote(&self, task: RemoteRef) {
        let mut remote = self.lock();
        if remote.closed {
            drop(remote);
            drop(task);
            return;
        }
        let first = remote.tasks.is_empty() && !remote.main;
        remote.tasks.push(task);
        drop(remote);
        if first {
            self.notify();
        }
    }

    /// Wakes the `block_on` future from another thread.
    pub(crate) fn push_remote_main(&self) {
        let mut remote = self.lock();
        if remote.closed {
            return;
        }
        let first = remote.tasks.is_empty() && !remote.main;
        remote.main = true;
        drop(remote);
        if first {
            self.notify();
        }
    }

    /// Interrupts the loop's park.
    pub(crate) fn notify(&self) {
        self.remote_pending.store(true, Ordering::Release);
        // An error here means the eventfd is gone or full: either way the
        // loop is awake or already shut down.
        let _ = self.waker.wake();
    }

    /// On the loop thread: takes every remote wake.
    pub(crate) fn take_remote(&self) -> Option<RemoteWakes> {
        if !self.remote_pending.swap(false, Ordering::AcqRel) {
            return None;
        }
        let mut remote = self.lock();
        let wakes = RemoteWakes {
            tasks: std::mem::take(&mut remote.tasks),
            main: std::mem::replace(&mut remote.main, false),
        };
        Some(wakes)
    }

    /// Shutdown: refuse further remote wakes and return the queued ones.
    pub(crate) fn close(&self) -> Vec<RemoteRef> {
        let mut remote = self.lock();
        remote.closed = true;
        remote.main = false;
        std::mem::take(&mut remote.tasks)
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

    pub(crate) fn blocking_finished(&self) {
        self.blocking_inflight.fetch_sub(1, Ordering::AcqRel);
        self.notify();
    }

    pub(crate) fn blocking_inflight(&self) -> usize {
        self.blocking_inflight.load(Ordering::Acquire)
    }
}
