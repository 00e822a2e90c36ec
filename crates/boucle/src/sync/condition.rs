//! `Condition`: wait for a state change under a lock (asyncio's
//! `Condition`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::lock::{Acquire, Lock, LockGuard};
use super::wait_list::{wake_all, Polled, WaitKey, WaitList};
use crate::task::waker::WakeHandle;

/// A condition variable for tasks (asyncio's `Condition`): tasks holding
/// its lock [`wait`](Condition::wait) for a notification, which releases
/// the lock while they wait and takes it again before they go on.
///
/// Notified waiters resume in the order they started waiting. As in
/// asyncio, a notification says "look again", not "it is true": check your
/// predicate after waking, or use [`wait_for`](Condition::wait_for).
/// Cloning gives another handle to the same condition.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use boucle::sync::Condition;
///
/// boucle::run(async {
///     let cond = Condition::new();
///     let stock = Rc::new(Cell::new(0));
///     let (c, s) = (cond.clone(), stock.clone());
///     let consumer = boucle::spawn(async move {
///         let guard = c.acquire().await;
///         let _guard = c.wait_for(guard, || s.get() >= 2).await;
///         s.get()
///     });
///     for _ in 0..2 {
///         boucle::yield_now().await;
///         let _guard = cond.acquire().await;
///         stock.set(stock.get() + 1);
///         cond.notify(1);
///     }
///     assert_eq!(consumer.await.unwrap(), 2);
/// });
/// ```
#[derive(Clone)]
pub struct Condition {
    inner: Rc<Inner>,
}

struct Inner {
    lock: Lock,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    waiters: WaitList<()>,
    batch: Vec<WakeHandle>,
}

/// A snapshot of a [`Condition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionStatistics {
    /// Tasks waiting for a notification (not those re-taking the lock).
    pub waiters: usize,
    /// Whether the condition's lock is held.
    pub locked: bool,
    /// Tasks waiting for the lock (including notified waiters re-taking it).
    pub lock_waiters: usize,
}

