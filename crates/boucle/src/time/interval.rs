//! `Interval`: ticks at a fixed period, with a policy for missed ticks
//! (tokio's `time::interval`).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::clock::far_future;
use super::sleep::{sleep_until, Sleep};

/// `at + d`, or a far instant where `Instant` cannot represent it.
fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(|| far_future(at))
}

/// What an [`Interval`] does when ticks were missed (the loop was busy, or
/// the task did not call `tick` in time).
///
/// # Examples
///
/// ```
/// use boucle::time::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick` call, until caught up
    /// with the original schedule (the default, as in tokio).
    #[default]
    Burst,
    /// Fire one tick now, and count the next period from now: the schedule
    /// shifts by the delay.
    Delay,
    /// Fire one tick now, and go on at the next tick of the original
    /// schedule, skipping the ones missed.
    Skip,
}

/// Ticks every `period` of loop time; made by [`interval`] or
/// [`interval_at`]. The first tick completes at once (at the start given).
/// It is also a `futures_core::Stream` of tick instants.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     let mut every = boucle::time::interval(Duration::from_millis(250));
///     for n in 0..5 {
///         let at = every.tick().await;
///         assert_eq!(at - start, Duration::from_millis(250) * n);
///     }
/// });
/// ```
#[must_use = "an Interval does nothing until .tick().await"]
pub struct Interval {
    sleep: Sleep,
    next: Instant,
    period: Duration,
    missed: MissedTickBehavior,
}

/// An [`Interval`] whose first tick is now.
///
/// # Panics
/// If `period` is zero (it would tick forever without waiting).
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(crate::now(), period)
}

/// An [`Interval`] whose first tick is at `start` (loop time).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now() + Duration::from_secs(5);
///     let mut ticks = boucle::time::interval_at(start, Duration::from_secs(1));
///     assert_eq!(ticks.tick().await, start);
///     assert_eq!(ticks.tick().await, start + Duration::from_secs(1));
/// });
/// ```
///
/// # Panics
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "boucle::time::interval: the period must be greater than zero"
    );
    Interval {
        sleep: sleep_until(start),
        next: start,
        period,
        missed: MissedTickBehavior::default(),
    }
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    /// Cancel-safe: a tick is used up only when `tick` returns it.
    ///
    /// # Panics
    /// Polled outside a running loop.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// The poll behind [`tick`](Interval::tick), for hand-written futures.
    ///
    /// # Panics
    /// Polled outside a running loop.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if self.sleep.poll_deadline(cx).is_pending() {
            return Poll::Pending;
        }
        let tick = self.next;
        let now = crate::now();
        let on_time = later(tick, self.period);
        self.next = if now < on_time {
            on_time
        } else {
            match self.missed {
                MissedTickBehavior::Burst => on_time,
                MissedTickBehavior::Delay => later(now, self.period),
                MissedTickBehavior::Skip => {
                    // The first tick of the original schedule after now.
                    let behind = (now - tick).as_nanos() / self.period.as_nanos();
                    let steps = u32::try_from(behind + 1).unwrap_or(u32::MAX);
                    later(tick, self.period.saturating_mul(steps))
                }
            }
        };
        self.sleep.reset(self.next);
        Poll::Ready(tick)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut ticks = boucle::time::interval(Duration::from_secs(10));
    ///     ticks.tick().await;
    ///     boucle::sleep(Duration::from_secs(3)).await;
    ///     ticks.reset();
    ///     let start = boucle::now();
    ///     ticks.tick().await;
    ///     assert_eq!(boucle::now() - start, Duration::from_secs(10));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.next = later(crate::now(), self.period);
        self.sleep.reset(self.next);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks (default [`MissedTickBehavior::Burst`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use boucle::time::MissedTickBehavior;
    ///
    /// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = boucle::now();
    ///     let mut ticks = boucle::time::interval(Duration::from_secs(1));
    ///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ///     ticks.tick().await; // 0 s
    ///     boucle::sleep(Duration::from_millis(3500)).await; // misses 1, 2 and 3 s
    ///     assert_eq!(ticks.tick().await - start, Duration::from_secs(1)); // late, at once
    ///     assert_eq!(ticks.tick().await - start, Duration::from_secs(4)); // 2 and 3 skipped
    /// });
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("period", &self.period)
            .field("next", &self.next)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}
