//! `BoucleTimer`: hyper's timers on boucle's wheel.
//!
//! hyper wants a `Sleep` that is `Send + Sync`; boucle's [`boucle::Sleep`]
//! lives in its loop's wheel and is neither. So a [`BoucleSleep`] is a
//! `Send + Sync` handle (an `Arc` of atomics) to a small boucle task that
//! owns the real `boucle::Sleep`. The task is spawned at the first poll, on
//! the loop that polls, and ends when the deadline passes or the handle is
//! dropped (the drop wakes it, so a cancelled timer leaves the wheel at
//! once). Resetting to a later deadline is one atomic store: the task
//! notices when its old deadline comes and sleeps on. hyper resets its
//! header-read timer once per request, so a keep-alive connection costs
//! one timer task per timeout period, not one per request.
//!
//! Loop time is used throughout ([`boucle::now`]), so a virtual clock
//! drives hyper's timeouts too.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// hyper's [`Timer`](hyper::rt::Timer) on boucle's timers and loop clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use boucle_http::rt::BoucleTimer;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     BoucleTimer.sleep(Duration::from_secs(30)).await;
///     assert_eq!(boucle::now() - start, Duration::from_secs(30));
///     assert_eq!(BoucleTimer.now(), boucle::now());
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BoucleTimer;

impl hyper::rt::Timer for BoucleTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = boucle::now()
            .checked_add(duration)
            .unwrap_or_else(far_future);
        Box::pin(BoucleSleep::until(deadline))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(BoucleSleep::until(deadline))
    }

    fn now(&self) -> Instant {
        boucle::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<BoucleSleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// About thirty years from now: the deadline of a sleep that overflowed.
fn far_future() -> Instant {
    boucle::now() + Duration::from_secs(86_400 * 365 * 30)
}

/// What the handle and its timer task share.
#[derive(Debug)]
struct Shared {
    /// Deadlines are nanoseconds after `base` (no atomic `Instant`).
    base: Instant,
    deadline: AtomicU64,
    fired: AtomicBool,
    cancelled: AtomicBool,
    /// A timer task is alive for this sleep.
    running: AtomicBool,
    /// The task waiting on the sleep (hyper's connection task).
    waiter: AtomicWaker,
    /// The timer task, woken by a drop or an earlier deadline.
    task: AtomicWaker,
}

impl Shared {
    fn offset(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.base).as_nanos();
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }

    fn deadline(&self) -> Instant {
        let nanos = self.deadline.load(Ordering::Acquire);
        self.base
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or_else(far_future)
    }
}

/// The [`hyper::rt::Sleep`] of [`BoucleTimer`]: `Send + Sync`, backed by a
/// boucle task that owns the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use boucle_http::rt::BoucleSleep;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     let mut sleep = BoucleSleep::until(start + Duration::from_secs(1));
///     sleep.reset(start + Duration::from_secs(3));
///     sleep.await;
///     assert_eq!(boucle::now() - start, Duration::from_secs(3));
/// });
/// ```
///
/// # Panics
/// Polled outside a running boucle loop.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct BoucleSleep {
    shared: Arc<Shared>,
    polled: bool,
}

impl BoucleSleep {
    /// A sleep until `deadline` (loop time).
    ///
    /// # Examples
    /// See [`BoucleSleep`].
    pub fn until(deadline: Instant) -> BoucleSleep {
        let base = deadline.min(boucle::now());
        let shared = Shared {
            base,
            deadline: AtomicU64::new(0),
            fired: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            running: AtomicBool::new(false),
            waiter: AtomicWaker::new(),
            task: AtomicWaker::new(),
        };
        shared
            .deadline
            .store(shared.offset(deadline), Ordering::Release);
        BoucleSleep {
            shared: Arc::new(shared),
            polled: false,
        }
    }

    /// The deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// boucle::run(async {
    ///     let at = boucle::now() + std::time::Duration::from_secs(5);
    ///     assert_eq!(boucle_http::rt::BoucleSleep::until(at).deadline(), at);
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.shared.deadline()
    }

    /// Moves the deadline (earlier or later); a sleep that had fired waits
    /// again.
    ///
    /// # Examples
    /// See [`BoucleSleep`].
    pub fn reset(&mut self, deadline: Instant) {
        let shared = &self.shared;
        let old = shared.deadline.load(Ordering::Acquire);
        let new = shared.offset(deadline);
        shared.deadline.store(new, Ordering::Release);
        shared.fired.store(false, Ordering::Release);
        if shared.running.load(Ordering::Acquire) {
            if new < old {
                shared.task.wake();
            }
        } else if self.polled {
            // Someone waits on it: arm it now rather than at the next poll.
            self.spawn_task();
        }
    }

    fn spawn_task(&self) {
        self.shared.running.store(true, Ordering::Release);
        let deadline = self.shared.deadline();
        drop(boucle::spawn(TimerTask {
            shared: Arc::clone(&self.shared),
            sleep: boucle::sleep_until(deadline),
        }));
    }
}

impl Future for BoucleSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        this.shared.waiter.register(cx.waker());
        this.polled = true;
        if !this.shared.running.load(Ordering::Acquire) {
            this.spawn_task();
        }
        if this.shared.fired.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl hyper::rt::Sleep for BoucleSleep {}

impl Drop for BoucleSleep {
    fn drop(&mut self) {
        self.shared.cancelled.store(true, Ordering::Release);
        self.shared.task.wake();
    }
}

/// The loop-local task that owns the real timer of a [`BoucleSleep`].
struct TimerTask {
    shared: Arc<Shared>,
    sleep: boucle::Sleep,
}

impl Future for TimerTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let shared = &this.shared;
        loop {
            shared.task.register(cx.waker());
            if shared.cancelled.load(Ordering::Acquire) {
                shared.running.store(false, Ordering::Release);
                return Poll::Ready(());
            }
            let deadline = shared.deadline();
            if this.sleep.deadline() != deadline {
                this.sleep.reset(deadline);
            }
            match Pin::new(&mut this.sleep).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if shared.deadline() == deadline => {
                    shared.running.store(false, Ordering::Release);
                    shared.fired.store(true, Ordering::Release);
                    shared.waiter.wake();
                    return Poll::Ready(());
                }
                // Moved while we slept: sleep on to the new deadline.
                Poll::Ready(()) => {}
            }
        }
    }
}