/// `2 waiting, lock held, 1 waiting for the lock` (as the task tree shows it).
impl fmt::Display for ConditionStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lock = if self.locked { "held" } else { "free" };
        write!(
            f,
            "{} waiting, lock {lock}, {} waiting for the lock",
            self.waiters, self.lock_waiters
        )
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl Condition {
    /// A condition with a new lock of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = boucle::sync::Condition::new();
    /// assert!(!cond.locked());
    /// ```
    pub fn new() -> Condition {
        Condition::with_lock(Lock::new())
    }

    /// A condition on an existing lock (asyncio's `Condition(lock)`):
    /// guards of `lock` can be passed to [`wait`](Condition::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{Condition, Lock};
    /// let lock = Lock::new();
    /// let cond = Condition::with_lock(lock.clone());
    /// let _guard = cond.try_acquire().unwrap();
    /// assert!(lock.locked());
    /// ```
    pub fn with_lock(lock: Lock) -> Condition {
        Condition {
            inner: Rc::new(Inner {
                lock,
                state: RefCell::new(State::default()),
            }),
        }
    }

    /// The condition's lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = boucle::sync::Condition::new();
    /// let _guard = cond.lock().try_acquire().unwrap();
    /// assert!(cond.locked());
    /// ```
    pub fn lock(&self) -> &Lock {
        &self.inner.lock
    }

    /// Takes the condition's lock (`async with cond:`); see
    /// [`Lock::acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let cond = boucle::sync::Condition::new();
    ///     let _guard = cond.acquire().await; // async with cond:
    ///     assert!(cond.locked());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// As [`Lock::acquire`]: cancel-safe.
    pub fn acquire(&self) -> Acquire<'_> {
        self.inner.lock.acquire()
    }

    /// Takes the lock if it is free; see [`Lock::try_acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = boucle::sync::Condition::new();
    /// let guard = cond.try_acquire();
    /// assert!(guard.is_some() && cond.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.inner.lock.try_acquire()
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = boucle::sync::Condition::new();
    /// let _guard = cond.try_acquire();
    /// assert!(cond.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.lock.locked()
    }

    /// Releases the lock held by `guard`, waits for a notification, then
    /// takes the lock again and returns the new guard.
    ///
    /// The waiter joins the queue before the lock is released, so a
    /// notification sent by the next holder of the lock is never missed.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::Condition;
    /// boucle::run(async {
    ///     let cond = Condition::new();
    ///     let c = cond.clone();
    ///     let waiter = boucle::spawn(async move {
    ///         let guard = c.acquire().await;
    ///         let guard = c.wait(guard).await;
    ///         drop(guard);
    ///         "notified"
    ///     });
    ///     boucle::yield_now().await;
    ///     assert_eq!(cond.statistics().waiters, 1);
    ///     assert!(!cond.locked()); // released while waiting
    ///     cond.notify(1);
    ///     assert_eq!(waiter.await.unwrap(), "notified");
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Dropping the future before its first poll drops the guard (the lock
    /// is released). Dropped while waiting, it leaves the queue in O(1); if
    /// it had been notified, the notification passes to the next waiter.
    /// Dropped while re-taking the lock, it leaves the lock's queue (and
    /// passes the lock on if it was handed over) and passes its
    /// notification to the next waiter (asyncio's behaviour since
    /// gh-112202: a spurious wake-up rather than a lost one). Either way the caller no
    /// longer holds the lock, as asyncio's `wait` re-raises after
    /// re-acquiring.
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's (asyncio raises
    /// `RuntimeError`).
    #[track_caller]
    pub fn wait<'a>(&'a self, guard: LockGuard<'a>) -> ConditionWait<'a> {
        assert!(
            guard.lock().same_lock(&self.inner.lock),
            "boucle: Condition::wait was given a guard of another lock"
        );
        ConditionWait {
            cond: self,
            state: WaitState::Start(guard),
        }
    }

    /// Waits until `predicate()` is true, checking it first with the lock
    /// held and again after each notification; returns the guard, with
    /// the predicate true (asyncio's `wait_for`).
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::Condition;
    /// boucle::run(async {
    ///     let cond = Condition::new();
    ///     let guard = cond.acquire().await;
    ///     // Already true: returns at once.
    ///     let _guard = cond.wait_for(guard, || true).await;
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// As [`wait`](Condition::wait).
    ///
    /// # Panics
    /// As [`wait`](Condition::wait).
    #[track_caller]
    pub fn wait_for<'a, F>(&'a self, guard: LockGuard<'a>, predicate: F) -> WaitFor<'a, F>
    where
        F: FnMut() -> bool,
    {
        assert!(
            guard.lock().same_lock(&self.inner.lock),
            "boucle: Condition::wait_for was given a guard of another lock"
        );
        WaitFor {
            cond: self,
            predicate,
            guard: Some(guard),
            wait: None,
        }
    }

    /// Wakes up to `n` waiters, first come first served. Notifying with
    /// nobody waiting does nothing (it is not remembered). Unlike asyncio,
    /// the lock need not be held: one thread, no lost wake-up.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::Condition;
    /// boucle::run(async {
    ///     let cond = Condition::new();
    ///     let waiters: Vec<_> = (0..3)
    ///         .map(|i| {
    ///             let c = cond.clone();
    ///             boucle::spawn(async move {
    ///                 let g = c.acquire().await;
    ///                 drop(c.wait(g).await);
    ///                 i
    ///             })
    ///         })
    ///         .collect();
    ///     boucle::yield_now().await;
    ///     cond.notify(2); // the first two waiters
    ///     boucle::yield_now().await;
    ///     boucle::yield_now().await;
    ///     assert_eq!(cond.statistics().waiters, 1);
    ///     cond.notify(1);
    ///     for (i, w) in waiters.into_iter().enumerate() {
    ///         assert_eq!(w.await.unwrap(), i);
    ///     }
    /// });
    /// ```
    pub fn notify(&self, n: usize) {
        for _ in 0..n {
            let next = self.inner.state.borrow_mut().waiters.notify(());
            match next {
                Ok(w) => w.wake(),
                Err(()) => break,
            }
        }
    }

    /// Wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let cond = boucle::sync::Condition::new();
    ///     let c = cond.clone();
    ///     let waiter = boucle::spawn(async move {
    ///         let g = c.acquire().await;
    ///         drop(c.wait(g).await);
    ///     });
    ///     boucle::yield_now().await;
    ///     cond.notify_all();
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn notify_all(&self) {
        let mut batch = {
            let mut st = self.inner.state.borrow_mut();
            let mut batch = std::mem::take(&mut st.batch);
            st.waiters.notify_all(|| (), &mut batch);
            batch
        };
        wake_all(&mut batch);
        let mut st = self.inner.state.borrow_mut();
        if st.batch.capacity() == 0 {
            st.batch = batch;
        }
    }

    /// Waiting tasks, and the state of the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = boucle::sync::Condition::new();
    /// cond.notify(3); // nobody waits: nothing happens
    /// let s = cond.statistics();
    /// assert_eq!((s.waiters, s.locked, s.lock_waiters), (0, false, 0));
    /// ```
    pub fn statistics(&self) -> ConditionStatistics {
        let lock = self.inner.lock.statistics();
        ConditionStatistics {
            waiters: self.inner.state.borrow().waiters.waiting(),
            locked: lock.locked,
            lock_waiters: lock.waiters,
        }
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("statistics", &self.statistics())
            .finish()
    }
}

