//! Seed 002, "Event Loop : Le Cœur de l'Asynchrone": two coroutines run
//! concurrently with `gather`.
//!
//! ```python
//! async def tache1():
//!     print("Tâche 1 commence")
//!     await asyncio.sleep(2)
//!     print("Tâche 1 terminée")
//!
//! async def tache2():
//!     print("Tâche 2 commence")
//!     await asyncio.sleep(1)
//!     print("Tâche 2 terminée")
//!
//! async def main():
//!     # Exécute les deux tâches concurremment
//!     await asyncio.gather(tache1(), tache2())
//!
//! # Lance l'event loop
//! asyncio.run(main())
//! ```
//!
//! "Sortie probable" (and with boucle, certain):
//!
//! ```text
//! Tâche 1 commence
//! Tâche 2 commence
//! Tâche 2 terminée
//! Tâche 1 terminée
//! ```

use std::io;
use std::time::Duration;

use crate::Console;

/// `async def tache1()`: starts, sleeps 2 s, ends.
///
/// # Errors
/// If printing fails.
pub async fn tache1(console: &Console) -> io::Result<()> {
    console.println("Tâche 1 commence")?;
    boucle::sleep(Duration::from_secs(2)).await;
    console.println("Tâche 1 terminée")
}

/// `async def tache2()`: starts, sleeps 1 s, ends.
///
/// # Errors
/// If printing fails.
pub async fn tache2(console: &Console) -> io::Result<()> {
    console.println("Tâche 2 commence")?;
    boucle::sleep(Duration::from_secs(1)).await;
    console.println("Tâche 2 terminée")
}

/// `async def main()`: runs both concurrently; takes 2 s, not 3.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    // Exécute les deux tâches concurremment
    let (r1, r2) = boucle::gather!(tache1(&console), tache2(&console));
    r1.and(r2)
}
