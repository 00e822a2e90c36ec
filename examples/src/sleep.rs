//! Seed 002, "asyncio.sleep()": waiting without blocking.
//!
//! ```python
//! async def exemple_sleep():
//!     print("Début de l'attente")
//!     await asyncio.sleep(2)  # Attend 2 secondes sans bloquer
//!     print("Fin de l'attente")
//!
//! # Différence avec time.sleep()
//! # asyncio.sleep() libère la main à l'event loop
//! # time.sleep() bloque complètement l'exécution
//! ```

use std::io;
use std::time::Duration;

use crate::Console;

/// `async def exemple_sleep()`: prints, waits 2 s without blocking the
/// loop, prints.
///
/// # Errors
/// If printing fails.
pub async fn exemple_sleep(console: Console) -> io::Result<()> {
    console.println("Début de l'attente")?;
    boucle::sleep(Duration::from_secs(2)).await; // Attend 2 secondes sans bloquer
    console.println("Fin de l'attente")
}
