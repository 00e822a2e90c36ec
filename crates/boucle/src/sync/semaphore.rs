//! `Semaphore` and `BoundedSemaphore`: fair counting semaphores for tasks
//! (asyncio's names).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::BoundedSemaphoreError;
use super::wait_list::{Polled, WaitKey, WaitList};

/// A counting semaphore (asyncio's `Semaphore`): at most `n` holders at a
/// time.
///
/// [`acquire`](Semaphore::acquire) waits for a permit and gives a
/// [`SemaphorePermit`] that gives it back when dropped (`async with sem:`
/// is `let _permit = sem.acquire().await;`). Fair: waiters get permits in
/// arrival order, a release hands its permit straight to the first waiter,
/// and a newcomer never jumps the queue. [`release`](Semaphore::release)
/// adds a permit by hand (it may raise the count above its initial value,
/// as in asyncio; [`BoundedSemaphore`] refuses that). Cloning gives another
/// handle to the same semaphore.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle::sync::Semaphore;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let took = rt.block_on(async {
///     let sem = Semaphore::new(2);
///     let start = boucle::now();
///     let jobs = (0..6).map(|_| {
///         let sem = sem.clone();
///         async move {
///             let _permit = sem.acquire().await;
///             boucle::sleep(Duration::from_secs(1)).await;
///         }
///     });
///     boucle::gather(jobs).await;
///     boucle::now() - start
/// });
/// assert_eq!(took, Duration::from_secs(3)); // 6 jobs, 2 at a time
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<Inner>,
}

/// A semaphore whose count may not rise above its initial value (asyncio's
/// `BoundedSemaphore`): a [`release`](BoundedSemaphore::release) too many
/// is an error value. Otherwise the same as [`Semaphore`].
///
/// # Examples
///
/// ```
/// use boucle::sync::{BoundedSemaphore, BoundedSemaphoreError};
///
/// let sem = BoundedSemaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// permit.forget(); // keep the permit taken...
/// assert_eq!(sem.release(), Ok(())); // ...and give it back by hand
/// assert_eq!(sem.release(), Err(BoundedSemaphoreError));
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    inner: Rc<Inner>,
}

struct Inner {
    state: RefCell<State>,
    bound: Option<usize>,
}

struct State {
    /// Free permits. Saturates at `usize::MAX`, a count no program can
    /// exhaust: a release there is not lost in any meaningful sense, where
    /// wrapping to 0 would lose every permit.
    ///
    /// Invariant: if a permit is free while a task waits, some waiter has
    /// been handed a permit and not run yet; when it runs (or is dropped)
    /// it hands the free permits on (`hand_out`). Newcomers queue behind
    /// every queued waiter, handed a permit or not (asyncio 3.13's
    /// `locked()` rule).
    permits: usize,
    waiters: WaitList<()>,
}

impl State {
    fn statistics(&self) -> SemaphoreStatistics {
        SemaphoreStatistics {
            available_permits: self.permits,
            waiters: self.waiters.waiting(),
        }
    }

    /// Whether a newcomer may take a free permit now.
    fn can_take(&self) -> bool {
        self.permits > 0 && self.waiters.waiting() == 0 && self.waiters.notified() == 0
    }
}

/// A snapshot of a semaphore (trio's `statistics()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SemaphoreStatistics {
    /// Permits free now.
    pub available_permits: usize,
    /// Tasks waiting in `acquire`.
    pub waiters: usize,
}

/// `0 permits free, 2 waiting` (as the task tree shows it).
impl fmt::Display for SemaphoreStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.available_permits == 1 { "" } else { "s" };
        write!(
            f,
            "{} permit{s} free, {} waiting",
            self.available_permits, self.waiters
        )
    }
}

impl Inner {
    fn new(permits: usize, bound: Option<usize>) -> Rc<Inner> {
        Rc::new(Inner {
            state: RefCell::new(State {
                permits,
                waiters: WaitList::new(),
            }),
            bound,
        })
    }

    fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let mut st = self.state.borrow_mut();
        if !st.can_take() {
            return None;
        }
        st.permits -= 1;
        Some(SemaphorePermit { sem: self })
    }

    /// Counts a permit as free and hands free permits to waiters. Fails for
    /// a bounded semaphore already at its bound.
    fn release(&self) -> Result<(), BoundedSemaphoreError> {
        {
            let mut st = self.state.borrow_mut();
            if self.bound.is_some_and(|b| st.permits >= b) {
                return Err(BoundedSemaphoreError);
            }
            st.permits = st.permits.saturating_add(1);
        }
        self.hand_out();
        Ok(())
    }

    /// Hands free permits to waiting tasks, first come first served (each
    /// wake after the borrow ends).
    fn hand_out(&self) {
        loop {
            let next = {
                let mut st = self.state.borrow_mut();
                if st.permits == 0 {
                    return;
                }
                match st.waiters.notify(()) {
                    Ok(w) => {
                        st.permits -= 1;
                        w
                    }
                    Err(()) => return,
                }
            };
            next.wake();
        }
    }

    fn statistics(&self) -> SemaphoreStatistics {
        self.state.borrow().statistics()
    }
}