enum WaitState<'a> {
    Start(LockGuard<'a>),
    Waiting(WaitKey),
    Reacquire(Acquire<'a>),
    Done,
}

/// The future of [`Condition::wait`].
///
/// # Cancel safety
/// See [`Condition::wait`].
#[must_use = "futures do nothing unless you .await them"]
pub struct ConditionWait<'a> {
    cond: &'a Condition,
    state: WaitState<'a>,
}

impl<'a> Future for ConditionWait<'a> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let this = self.get_mut();
        let inner = &this.cond.inner;
        loop {
            match std::mem::replace(&mut this.state, WaitState::Done) {
                WaitState::Start(guard) => {
                    let key = inner.state.borrow_mut().waiters.push(cx);
                    crate::trace::hooks::waits_sync("Condition.wait", || this.cond.statistics());
                    this.state = WaitState::Waiting(key);
                    drop(guard);
                    return Poll::Pending;
                }
                WaitState::Waiting(key) => {
                    let polled = inner.state.borrow_mut().waiters.poll(key, cx);
                    match polled {
                        Polled::Notified(()) => {
                            this.state = WaitState::Reacquire(inner.lock.acquire());
                        }
                        Polled::Waiting(_stale) => {
                            this.state = WaitState::Waiting(key);
                            return Poll::Pending;
                        }
                    }
                }
                WaitState::Reacquire(mut acquire) => match Pin::new(&mut acquire).poll(cx) {
                    Poll::Ready(guard) => return Poll::Ready(guard),
                    Poll::Pending => {
                        this.state = WaitState::Reacquire(acquire);
                        return Poll::Pending;
                    }
                },
                WaitState::Done => panic!("boucle: ConditionWait polled after completion"),
            }
        }
    }
}

impl Drop for ConditionWait<'_> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, WaitState::Done) {
            WaitState::Waiting(key) => {
                let removed = self.cond.inner.state.borrow_mut().waiters.remove(key);
                if removed.notified.is_some() {
                    // Not ours to swallow: the next waiter gets it.
                    self.cond.notify(1);
                }
            }
            WaitState::Reacquire(acquire) => {
                // Notified, then dropped while re-taking the lock: the
                // notification was consumed by a waiter that will never act
                // on it, so pass it on (asyncio since gh-112202; at worst
                // a spurious wake-up, which the protocol allows). Leave the
                // lock's queue first, so the next waiter can take the lock.
                drop(acquire);
                self.cond.notify(1);
            }
            WaitState::Start(_) | WaitState::Done => {}
        }
    }
}

impl fmt::Debug for ConditionWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            WaitState::Start(_) => "start",
            WaitState::Waiting(_) => "waiting",
            WaitState::Reacquire(_) => "reacquiring",
            WaitState::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("state", &state)
            .finish()
    }
}

/// The future of [`Condition::wait_for`].
///
/// # Cancel safety
/// See [`Condition::wait`].
#[must_use = "futures do nothing unless you .await them"]
pub struct WaitFor<'a, F> {
    cond: &'a Condition,
    predicate: F,
    guard: Option<LockGuard<'a>>,
    wait: Option<ConditionWait<'a>>,
}

// The predicate is never pinned.
impl<F> Unpin for WaitFor<'_, F> {}

impl<'a, F: FnMut() -> bool> Future for WaitFor<'a, F> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let this = self.get_mut();
        loop {
            if let Some(wait) = &mut this.wait {
                let guard = std::task::ready!(Pin::new(wait).poll(cx));
                this.wait = None;
                this.guard = Some(guard);
            }
            let guard = this
                .guard
                .take()
                .expect("boucle: WaitFor polled after completion");
            if (this.predicate)() {
                return Poll::Ready(guard);
            }
            this.wait = Some(this.cond.wait(guard));
        }
    }
}

impl<F> fmt::Debug for WaitFor<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}
