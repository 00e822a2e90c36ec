//! Seed 002, "Qu'est-ce qu'une Coroutine ?": a blocking function next to a
//! coroutine.
//!
//! ```python
//! # Approche synchrone (bloquante)
//! def fonction_sync():
//!     time.sleep(2)  # Bloque tout le programme pendant 2 secondes
//!     print("Fin de la fonction synchrone")
//!
//! # Coroutine asynchrone
//! async def coroutine_async():
//!     await asyncio.sleep(2)  # Permet à d'autres tâches de s'exécuter
//!     print("Fin de la coroutine asynchrone")
//! ```
//!
//! The example binary calls `fonction_sync()`, then
//! `asyncio.run(coroutine_async())`. The blocking sleep is a parameter
//! (`dormir`): the binary passes `std::thread::sleep`; the tests pass a
//! recorder, so they never block.

use std::io;
use std::time::Duration;

use crate::Console;

/// `def fonction_sync()`: blocks for two seconds with `dormir`
/// (`time.sleep`), then prints.
///
/// # Errors
/// If printing fails.
pub fn fonction_sync(console: &Console, dormir: &dyn Fn(Duration)) -> io::Result<()> {
    dormir(Duration::from_secs(2)); // Bloque tout le programme pendant 2 secondes
    console.println("Fin de la fonction synchrone")
}

/// `async def coroutine_async()`: sleeps two seconds without blocking the
/// loop, then prints.
///
/// # Errors
/// If printing fails.
pub async fn coroutine_async(console: Console) -> io::Result<()> {
    boucle::sleep(Duration::from_secs(2)).await; // Permet à d'autres tâches de s'exécuter
    console.println("Fin de la coroutine asynchrone")
}