macro_rules! common_methods {
    ($ty:ident) => {
        impl $ty {
            /// Waits for a permit, in arrival order.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let sem = boucle::sync::", stringify!($ty), "::new(1);")]
            /// boucle::run(async {
            ///     let permit = sem.acquire().await;
            ///     assert!(sem.locked());
            ///     drop(permit);
            ///     assert_eq!(sem.available_permits(), 1);
            /// });
            /// ```
            ///
            /// # Cancel safety
            /// Cancel-safe: a dropped `acquire` leaves the queue at once; if
            /// a permit had already been handed to it, the permit goes to
            /// the next waiter (or back to the count).
            pub fn acquire(&self) -> SemaphoreAcquire<'_> {
                SemaphoreAcquire {
                    sem: &self.inner,
                    key: None,
                }
            }

            /// Takes a permit if one is free, without waiting.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let sem = boucle::sync::", stringify!($ty), "::new(1);")]
            /// let permit = sem.try_acquire().unwrap();
            /// assert!(sem.try_acquire().is_none());
            /// drop(permit);
            /// assert!(sem.try_acquire().is_some());
            /// ```
            pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
                self.inner.try_acquire()
            }

            /// Permits free now (asyncio's private `_value`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let sem = boucle::sync::", stringify!($ty), "::new(3);")]
            /// let _p = sem.try_acquire();
            /// assert_eq!(sem.available_permits(), 2);
            /// ```
            pub fn available_permits(&self) -> usize {
                self.inner.state.borrow().permits
            }

            /// True if `acquire` would wait: no permit is free, or tasks
            /// are queued (asyncio's `locked()`: a newcomer never overtakes
            /// a waiter, even one handed a permit that has not run yet).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let sem = boucle::sync::", stringify!($ty), "::new(1);")]
            /// let _p = sem.try_acquire();
            /// assert!(sem.locked());
            /// ```
            pub fn locked(&self) -> bool {
                !self.inner.state.borrow().can_take()
            }

            /// Free permits and waiting tasks.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let sem = boucle::sync::", stringify!($ty), "::new(2);")]
            /// let s = sem.statistics();
            /// assert_eq!((s.available_permits, s.waiters), (2, 0));
            /// ```
            pub fn statistics(&self) -> SemaphoreStatistics {
                self.inner.statistics()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let s = self.statistics();
                f.debug_struct(stringify!($ty))
                    .field("available_permits", &s.available_permits)
                    .field("waiters", &s.waiters)
                    .finish()
            }
        }
    };
}

common_methods!(Semaphore);
common_methods!(BoundedSemaphore);

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = boucle::sync::Semaphore::new(5);
    /// assert_eq!(sem.available_permits(), 5);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            inner: Inner::new(permits, None),
        }
    }

    /// Adds a permit by hand (asyncio's `release()`), handing it to the
    /// first waiter if there is one. The count may grow above its initial
    /// value; it saturates at `usize::MAX` (in every build), a count no
    /// program can use up, so a semaphore made with `usize::MAX` permits
    /// is unlimited.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = boucle::sync::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    ///
    /// let unlimited = boucle::sync::Semaphore::new(usize::MAX);
    /// unlimited.release(); // saturates, never wraps to 0
    /// assert_eq!(unlimited.available_permits(), usize::MAX);
    /// ```
    pub fn release(&self) {
        let unbounded = self.inner.release();
        debug_assert!(unbounded.is_ok());
    }
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its bound.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = boucle::sync::BoundedSemaphore::new(2);
    /// assert!(sem.release().is_err()); // already at its bound
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Inner::new(permits, Some(permits)),
        }
    }

    /// Gives a permit back by hand, handing it to the first waiter if there
    /// is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = boucle::sync::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.release(), Ok(()));
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    ///
    /// # Errors
    /// [`BoundedSemaphoreError`] if every permit is already free (the count
    /// would exceed its initial value); nothing changes then.
    pub fn release(&self) -> Result<(), BoundedSemaphoreError> {
        self.inner.release()
    }
}

/// The future of `acquire` on a [`Semaphore`] or [`BoundedSemaphore`].
///
/// # Cancel safety
/// Dropping it leaves the queue in O(1); a permit already handed to it
/// goes to the next waiter.
#[must_use = "futures do nothing unless you .await them"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Inner,
    key: Option<WaitKey>,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        let sem = this.sem;
        match this.key {
            None => {
                if crate::coop::poll_proceed(cx).is_pending() {
                    return Poll::Pending;
                }
                let mut st = sem.state.borrow_mut();
                if st.can_take() {
                    st.permits -= 1;
                    return Poll::Ready(SemaphorePermit { sem });
                }
                this.key = Some(st.waiters.push(cx));
                crate::trace::hooks::waits_sync("Semaphore.acquire", || st.statistics());
                Poll::Pending
            }
            Some(key) => {
                let polled = sem.state.borrow_mut().waiters.poll(key, cx);
                match polled {
                    Polled::Notified(()) => {
                        this.key = None;
                        // Permits freed while this waiter had not run yet
                        // go to the tasks queued behind it.
                        sem.hand_out();
                        Poll::Ready(SemaphorePermit { sem })
                    }
                    Polled::Waiting(_stale) => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for SemaphoreAcquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let removed = self.sem.state.borrow_mut().waiters.remove(key);
            if removed.notified.is_some() {
                // It held a permit already: pass it on, with any permits
                // freed while it was queued.
                let _ = self.sem.release();
            }
            self.sem.hand_out();
        }
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// A permit of a semaphore; dropping it gives the permit back (to the first
/// waiter, if any).
///
/// Dropping never fails: if manual `release` calls already brought a
/// [`BoundedSemaphore`] back to its bound, the dropped permit is not
/// counted.
///
/// # Examples
///
/// ```
/// let sem = boucle::sync::Semaphore::new(2);
/// let a = sem.try_acquire().unwrap();
/// assert_eq!(sem.available_permits(), 1);
/// drop(a);
/// assert_eq!(sem.available_permits(), 2);
/// ```
#[must_use = "the permit is given back as soon as it is dropped; bind it with `let _permit = ...`"]
pub struct SemaphorePermit<'a> {
    sem: &'a Inner,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken without holding a guard: it is not given
    /// back on drop. Give it back later with `release()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = boucle::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        let _ = self.sem.release();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}
