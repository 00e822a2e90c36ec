//! Tâche 0 and Tâche 1: [`wait_random`] and [`wait_n`].
//!
//! Tâche 0, *Syntaxe Async de Base*, asks for a coroutine that sleeps a
//! random delay:
//!
//! ```python
//! async def wait_random(max_delay: int = 10) -> float:
//!     delay = random.uniform(0, max_delay)
//!     await asyncio.sleep(delay)
//!     return delay
//! ```
//!
//! Tâche 1, *Coroutines Multiples*, runs it n times concurrently and returns
//! the delays in ascending order without calling `sort()`: they are
//! collected as they complete, with the seed's `as_completed` pattern
//! (001, "Trier des résultats concurrents sans `sort()`").

use std::time::Duration;

use crate::{check_max_delay, task_output};

/// Sleeps a random delay in `[0, max_delay]` seconds and returns it (the
/// course's Tâche 0; the course's default bound is
/// [`DEFAULT_MAX_DELAY`](crate::DEFAULT_MAX_DELAY)).
///
/// The delay is drawn with `boucle::random::uniform(0.0, max_delay)` from
/// the loop's generator (seed it with `Builder::seed`), rounded to the
/// nanosecond the loop clock counts in, slept with `boucle::sleep`, and
/// returned: the value returned is exactly the time slept.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = boucle::now();
///     let delay = boucle_course::wait_random(10.0).await;
///     assert!((0.0..=10.0).contains(&delay));
///     assert_eq!(boucle::now() - start, Duration::from_secs_f64(delay));
/// });
/// ```
///
/// # Cancel safety
/// Dropping the future before it completes cancels the sleep; nothing is
/// returned.
///
/// # Panics
/// When first polled, if `max_delay` is negative, NaN, infinite or larger
/// than `Duration::MAX`; and outside a running loop.
pub async fn wait_random(max_delay: f64) -> f64 {
    check_max_delay("wait_random", max_delay);
    let slept = draw_delay(max_delay);
    boucle::sleep(slept).await;
    slept.as_secs_f64()
}

/// `uniform(0, max_delay)` as the `Duration` the loop will sleep: rounded
/// to the nanosecond, and never above `max_delay` once read back as `f64`.
fn draw_delay(max_delay: f64) -> Duration {
    let delay = boucle::random::uniform(0.0, max_delay);
    let slept = Duration::from_secs_f64(delay);
    if slept.as_secs_f64() > max_delay {
        // Rounding to the nearest nanosecond went past the bound.
        slept.saturating_sub(Duration::from_nanos(1))
    } else {
        slept
    }
}

/// Runs [`wait_random`] `n` times concurrently and returns the `n` delays in
/// the order they completed (the course's Tâche 1).
///
/// There is no sort: each `wait_random` becomes a task through
/// `boucle::as_completed`, and the delays are pushed as the tasks finish.
/// All the tasks start in one loop iteration (one time base) and boucle's
/// timers fire in exact deadline order, so the list comes out ascending, and
/// the whole call takes exactly the longest delay of loop time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = boucle::Runtime::builder().virtual_time(true).seed(1).build().unwrap();
/// let (delays, took) = rt.block_on(async {
///     let start = boucle::now();
///     let delays = boucle_course::wait_n(10, 5.0).await;
///     (delays, boucle::now() - start)
/// });
/// assert_eq!(delays.len(), 10);
/// assert!(delays.windows(2).all(|w| w[0] <= w[1]));
/// let longest = *delays.last().unwrap();
/// assert_eq!(took, Duration::from_secs_f64(longest)); // concurrent: one wait, not ten
/// ```
///
/// # Cancel safety
/// Dropping the future before it completes cancels the waits still
/// running.
///
/// # Panics
/// When first polled, before starting any wait, if `max_delay` is
/// negative, NaN, infinite or larger than `Duration::MAX`; and outside a
/// running loop.
pub async fn wait_n(n: usize, max_delay: f64) -> Vec<f64> {
    check_max_delay("wait_n", max_delay);
    let mut done = boucle::as_completed((0..n).map(|_| wait_random(max_delay)));
    let mut delays = Vec::with_capacity(n);
    while let Some(result) = done.next().await {
        delays.push(task_output("wait_n", result));
    }
    delays
}
