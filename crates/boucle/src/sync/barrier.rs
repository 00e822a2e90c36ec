//! `Barrier`: wait until `parties` tasks have arrived (asyncio's `Barrier`,
//! Python 3.11).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::BrokenBarrierError;
use super::wait_list::{wake_all, Polled, WaitKey, WaitList};
use crate::task::waker::WakeHandle;

/// A barrier for `parties` tasks (asyncio's `Barrier`): each
/// [`wait`](Barrier::wait) blocks until `parties` tasks are waiting, then
/// all of them go on, and the barrier is ready for the next round.
///
/// `wait` returns the task's arrival index in its round, `0..parties`
/// (the last to arrive gets `parties - 1`). [`abort`](Barrier::abort) breaks
/// the barrier: waiters and later callers get [`BrokenBarrierError`] until
/// [`reset`](Barrier::reset), which empties it (its current waiters get
/// the error too). A waiter whose future is dropped leaves the round, as
/// a cancelled waiter does in asyncio. Cloning gives another handle.
///
/// # Examples
///
/// ```
/// use boucle::sync::Barrier;
///
/// boucle::run(async {
///     let barrier = Barrier::new(3);
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             boucle::spawn(async move { b.wait().await.unwrap() })
///         })
///         .collect();
///     let mut indices = Vec::new();
///     for t in tasks {
///         indices.push(t.await.unwrap());
///     }
///     assert_eq!(indices, [0, 1, 2]);
///     assert_eq!(barrier.n_waiting(), 0);
/// });
/// ```
#[derive(Clone)]
pub struct Barrier {
    inner: Rc<RefCell<State>>,
}

struct State {
    parties: usize,
    broken: bool,
    /// The tasks of the current round, in arrival order; the payload is
    /// each one's result.
    waiters: WaitList<Result<usize, BrokenBarrierError>>,
    batch: Vec<WakeHandle>,
}

impl State {
    fn statistics(&self) -> BarrierStatistics {
        BarrierStatistics {
            parties: self.parties,
            n_waiting: self.waiters.waiting(),
            broken: self.broken,
        }
    }
}

/// A snapshot of a [`Barrier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BarrierStatistics {
    /// Tasks needed to pass.
    pub parties: usize,
    /// Tasks waiting in the current round.
    pub n_waiting: usize,
    /// Whether the barrier is broken.
    pub broken: bool,
}

