//! `Event`: a flag tasks can wait for (asyncio's `Event`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::wait_list::{wake_all, Polled, WaitKey, WaitList};
use crate::task::waker::WakeHandle;

/// A flag that tasks wait for (asyncio's `Event`): [`set`](Event::set)
/// wakes every waiter, [`clear`](Event::clear) lowers it again. A waiter
/// woken by `set` returns even if the flag is cleared before it runs.
/// Cloning gives another handle to the same event.
///
/// # Examples
///
/// ```
/// use boucle::sync::Event;
///
/// boucle::run(async {
///     let ready = Event::new();
///     let r = ready.clone();
///     let waiter = boucle::spawn(async move {
///         r.wait().await;
///         "went"
///     });
///     boucle::yield_now().await;
///     assert_eq!(ready.statistics().waiters, 1);
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "went");
/// });
/// ```
#[derive(Clone, Default)]
pub struct Event {
    inner: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    set: bool,
    waiters: WaitList<()>,
    /// Reused for `set`'s wake-ups: no allocation in steady state.
    batch: Vec<WakeHandle>,
}

impl State {
    fn statistics(&self) -> EventStatistics {
        EventStatistics {
            is_set: self.set,
            waiters: self.waiters.waiting(),
        }
    }
}

/// A snapshot of an [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventStatistics {
    /// Whether the flag is set.
    pub is_set: bool,
    /// Tasks waiting in `wait`.
    pub waiters: usize,
}

/// `not set, 2 waiting` (as the task tree shows it).
impl fmt::Display for EventStatistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = if self.is_set { "set" } else { "not set" };
        write!(f, "{flag}, {} waiting", self.waiters)
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!boucle::sync::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiter. Waiting afterwards returns at
    /// once until [`clear`](Event::clear).
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let ev = boucle::sync::Event::new();
    ///     ev.set();
    ///     ev.wait().await; // returns at once
    ///     assert!(ev.is_set());
    /// });
    /// ```
    pub fn set(&self) {
        let mut batch = {
            let mut st = self.inner.borrow_mut();
            if st.set {
                return;
            }
            st.set = true;
            let mut batch = std::mem::take(&mut st.batch);
            st.waiters.notify_all(|| (), &mut batch);
            batch
        };
        wake_all(&mut batch);
        let mut st = self.inner.borrow_mut();
        if st.batch.capacity() == 0 {
            st.batch = batch;
        }
    }

    /// Lowers the flag: later waits will wait for the next `set`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = boucle::sync::Event::new();
    /// ev.set();
    /// ev.clear();
    /// assert!(!ev.is_set());
    /// ```
    pub fn clear(&self) {
        self.inner.borrow_mut().set = false;
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let ev = boucle::sync::Event::new();
    /// ev.set();
    /// assert!(ev.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.borrow().set
    }

    /// Waits until the flag is set (at once if it is).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let ev = boucle::sync::Event::new();
    ///     let e = ev.clone();
    ///     let setter = boucle::spawn(async move {
    ///         boucle::sleep(Duration::from_secs(1)).await;
    ///         e.set();
    ///     });
    ///     let start = boucle::now();
    ///     ev.wait().await;
    ///     assert_eq!(boucle::now() - start, Duration::from_secs(1));
    ///     setter.await.unwrap();
    /// });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `wait` leaves the queue in O(1); it takes
    /// nothing from the other waiters (`set` wakes all of them).
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
        }
    }

    /// Whether the flag is set, and how many tasks wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = boucle::sync::Event::new().statistics();
    /// assert_eq!((s.is_set, s.waiters), (false, 0));
    /// ```
    pub fn statistics(&self) -> EventStatistics {
        self.inner.borrow().statistics()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.statistics();
        f.debug_struct("Event")
            .field("is_set", &s.is_set)
            .field("waiters", &s.waiters)
            .finish()
    }
}

/// The future of [`Event::wait`].
///
/// # Cancel safety
/// Dropping it leaves the queue in O(1).
#[must_use = "futures do nothing unless you .await them"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<WaitKey>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let inner = &this.event.inner;
        match this.key {
            None => {
                if crate::coop::poll_proceed(cx).is_pending() {
                    return Poll::Pending;
                }
                let mut st = inner.borrow_mut();
                if st.set {
                    return Poll::Ready(());
                }
                this.key = Some(st.waiters.push(cx));
                crate::trace::hooks::waits_sync("Event.wait", || st.statistics());
                Poll::Pending
            }
            Some(key) => {
                let polled = inner.borrow_mut().waiters.poll(key, cx);
                match polled {
                    Polled::Notified(()) => {
                        this.key = None;
                        Poll::Ready(())
                    }
                    Polled::Waiting(_stale) => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // `set` woke everyone: nothing to pass on.
            let removed = self.event.inner.borrow_mut().waiters.remove(key);
            drop(removed);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("queued", &self.key.is_some())
            .finish()
    }
}
