//! `Lock`: a fair mutual-exclusion lock for tasks (asyncio's `Lock`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::wait_list::{Polled, WaitKey, WaitList};

/// A mutual-exclusion lock for the tasks of one loop (asyncio's `Lock`).
///
/// [`acquire`](Lock::acquire) waits for the lock and gives a [`LockGuard`];
/// the lock is released when the guard is dropped (`async with lock:` is
/// `let _guard = lock.acquire().await;`). The lock is **fair**: waiters get
/// it in the order they asked, a release hands it directly to the first
/// waiter, and a task arriving later never jumps the queue.
///
/// The lock protects no data itself (as in asyncio): keep the data in a
/// `RefCell` next to it, or use the lock to order effects. Cloning a `Lock`
/// gives another handle to the same lock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::sync::Lock;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let log = rt.block_on(async {
///     let lock = Lock::new();
///     let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///     let tasks: Vec<_> = (0..3)
///         .map(|i| {
///             let (lock, log) = (lock.clone(), log.clone());
///             boucle::spawn(async move {
///                 let _guard = lock.acquire().await;
///                 log.borrow_mut().push(format!("{i} in"));
///                 boucle::sleep(Duration::from_secs(1)).await;
///                 log.borrow_mut().push(format!("{i} out"));
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     log.take()
/// });
/// assert_eq!(log, ["0 in", "0 out", "1 in", "1 out", "2 in", "2 out"]);
/// ```
#[derive(Clone, Default)]
pub struct Lock {
    inner: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    locked: bool,
    /// Invariant: nobody waits while the lock is free.
    waiters: WaitList<()>,
}

impl State {
    fn statistics(&self) -> LockStatistics {
        LockStatistics {
            locked: self.locked,
            waiters: self.waiters.waiting(),
        }
    }
}

/// A snapshot of a [`Lock`] (trio's `statistics()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockStatistics {
    /// Whether a guard (or a waiter it was handed to) holds the lock.
    pub locked: bool,
    /// Tasks waiting in `acquire`.
    pub waiters: usize,
}

/// `locked, 2 waiting` (as the task tree shows it).
impl fmt::Display for LockStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = if self.locked { "locked" } else { "unlocked" };
        write!(f, "{held}, {} waiting", self.waiters)
    }
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = boucle::sync::Lock::new();
    /// assert!(!lock.locked());
    /// ```
    pub fn new() -> Lock {
        Lock::default()
    }

    /// Waits for the lock, in arrival order, and returns a guard that
    /// releases it when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let lock = boucle::sync::Lock::new();
    ///     let guard = lock.acquire().await;
    ///     assert!(lock.locked());
    ///     drop(guard);
    ///     assert!(!lock.locked());
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `acquire` leaves the queue at once; if the
    /// lock had already been handed to it, it passes the lock to the next
    /// waiter (or releases it).
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            lock: self,
            key: None,
        }
    }

    /// Takes the lock if it is free, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = boucle::sync::Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(lock.try_acquire().is_none());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        let mut st = self.inner.borrow_mut();
        if st.locked {
            return None;
        }
        st.locked = true;
        Some(LockGuard { lock: self })
    }

    /// Whether the lock is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = boucle::sync::Lock::new();
    /// let guard = lock.try_acquire();
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.borrow().locked
    }

    /// Whether the lock is held, and how many tasks wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = boucle::sync::Lock::new();
    /// let _g = lock.try_acquire();
    /// let s = lock.statistics();
    /// assert!(s.locked);
    /// assert_eq!(s.waiters, 0);
    /// ```
    pub fn statistics(&self) -> LockStatistics {
        self.inner.borrow().statistics()
    }

    /// Whether `self` and `other` are handles to the same lock.
    pub(crate) fn same_lock(&self, other: &Lock) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// Hands the lock to the first waiter, or unlocks it.
    fn release(&self) {
        let next = {
            let mut st = self.inner.borrow_mut();
            let next = st.waiters.notify(()).ok();
            st.locked = next.is_some();
            next
        };
        if let Some(w) = next {
            w.wake();
        }
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.statistics();
        f.debug_struct("Lock")
            .field("locked", &s.locked)
            .field("waiters", &s.waiters)
            .finish()
    }
}

/// The future of [`Lock::acquire`].
///
/// # Cancel safety
/// Dropping it leaves the queue in O(1) and never swallows the lock: if it
/// was handed the lock before being dropped, the next waiter gets it.
#[must_use = "futures do nothing unless you .await them"]
pub struct Acquire<'a> {
    lock: &'a Lock,
    key: Option<WaitKey>,
}

impl<'a> Future for Acquire<'a> {
    type Output = LockGuard<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let this = self.get_mut();
        let lock = this.lock;
        match this.key {
            None => {
                if crate::coop::poll_proceed(cx).is_pending() {
                    return Poll::Pending;
                }
                let mut st = lock.inner.borrow_mut();
                if !st.locked {
                    st.locked = true;
                    return Poll::Ready(LockGuard { lock });
                }
                this.key = Some(st.waiters.push(cx));
                crate::trace::hooks::waits_sync("Lock.acquire", || st.statistics());
                Poll::Pending
            }
            Some(key) => {
                let polled = lock.inner.borrow_mut().waiters.poll(key, cx);
                match polled {
                    Polled::Notified(()) => {
                        this.key = None;
                        Poll::Ready(LockGuard { lock })
                    }
                    Polled::Waiting(_stale) => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let removed = self.lock.inner.borrow_mut().waiters.remove(key);
            if removed.notified.is_some() {
                // It owned the lock already: pass it on.
                self.lock.release();
            }
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock (to the next waiter).
///
/// # Examples
///
/// ```
/// boucle::run(async {
///     let lock = boucle::sync::Lock::new();
///     {
///         let _guard = lock.acquire().await; // async with lock:
///         assert!(lock.locked());
///     }
///     assert!(!lock.locked());
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped; bind it with `let _guard = ...`"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = boucle::sync::Lock::new();
    /// let guard = lock.try_acquire().unwrap();
    /// assert!(guard.lock().locked());
    /// ```
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.release();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}
