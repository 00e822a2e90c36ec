//! `Sleep`: a future that completes at a loop-time deadline.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::clock::{duration_ticks, far_future, NEVER};
use super::driver::TimeDriver;
use super::wheel::TimerKey;
use crate::runtime::context;

#[derive(Debug, Clone, Copy)]
enum When {
    /// Created outside a loop: the delay starts at the first poll.
    After(Duration),
    At(Instant),
    Ticks(u64),
}

/// Waits until a deadline on the loop clock. Made by [`sleep`] and
/// [`sleep_until`].
///
/// As `asyncio.sleep`, a sleep always suspends at least once, even when its
/// deadline has already passed (`sleep(Duration::ZERO)` is a yield). It
/// never completes before its deadline, and sleeps with equal deadlines
/// complete in the order they were first polled.
///
/// # Cancel safety
/// Dropping a `Sleep` disarms its timer in O(1).
///
/// # Panics
/// Polled outside a running loop, or on a different loop than its first
/// poll.
#[must_use = "futures do nothing unless you .await them"]
pub struct Sleep {
    when: When,
    /// The time engine of the loop this sleep belongs to.
    time: Option<Rc<TimeDriver>>,
    key: Option<TimerKey>,
    polled: bool,
}

/// Sleeps for `duration` of loop time (asyncio's `sleep`).
///
/// The delay counts from the loop time of the iteration in which the sleep
/// is created (loop time is sampled once per iteration; see
/// [`TimeBase`](crate::time::TimeBase)), so sleeps created together with the
/// same duration share one deadline. Sleeps with equal deadlines complete in
/// the order they were first polled (their timers armed), which is their
/// creation order when each is awaited as it is made.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     boucle::sleep(Duration::from_millis(1500)).await;
///     assert_eq!(boucle::now() - start, Duration::from_millis(1500));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let (when, time) = match context::with_current(|core| core.time().clone()) {
        Some(time) => {
            let t = time.now().saturating_add(duration_ticks(duration));
            (When::Ticks(t), Some(time))
        }
        None => (When::After(duration), None),
    };
    Sleep {
        when,
        time,
        key: None,
        polled: false,
    }
}

/// Sleeps until `deadline` (loop time; see [`now`](crate::now)).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        when: When::At(deadline),
        time: None,
        key: None,
        polled: false,
    }
}

impl Sleep {
    /// The time engine of this sleep's loop, checked against the running one.
    fn time(&mut self) -> &Rc<TimeDriver> {
        match &self.time {
            Some(mine) => match context::with_current(|core| Rc::ptr_eq(core.time(), mine)) {
                Some(true) => {}
                Some(false) => panic!(
                    "boucle: a Sleep was polled on a different loop than the one it belongs to"
                ),
                None => panic!("{}", context::NO_LOOP),
            },
            None => match context::with_current(|core| core.time().clone()) {
                Some(current) => self.time = Some(current),
                None => panic!("{}", context::NO_LOOP),
            },
        }
        self.time.as_ref().expect("set above")
    }

    fn deadline_ticks(&mut self) -> u64 {
        let when = self.when;
        let time = self.time();
        let t = match when {
            When::Ticks(t) => t,
            When::After(d) => time.now().saturating_add(duration_ticks(d)),
            When::At(i) => time.ticks(i),
        };
        self.when = When::Ticks(t);
        t
    }

    /// The deadline as an `Instant` of loop time. A deadline `Instant`
    /// cannot represent (`sleep(Duration::MAX)`) is reported as a far
    /// instant, more than a century ahead; such a sleep never fires.
    pub fn deadline(&self) -> Instant {
        match (self.when, &self.time) {
            (When::At(i), _) => i,
            (When::Ticks(t), Some(time)) => time.instant(t),
            (When::After(d), _) => {
                let now = crate::now();
                now.checked_add(d).unwrap_or_else(|| far_future(now))
            }
            (When::Ticks(_), None) => unreachable!("ticks are resolved with a loop"),
        }
    }

    /// True once the deadline has passed on the loop clock.
    pub fn is_elapsed(&self) -> bool {
        match (self.when, &self.time) {
            (When::Ticks(t), Some(time)) => time.now() >= t,
            _ => crate::now() >= self.deadline(),
        }
    }

    /// Moves the deadline (asyncio's `Timeout.reschedule`). The sleep can
    /// be awaited again afterwards.
    pub fn reset(&mut self, deadline: Instant) {
        self.disarm();
        self.when = When::At(deadline);
        self.polled = false;
    }

    fn disarm(&mut self) {
        if let (Some(key), Some(time)) = (self.key.take(), &self.time) {
            time.disarm(key);
        }
    }

    /// Ready once the deadline has passed; otherwise arms (or refreshes)
    /// the timer. No yield-once rule: used by `Timeout`.
    pub(crate) fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline_ticks();
        if deadline == NEVER {
            // Beyond the clock's range: never fires, and arms no timer a
            // virtual clock could jump to.
            self.disarm();
            return Poll::Pending;
        }
        let time = self.time.as_ref().expect("resolved by deadline_ticks");
        if time.now() >= deadline {
            self.disarm();
            return Poll::Ready(());
        }
        time.arm(&mut self.key, deadline, cx);
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let first = !this.polled;
        this.polled = true;
        match this.poll_deadline(cx) {
            Poll::Ready(()) if first => {
                // asyncio suspends even for a past deadline: yield once.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            other => other,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("when", &self.when)
            .field("armed", &self.key.is_some())
            .finish()
    }
}
