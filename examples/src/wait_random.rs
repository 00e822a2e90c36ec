//! Seed 000, "Tâche 0: Syntaxe Async de Base": a coroutine that sleeps a
//! random delay and returns it.
//!
//! ```python
//! async def wait_random(max_delay: int = 10) -> float:
//!     delay = random.uniform(0, max_delay)
//!     await asyncio.sleep(delay)
//!     return delay
//! ```
//!
//! The example runs it once and prints the delay, as
//! `print(asyncio.run(wait_random()))` does. (The full course project,
//! with `wait_n` and the rest, is the `boucle-course` crate.)

use std::io;
use std::time::Duration;

use crate::Console;

/// `max_delay`'s default in the seed.
pub const MAX_DELAY: f64 = 10.0;

/// `async def wait_random(max_delay=10)`: sleeps `uniform(0, max_delay)`
/// seconds and returns the delay.
///
/// # Panics
/// If `max_delay` is negative, NaN or infinite; outside a running loop.
pub async fn wait_random(max_delay: f64) -> f64 {
    assert!(
        max_delay >= 0.0 && max_delay.is_finite(),
        "wait_random: max_delay must be a finite, non-negative number, got {max_delay}"
    );
    let delay = boucle::random::uniform(0.0, max_delay);
    boucle::sleep(Duration::from_secs_f64(delay)).await;
    delay
}

/// `print(await wait_random())`: prints the delay as Python prints a float.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<f64> {
    let delay = wait_random(MAX_DELAY).await;
    console.println(delay)?;
    Ok(delay)
}
