//! The remote run queue: wakes handed to the loop from other threads (or
//! from its own thread while it is not running), and jobs for the loop
//! thread (`Handle::spawn`, `call_soon_threadsafe`).
//!
//! Protocol: a pusher appends under the lock; the push that makes the queue
//! non-empty raises `pending` and tells its caller to interrupt the loop's
//! park. The loop clears `pending` before it takes the queue, so an item is
//! never left behind with `pending` down (no lost wake-up). After `close`,
//! pushes are refused and hand their item back to be dropped.

use crate::loom_shim::{lock, AtomicBool, Mutex, Ordering};

pub(crate) struct RemoteQueue<T> {
    inner: Mutex<Inner<T>>,
    /// Raised when the queue became non-empty; the loop can skip the lock
    /// while it is down.
    pending: AtomicBool,
}

/// A closure to run on the loop thread.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

struct Inner<T> {
    items: Vec<T>,
    jobs: Vec<Job>,
    main: bool,
    closed: bool,
}

/// What a push asks of its caller.
#[must_use]
pub(crate) enum Pushed<T> {
    /// Queued; `notify`: interrupt the loop's park.
    Queued { notify: bool },
    /// The loop is shut down: drop the item.
    Closed(T),
}

/// What the loop takes.
pub(crate) struct Taken<T> {
    pub(crate) items: Vec<T>,
    pub(crate) jobs: Vec<Job>,
    pub(crate) main: bool,
}

impl<T> RemoteQueue<T> {
    pub(crate) fn new() -> RemoteQueue<T> {
        RemoteQueue {
            inner: Mutex::new(Inner {
                items: Vec::new(),
                jobs: Vec::new(),
                main: false,
                closed: false,
            }),
            pending: AtomicBool::new(false),
        }
    }

    pub(crate) fn push(&self, item: T) -> Pushed<T> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Pushed::Closed(item);
        }
        let first = inner.is_empty();
        inner.items.push(item);
        if first {
            self.pending.store(true, Ordering::Release);
        }
        Pushed::Queued { notify: first }
    }

    /// Queues a job for the loop thread; gives it back if the loop is shut
    /// down.
    pub(crate) fn push_job(&self, job: Job) -> Pushed<Job> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Pushed::Closed(job);
        }
        let first = inner.is_empty();
        inner.jobs.push(job);
        if first {
            self.pending.store(true, Ordering::Release);
        }
        Pushed::Queued { notify: first }
    }

    /// Wakes the `block_on` future. True: interrupt the loop's park.
    #[must_use]
    pub(crate) fn push_main(&self) -> bool {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return false;
        }
        let first = inner.is_empty();
        inner.main = true;
        if first {
            self.pending.store(true, Ordering::Release);
        }
        first
    }

    /// Raises `pending` without an item (a blocking job finished).
    pub(crate) fn raise(&self) {
        let _inner = lock(&self.inner);
        self.pending.store(true, Ordering::Release);
    }

    /// On the loop thread: everything queued, if `pending` was raised.
    /// Every write of `pending` happens under the lock, so the lock orders
    /// them; the unlocked read is only a shortcut (an interrupted park
    /// synchronises through the OS before the next read).
    pub(crate) fn take(&self) -> Option<Taken<T>> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        let mut inner = lock(&self.inner);
        self.pending.store(false, Ordering::Relaxed);
        Some(Taken {
            items: std::mem::take(&mut inner.items),
            jobs: std::mem::take(&mut inner.jobs),
            main: std::mem::replace(&mut inner.main, false),
        })
    }

    /// Shutdown: refuse further pushes; returns what was queued (the jobs
    /// are to be dropped unrun).
    pub(crate) fn close(&self) -> (Vec<T>, Vec<Job>) {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        inner.main = false;
        (
            std::mem::take(&mut inner.items),
            std::mem::take(&mut inner.jobs),
        )
    }
}

impl<T> Inner<T> {
    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.jobs.is_empty() && !self.main
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Two threads push while the loop takes: after the pushers finish, one
    /// more `take` finds every item not yet taken (no lost wake-up), and
    /// each item is seen exactly once.
    #[test]
    fn pushes_racing_a_take_are_never_lost() {
        loom::model(|| {
            let q = Arc::new(RemoteQueue::new());
            let pushers: Vec<_> = (0..2u32)
                .map(|i| {
                    let q = q.clone();
                    loom::thread::spawn(move || match q.push(i) {
                        Pushed::Queued { .. } => {}
                        Pushed::Closed(_) => panic!("not closed"),
                    })
                })
                .collect();
            let mut seen: Vec<u32> = q.take().map(|t| t.items).unwrap_or_default();
            for p in pushers {
                p.join().unwrap();
            }
            if let Some(t) = q.take() {
                seen.extend(t.items);
            }

            seen.sort();
            assert_eq!(seen, [0, 1]);
        });
    }

    /// A push racing `close`: the item is either returned by `close` or
    /// refused back to the pusher, never both, never neither.
    #[test]
    fn push_racing_close_keeps_ownership_clear() {
        loom::model(|| {
            let q = Arc::new(RemoteQueue::new());
            let q2 = q.clone();
            let pusher = loom::thread::spawn(move || match q2.push(7u32) {
                Pushed::Queued { .. } => 0,
                Pushed::Closed(v) => v,
            });
            let (closed, _jobs) = q.close();
            let refused = pusher.join().unwrap();
            let total = closed.len() + usize::from(refused == 7);
            assert_eq!(total, 1);
        });
    }

    /// A job pushed from another thread while the loop takes and then
    /// closes: it is run (taken) or dropped unrun by `close`, exactly once,
    /// and a push after `close` is refused back.
    #[test]
    fn a_job_is_taken_or_closed_exactly_once() {
        use loom::sync::atomic::{AtomicUsize, Ordering as O};
        loom::model(|| {
            let q = Arc::new(RemoteQueue::<u32>::new());
            let seen = Arc::new(AtomicUsize::new(0));
            let (q2, s2) = (q.clone(), seen.clone());
            let pusher = loom::thread::spawn(move || {
                let job: Job = Box::new(move || {
                    s2.fetch_add(1, O::Relaxed);
                });
                match q2.push_job(job) {
                    Pushed::Queued { .. } => 0,
                    Pushed::Closed(_) => 1,
                }
            });
            let mut ran = 0;
            if let Some(t) = q.take() {
                for job in t.jobs {
                    job();
                    ran += 1;
                }
            }
            let (_, closed) = q.close();
            let refused = pusher.join().unwrap();
            let (_, late) = q.close();
            assert!(late.is_empty());
            assert_eq!(ran + closed.len() + refused, 1);
            assert_eq!(seen.load(O::Relaxed), ran);
        });
    }
}
