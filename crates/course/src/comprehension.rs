//! The follow-up project: asynchronous generator, asynchronous
//! comprehension, and four comprehensions run in parallel.
//!
//! The seed (001, "Fonctionnalités Avancées") introduces `async for`, which
//! "permet d'itérer sur des générateurs de données qui sont produits de
//! manière asynchrone". The project:
//!
//! ```python
//! async def async_generator():
//!     for _ in range(10):
//!         await asyncio.sleep(1)
//!         yield random.uniform(0, 10)
//!
//! async def async_comprehension() -> List[float]:
//!     return [i async for i in async_generator()]
//!
//! async def measure_runtime() -> float:
//!     start = time.perf_counter()
//!     await asyncio.gather(*(async_comprehension() for _ in range(4)))
//!     return time.perf_counter() - start
//! ```
//!
//! Rust's asynchronous iterator is `futures_core::Stream`;
//! [`AsyncGenerator`] implements it by hand (a `Sleep` and a counter), and
//! also offers [`AsyncGenerator::next`] for `while let` loops.
//! `measure_runtime` shows the lesson: four comprehensions of ten seconds
//! each, gathered, take ten seconds.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// How many values an [`AsyncGenerator`] yields.
const COUNT: usize = 10;
/// The wait before each value.
const INTERVAL: Duration = Duration::from_secs(1);
/// The values are drawn from `[0, MAX_VALUE]`.
const MAX_VALUE: f64 = 10.0;

/// An asynchronous generator of ten random numbers in `[0, 10]`, one per
/// second of loop time (the project's `async_generator`). Made by
/// [`async_generator`].
///
/// Each value is produced on demand: asking for the next value starts a
/// one-second [`boucle::Sleep`], and when it completes the value is drawn
/// with `boucle::random::uniform(0.0, 10.0)`.
///
/// # Cancel safety
/// [`AsyncGenerator::next`] is cancel-safe: dropping its future keeps the
/// running sleep, and the next call resumes it.
#[must_use = "an AsyncGenerator does nothing unless polled (.next().await, or as a Stream)"]
#[derive(Debug)]
pub struct AsyncGenerator {
    sleep: Option<boucle::Sleep>,
    yielded: usize,
}

/// Returns the project's asynchronous generator: ten times, waits one second
/// of loop time, then yields `boucle::random::uniform(0.0, 10.0)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     let mut values = boucle_course::async_generator();
///     let mut n = 0;
///     while let Some(x) = values.next().await {
///         n += 1;
///         assert!((0.0..=10.0).contains(&x));
///         assert_eq!(boucle::now() - start, Duration::from_secs(n)); // one per second
///     }
///     assert_eq!(n, 10);
/// });
/// ```
pub fn async_generator() -> AsyncGenerator {
    AsyncGenerator {
        sleep: None,
        yielded: 0,
    }
}

impl AsyncGenerator {
    /// The next value, after a one-second wait; `None` after ten values
    /// (the `async for` step, `__anext__`).
    ///
    /// # Panics
    /// Outside a running loop.
    // The async `next` of a stream (as `AsCompleted::next`), not
    // `Iterator::next`.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> impl Future<Output = Option<f64>> + '_ {
        poll_fn(|cx| self.poll_value(cx))
    }

    /// How many values are still to come.
    pub fn remaining(&self) -> usize {
        COUNT - self.yielded
    }

    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Option<f64>> {
        if self.yielded == COUNT {
            return Poll::Ready(None);
        }
        let sleep = self.sleep.get_or_insert_with(|| boucle::sleep(INTERVAL));
        match Pin::new(sleep).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.sleep = None;
                self.yielded += 1;
                Poll::Ready(Some(boucle::random::uniform(0.0, MAX_VALUE)))
            }
        }
    }
}

impl futures_core::Stream for AsyncGenerator {
    type Item = f64;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<f64>> {
        self.get_mut().poll_value(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

/// Collects the ten values of [`async_generator`] (the project's
/// `[i async for i in async_generator()]`). Takes ten seconds of loop time.
///
/// # Examples
///
/// ```
/// let rt = boucle::Runtime::builder().virtual_time(true).seed(3).build().unwrap();
/// let values = rt.block_on(boucle_course::async_comprehension());
/// assert_eq!(values.len(), 10);
/// assert!(values.iter().all(|x| (0.0..=10.0).contains(x)));
/// ```
///
/// # Panics
/// Outside a running loop.
pub async fn async_comprehension() -> Vec<f64> {
    let mut values = async_generator();
    let mut out = Vec::with_capacity(COUNT);
    while let Some(x) = values.next().await {
        out.push(x);
    }
    out
}

/// Runs [`async_comprehension`] four times in parallel with `boucle::gather!`
/// and returns the loop time it took: ten seconds (the longest of the four),
/// not forty.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// let took = rt.block_on(boucle_course::measure_runtime());
/// assert_eq!(took, Duration::from_secs(10));
/// ```
///
/// # Panics
/// Outside a running loop.
pub async fn measure_runtime() -> Duration {
    let start = boucle::now();
    boucle::gather!(
        async_comprehension(),
        async_comprehension(),
        async_comprehension(),
        async_comprehension(),
    );
    boucle::now() - start
}