/// `2 of 3 parties waiting`, and `, broken` (as the task tree shows it).
impl fmt::Display for BarrierStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} parties waiting", self.n_waiting, self.parties)?;
        if self.broken {
            f.write_str(", broken")?;
        }
        Ok(())
    }
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = boucle::sync::Barrier::new(3);
    /// assert_eq!(b.parties(), 3);
    /// ```
    ///
    /// # Panics
    /// If `parties` is 0 (asyncio raises `ValueError`).
    #[track_caller]
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "boucle: a Barrier needs at least one party");
        Barrier {
            inner: Rc::new(RefCell::new(State {
                parties,
                broken: false,
                waiters: WaitList::new(),
                batch: Vec::new(),
            })),
        }
    }

    /// Waits until `parties` tasks wait, then returns this task's arrival
    /// index (`0..parties`).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let b = boucle::sync::Barrier::new(2);
    ///     let b2 = b.clone();
    ///     let other = boucle::spawn(async move { b2.wait().await });
    ///     assert_eq!(b.wait().await, Ok(0)); // arrived first
    ///     assert_eq!(other.await.unwrap(), Ok(1));
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Dropped while waiting, it leaves the round in O(1) (the round then
    /// needs one more arrival). Dropped after its round passed, it takes
    /// nothing from the others.
    ///
    /// # Errors
    /// [`BrokenBarrierError`] if the barrier is broken when called, or is
    /// aborted or reset while waiting.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
        }
    }

    /// Breaks the barrier: every waiter, and every later `wait` until
    /// [`reset`](Barrier::reset), gets [`BrokenBarrierError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{Barrier, BrokenBarrierError};
    /// boucle::run(async {
    ///     let barrier = Barrier::new(2);
    ///     barrier.abort();
    ///     assert!(barrier.broken());
    ///     assert_eq!(barrier.wait().await, Err(BrokenBarrierError));
    ///     barrier.reset();
    ///     assert!(!barrier.broken());
    /// });
    /// ```
    pub fn abort(&self) {
        self.release_all(true);
    }

    /// Returns the barrier to its empty, unbroken state. Tasks waiting now
    /// get [`BrokenBarrierError`]; tasks that wait afterwards form a new
    /// round.
    ///
    /// One difference from asyncio: tasks of a round that already passed
    /// but have not resumed yet keep their arrival index here, where
    /// asyncio (resetting while it drains that round) makes them raise
    /// `BrokenBarrierError`. Their round did pass; a reset is about the
    /// round being filled.
    ///
    /// # Examples
    ///
    /// ```
    /// use boucle::sync::{Barrier, BrokenBarrierError};
    /// boucle::run(async {
    ///     let b = Barrier::new(2);
    ///     let b2 = b.clone();
    ///     let waiter = boucle::spawn(async move { b2.wait().await });
    ///     boucle::yield_now().await;
    ///     b.reset();
    ///     assert_eq!(waiter.await.unwrap(), Err(BrokenBarrierError));
    ///     assert_eq!(b.n_waiting(), 0);
    /// });
    /// ```
    pub fn reset(&self) {
        self.release_all(false);
    }

    fn release_all(&self, broken: bool) {
        let mut batch = {
            let mut st = self.inner.borrow_mut();
            st.broken = broken;
            let mut batch = std::mem::take(&mut st.batch);
            st.waiters
                .notify_all(|| Err(BrokenBarrierError), &mut batch);
            batch
        };
        self.finish(&mut batch);
    }

    fn finish(&self, batch: &mut Vec<WakeHandle>) {
        wake_all(batch);
        let mut st = self.inner.borrow_mut();
        if st.batch.capacity() == 0 {
            st.batch = std::mem::take(batch);
        }
    }

    /// Tasks needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(boucle::sync::Barrier::new(5).parties(), 5);
    /// ```
    pub fn parties(&self) -> usize {
        self.inner.borrow().parties
    }

    /// Tasks waiting in the current round.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let b = boucle::sync::Barrier::new(3);
    ///     let b2 = b.clone();
    ///     let waiter = boucle::spawn(async move { b2.wait().await });
    ///     boucle::yield_now().await;
    ///     assert_eq!(b.n_waiting(), 1);
    ///     b.abort();
    ///     assert!(waiter.await.unwrap().is_err());
    /// });
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.inner.borrow().waiters.waiting()
    }

    /// Whether the barrier is broken (aborted and not reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = boucle::sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.inner.borrow().broken
    }

    /// Parties, waiting tasks and brokenness.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = boucle::sync::Barrier::new(4).statistics();
    /// assert_eq!((s.parties, s.n_waiting, s.broken), (4, 0, false));
    /// ```
    pub fn statistics(&self) -> BarrierStatistics {
        self.inner.borrow().statistics()
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("statistics", &self.statistics())
            .finish()
    }
}

/// The future of [`Barrier::wait`].
///
/// # Cancel safety
/// See [`Barrier::wait`].
#[must_use = "futures do nothing unless you .await them"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<WaitKey>,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = &this.barrier.inner;
        if let Some(key) = this.key {
            let polled = inner.borrow_mut().waiters.poll(key, cx);
            return match polled {
                Polled::Notified(result) => {
                    this.key = None;
                    Poll::Ready(result)
                }
                Polled::Waiting(_stale) => Poll::Pending,
            };
        }
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut batch = {
            let mut st = inner.borrow_mut();
            if st.broken {
                return Poll::Ready(Err(BrokenBarrierError));
            }
            if st.waiters.waiting() + 1 < st.parties {
                this.key = Some(st.waiters.push(cx));
                crate::trace::hooks::waits_sync("Barrier.wait", || st.statistics());
                return Poll::Pending;
            }
            // The last arrival: everyone passes, indices in arrival order.
            let mut batch = std::mem::take(&mut st.batch);
            let mut index = 0;
            st.waiters.notify_all(
                || {
                    index += 1;
                    Ok(index - 1)
                },
                &mut batch,
            );
            batch
        };
        let parties = this.barrier.parties();
        this.barrier.finish(&mut batch);
        Poll::Ready(Ok(parties - 1))
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Notifications go to a whole round at once: nothing to pass on.
            let removed = self.barrier.inner.borrow_mut().waiters.remove(key);
            drop(removed);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("queued", &self.key.is_some())
            .finish()
    }
}
