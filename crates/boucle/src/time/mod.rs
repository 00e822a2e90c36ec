//! Loop time: [`sleep`], [`sleep_until`], [`timeout`], [`interval`], [`now`],
//! [`yield_now`].
//!
//! Loop time is cached once per loop iteration (as libuv and uvloop do): the
//! clock is read at the first use in each iteration, so every task of one
//! iteration sees the same [`now`], and sleeps begun in one iteration share
//! one time base. Timers fire in exact deadline order (ties
//! in creation order) and never early. With a virtual clock
//! (`Builder::virtual_time`) time jumps to the next timer whenever the loop
//! would otherwise wait.
//!
//! # What "never early" means
//!
//! A sleep of `d` begun in an iteration is due at that iteration's loop time
//! plus `d`, and it never completes before the loop clock reaches that
//! deadline. Measured from the call itself, with the default
//! [`TimeBase::Iteration`], it can end early by the time the iteration had
//! already spent when the sleep began: after a poll that blocks the loop for
//! 100 ms, a `sleep(100 ms)` in a later task of the same batch is already
//! due. Three ways out, each with its cost:
//!
//! * [`update_time`] moves the loop time to the present (libuv's
//!   `uv_update_time`): call it after blocking work;
//! * `Builder::time_base(TimeBase::Call)` reads the clock at every call, as
//!   asyncio and tokio do (sleeps begun together then get different bases);
//! * debug mode (`Builder::debug`) times every poll and re-samples the loop
//!   time after one longer than 1 ms.

pub(crate) mod clock;
pub(crate) mod driver;
mod interval;
mod sleep;
pub(crate) mod stage;
mod timeout;
pub(crate) mod wheel;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use clock::TimeBase;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, wait_for, Elapsed, Timeout};

use crate::runtime::context;

/// The loop time of the current iteration (asyncio's `loop.time()`, as an
/// `Instant`). Outside a loop, the real `Instant::now()`.
///
/// With a virtual clock this is virtual: measure durations in a virtual
/// program with `boucle::now()`, not `Instant::now()`.
pub fn now() -> Instant {
    context::with_current(|core| core.now()).unwrap_or_else(Instant::now)
}

/// Moves the loop time to the present (libuv's `uv_update_time`), so that a
/// sleep or timeout begun next counts from now rather than from the start
/// of this iteration. Call it after work that blocked the loop. Nothing
/// happens with a virtual clock, or outside a loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// boucle::run(async {
///     let t0 = boucle::now();
///     std::thread::sleep(Duration::from_millis(5)); // blocking work
///     assert_eq!(boucle::now(), t0); // the iteration's cached time
///     boucle::time::update_time();
///     assert!(boucle::now() - t0 >= Duration::from_millis(5));
/// });
/// ```
pub fn update_time() {
    context::with_current(|core| core.time().update());
}

/// Moves a virtual clock forward by `duration`, then yields so that the
/// timers it passed fire (tokio's `time::advance`).
///
/// # Panics
/// Outside a loop, or on a loop with a real clock.
pub async fn advance(duration: Duration) {
    let time = context::current().time().clone();
    assert!(
        time.is_virtual(),
        "boucle::time::advance needs a virtual clock (Builder::virtual_time(true))"
    );
    time.advance_to(time.now().saturating_add(clock::duration_ticks(duration)));
    drop(time);
    yield_now().await;
}

/// Yields to the loop once: the task goes to the back of the next
/// iteration's batch (asyncio's `await asyncio.sleep(0)`). It does not look
/// at the OS.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
