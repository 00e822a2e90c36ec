//! Tâche 2, *Mesure du Temps*: [`measure_time`] and [`measure_time_with`].
//!
//! The seed's process is "Temps Début ──> Exécution ──> Temps Fin ──>
//! Calcul Moyenne", with `time.perf_counter()` (001, "Mesurer le temps avec
//! précision"):
//!
//! ```python
//! def measure_time(n: int, max_delay: int) -> float:
//!     start = time.perf_counter()
//!     asyncio.run(wait_n(n, max_delay))
//!     total_time = time.perf_counter() - start
//!     return total_time / n
//! ```
//!
//! Because the n waits run concurrently, the total is about `max_delay`
//! (the longest of n uniform draws), so the time per wait falls as n grows.
//! [`measure_time`] measures real time on a real clock, as the seed does;
//! [`measure_time_with`] measures loop time on a loop you configure, which
//! is exact (and instant) on a virtual clock.

use std::time::Instant;

use crate::check_max_delay;
use crate::wait::wait_n;

/// Runs [`wait_n(n, max_delay)`](wait_n) on a new loop (`boucle::run`, the
/// seed's `asyncio.run`) and returns the real time it took, in seconds,
/// divided by `n` (the course's Tâche 2).
///
/// The time is measured around the whole `run`, with `std::time::Instant`
/// (the seed's `perf_counter`), so it includes starting and stopping the
/// loop.
///
/// # Examples
///
/// ```
/// // 100 waits of at most 10 ms each take about 10 ms in all.
/// let per_wait = boucle_course::measure_time(100, 0.010);
/// assert!(per_wait < 0.010);
/// ```
///
/// # Panics
/// Before starting the loop, if `n` is 0 (the time is divided by `n`; Python
/// raises `ZeroDivisionError`), or if `max_delay` is negative, NaN, infinite
/// or larger than `Duration::MAX`; inside a running boucle loop (as
/// `asyncio.run` refuses to run inside a loop).
#[track_caller]
pub fn measure_time(n: usize, max_delay: f64) -> f64 {
    check_n("measure_time", n);
    check_max_delay("measure_time", max_delay);
    let start = Instant::now();
    boucle::run(wait_n(n, max_delay));
    let total_time = start.elapsed();
    total_time.as_secs_f64() / n as f64
}

/// Like [`measure_time`], on a loop built from `builder`, measuring **loop
/// time** ([`boucle::now`]) from just before `wait_n` starts to just after
/// it returns. On a virtual clock the result is exact: the longest delay
/// divided by `n`. The loop is dropped before returning, as `boucle::run`
/// does.
///
/// # Examples
///
/// ```
/// let builder = boucle::Runtime::builder().virtual_time(true).seed(42);
/// let per_wait = boucle_course::measure_time_with(builder.clone(), 1000, 10.0);
///
/// // The same seed gives the same delays: the loop time is the longest.
/// let rt = builder.build().unwrap();
/// let delays = rt.block_on(boucle_course::wait_n(1000, 10.0));
/// assert_eq!(per_wait, delays[999] / 1000.0);
/// ```
///
/// # Panics
/// Before building the loop, if `n` is 0 or `max_delay` is negative, NaN,
/// infinite or larger than `Duration::MAX`; if the loop cannot be built;
/// inside a running boucle loop.
#[track_caller]
pub fn measure_time_with(builder: boucle::Builder, n: usize, max_delay: f64) -> f64 {
    check_n("measure_time_with", n);
    check_max_delay("measure_time_with", max_delay);
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => panic!("measure_time_with: cannot build the boucle loop: {e}"),
    };
    let total_time = rt.block_on(async {
        let start = boucle::now();
        wait_n(n, max_delay).await;
        boucle::now() - start
    });
    drop(rt);
    total_time.as_secs_f64() / n as f64
}

#[track_caller]
fn check_n(function: &str, n: usize) {
    assert!(
        n > 0,
        "{function}: n must be at least 1 (the total time is divided by n)"
    );
}
