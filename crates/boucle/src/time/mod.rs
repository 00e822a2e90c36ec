//! Loop time: [`sleep`], [`sleep_until`], [`timeout`], [`now`], [`yield_now`].
//!
//! Loop time is cached once per loop iteration (as libuv and uvloop do): the
//! clock is read at the first use in each iteration, so every task of one
//! iteration sees the same [`now`], and sleeps begun in one iteration share
//! one time base. Timers fire in exact deadline order (ties
//! in creation order) and never early. With a virtual clock
//! (`Builder::virtual_time`) time jumps to the next timer whenever the loop
//! would otherwise wait.

pub(crate) mod clock;
mod sleep;
mod timeout;
pub(crate) mod wheel;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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

/// Moves a virtual clock forward by `duration`, then yields so that the
/// timers it passed fire (tokio's `time::advance`).
///
/// # Panics
/// Outside a loop, or on a loop with a real clock.
pub async fn advance(duration: Duration) {
    let core = context::current();
    assert!(
        core.clock.is_virtual(),
        "boucle::time::advance needs a virtual clock (Builder::virtual_time(true))"
    );
    core.clock.advance_to(
        core.clock
            .now()
            .saturating_add(clock::duration_ticks(duration)),
    );
    drop(core);
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
