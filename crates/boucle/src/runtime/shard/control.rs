//! The cross-thread controls of a sharded runtime: the stop request every
//! shard watches, the reply slot through which a shard's main future sends
//! its output to the thread that waits for it, and (loop-local) the count
//! of root futures a shard drains before it stops.
//!
//! Protocol of both cross-thread parts: the state changes under one lock
//! and wakers are called after it is released; a waiter checks the state
//! and registers under the same lock, so a change made between its check
//! and its registration is impossible (no lost wake-up). Modelled with
//! loom in `loom_tests.rs`.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::error::ShardError;
use crate::loom_shim::{lock, wait, AtomicBool, Condvar, Mutex, Ordering};

/// What a stop asks of the shards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop {
    /// How long (on each shard's loop clock) the root futures may take to
    /// finish before the rest is cancelled.
    pub(crate) grace: Duration,
    /// When (real time) blocking jobs stop being waited for.
    pub(crate) deadline: Instant,
}

/// The stop request: raised once, from any thread; every shard's idle
/// future and every `stopping()` future wait for it.
pub(crate) struct StopFlag {
    raised: AtomicBool,
    inner: Mutex<StopInner>,
}

struct StopInner {
    stop: Option<Stop>,
    waiters: Vec<Waker>,
}

impl StopFlag {
    pub(crate) fn new() -> StopFlag {
        StopFlag {
            raised: AtomicBool::new(false),
            inner: Mutex::new(StopInner {
                stop: None,
                waiters: Vec::new(),
            }),
        }
    }

    /// Raises the flag (the first stop wins). True if this call raised it.
    pub(crate) fn raise(&self, stop: Stop) -> bool {
        let waiters = {
            let mut inner = lock(&self.inner);
            if inner.stop.is_some() {
                return false;
            }
            inner.stop = Some(stop);
            self.raised.store(true, Ordering::Release);
            std::mem::take(&mut inner.waiters)
        };
        for w in waiters {
            w.wake();
        }
        true
    }

    /// The stop, if raised.
    pub(crate) fn get(&self) -> Option<Stop> {
        if !self.raised.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.inner).stop
    }

    /// Ready once raised; otherwise remembers `cx`'s waker.
    pub(crate) fn poll_raised(&self, cx: &Context<'_>) -> Poll<Stop> {
        if let Some(stop) = self.get() {
            return Poll::Ready(stop);
        }
        let mut inner = lock(&self.inner);
        if let Some(stop) = inner.stop {
            return Poll::Ready(stop);
        }
        if !inner.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            inner.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A shard's root futures (loop-local): how many are running, whether the
/// shard was killed by a panic or told to stop, and who waits for that.
///
/// The stop reaches a shard as one job on its remote queue (pushed after
/// the flag is raised), which wakes every waiter of this shard on the loop
/// thread at once. Woken one by one from the stopping thread instead, the
/// waiters could land in different iterations, and a virtual clock could
/// jump over the grace period in between. Being a job, the stop also comes
/// after every job queued before it (a `spawn_on` made just before the
/// shutdown runs, and is drained).
#[derive(Default)]
pub(crate) struct Roots {
    live: Cell<usize>,
    killed: Cell<bool>,
    stopping: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
    stop_waiters: RefCell<Vec<Waker>>,
}

impl Roots {
    /// The stop job: wake this shard's `stopping()` futures and its idle
    /// future.
    pub(crate) fn stop_here(&self) {
        self.stopping.set(true);
        let waiters = std::mem::take(&mut *self.stop_waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
        self.wake();
    }

    /// `ShardedHandle::stopping` on this shard.
    pub(crate) fn poll_stopping(&self, cx: &Context<'_>) -> Poll<()> {
        if self.stopping.get() {
            return Poll::Ready(());
        }
        let mut waiters = self.stop_waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn live(&self) -> usize {
        self.live.get()
    }

    pub(crate) fn is_killed(&self) -> bool {
        self.killed.get()
    }

    /// A main future panicked: the shard stops at once.
    pub(crate) fn kill(&self) {
        self.killed.set(true);
        self.wake();
    }

    fn wake(&self) {
        let w = self.waiter.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
    }

    fn register(&self, cx: &Context<'_>) {
        *self.waiter.borrow_mut() = Some(cx.waker().clone());
    }

    /// Ready when the shard was killed (true) or its stop job ran (false).
    pub(crate) async fn stopped_or_killed(&self) -> bool {
        poll_fn(|cx| {
            if self.killed.get() {
                return Poll::Ready(true);
            }
            if self.stopping.get() {
                return Poll::Ready(false);
            }
            self.register(cx);
            Poll::Pending
        })
        .await
    }

    /// Ready when no root future runs any more (or the shard was killed).
    pub(crate) async fn drained(&self) {
        poll_fn(|cx| {
            if self.live.get() == 0 || self.killed.get() {
                return Poll::Ready(());
            }
            self.register(cx);
            Poll::Pending
        })
        .await
    }
}

/// Counts one root future while it lives (made and dropped on the loop
/// thread: it lives inside the task's future).
pub(crate) struct RootGuard(std::rc::Rc<Roots>);

impl RootGuard {
    pub(crate) fn new(roots: &std::rc::Rc<Roots>) -> RootGuard {
        roots.live.set(roots.live.get() + 1);
        RootGuard(roots.clone())
    }
}

impl Drop for RootGuard {
    fn drop(&mut self) {
        let n = self.0.live.get() - 1;
        self.0.live.set(n);
        if n == 0 {
            self.0.wake();
        }
    }
}

/// Where a shard's main future sends its output; a waiting thread blocks
/// on it.
pub(crate) struct Reply<T> {
    slot: std::sync::Arc<Slot<T>>,
}

struct Slot<T> {
    value: Mutex<Option<Result<T, ShardError>>>,
    done: Condvar,
}

/// The sending side: `send` once; dropped unsent (the job was refused by a
/// stopped shard, or the future was cancelled when its shard stopped), it
/// sends `ShardError::Stopped`.
pub(crate) struct ReplySender<T> {
    slot: Option<std::sync::Arc<Slot<T>>>,
    shard: usize,
}

pub(crate) fn reply<T>(shard: usize) -> (ReplySender<T>, Reply<T>) {
    let slot = std::sync::Arc::new(Slot {
        value: Mutex::new(None),
        done: Condvar::new(),
    });
    (
        ReplySender {
            slot: Some(slot.clone()),
            shard,
        },
        Reply { slot },
    )
}

impl<T> ReplySender<T> {
    pub(crate) fn send(mut self, value: Result<T, ShardError>) {
        if let Some(slot) = self.slot.take() {
            *lock(&slot.value) = Some(value);
            slot.done.notify_all();
        }
    }
}

impl<T> Drop for ReplySender<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            *lock(&slot.value) = Some(Err(ShardError::stopped(self.shard)));
            slot.done.notify_all();
        }
    }
}

impl<T> Reply<T> {
    /// Blocks this thread until the value is sent (or its sender dropped).
    pub(crate) fn wait(self) -> Result<T, ShardError> {
        let mut value = lock(&self.slot.value);
        loop {
            if let Some(v) = value.take() {
                return v;
            }
            value = wait(&self.slot.done, value);
        }
    }
}
