//! Seed 001, "Mesurer le temps avec précision": the classic
//! `time.perf_counter()` pattern.
//!
//! ```python
//! async def main():
//!     start = time.perf_counter()
//!     await asyncio.sleep(1)
//!     end = time.perf_counter()
//!
//!     total_time = end - start
//!     print(f"Temps total : {total_time:.2f}s")
//!
//! asyncio.run(main())
//! ```
//!
//! The clock is a parameter: the example binary passes
//! `std::time::Instant::now` (the seed's `perf_counter`, a monotonic
//! high-resolution clock); the tests pass `boucle::now` (loop time), which
//! is exact on a virtual clock.

use std::io;
use std::time::{Duration, Instant};

use crate::Console;

/// `async def main()`: times a one-second sleep with `horloge` and prints
/// `Temps total : 1.00s`. Returns the measured time.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console, horloge: fn() -> Instant) -> io::Result<Duration> {
    let start = horloge();
    boucle::sleep(Duration::from_secs(1)).await;
    let end = horloge();

    let total_time = end - start;
    console.println(format_args!(
        "Temps total : {:.2}s",
        total_time.as_secs_f64()
    ))?;
    Ok(total_time)
}
