//! `timeout` / `wait_for`: bound the time a future may take.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{sleep, sleep_until, Sleep};

/// The error of a [`timeout`] whose deadline passed first (asyncio's
/// `TimeoutError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

pin_project_lite::pin_project! {
    /// A future with a deadline. Made by [`timeout`] and [`timeout_at`].
    ///
    /// # Cancel safety
    /// When the deadline passes, the inner future is dropped (its cleanup
    /// runs). A [`Task`](crate::Task) awaited through a timeout is only
    /// detached, as dropping its handle does: call `Task::cancel` to stop it.
    #[must_use = "futures do nothing unless you .await them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        deadline: Sleep,
    }
}

/// Awaits `future` for at most `duration` of loop time (asyncio's
/// `wait_for` / `timeout`). The future is polled first, so a future that is
/// ready wins over an elapsed deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let slow = boucle::sleep(Duration::from_secs(10));
///     assert!(boucle::timeout(Duration::from_secs(1), slow).await.is_err());
///     let fast = async { 5 };
///     assert_eq!(boucle::timeout(Duration::from_secs(1), fast).await, Ok(5));
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        deadline: sleep(duration),
    }
}

/// Like [`timeout`], with a deadline.
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        deadline: sleep_until(deadline),
    }
}

/// asyncio's name for [`timeout`].
pub fn wait_for<F: IntoFuture>(future: F, duration: Duration) -> Timeout<F::IntoFuture> {
    timeout(duration, future)
}

impl<F> Timeout<F> {
    /// The deadline, in loop time.
    pub fn deadline(&self) -> Instant {
        self.deadline.deadline()
    }

    /// Moves the deadline (asyncio's `Timeout.reschedule`).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().deadline.reset(deadline);
    }

    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The inner future, giving up the deadline.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.deadline.poll_deadline(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.deadline)
            .finish()
    }
}
