//! Seed 003, "Exemple simple": two awaits one after the other.
//!
//! ```python
//! async def dire_apres(delai, message):
//!     await asyncio.sleep(delai)
//!     print(message)
//!
//! async def main():
//!     print("Démarré")
//!     await dire_apres(1, "Bonjour")
//!     await dire_apres(2, "Monde")
//!     print("Terminé")
//!
//! asyncio.run(main())
//! ```
//!
//! "L'appel de la seconde coroutine n'est déclenché qu'après la première":
//! `Bonjour` after 1 second, `Monde` after 3 seconds in all.

use std::io;
use std::time::Duration;

use crate::Console;

/// `async def dire_apres(delai, message)`: waits `delai` seconds, then
/// prints `message`.
///
/// # Errors
/// If printing fails.
pub async fn dire_apres(console: &Console, delai: u64, message: &str) -> io::Result<()> {
    boucle::sleep(Duration::from_secs(delai)).await;
    console.println(message)
}

/// `async def main()`: `dire_apres(1, ...)`, then `dire_apres(2, ...)`:
/// 3 s in all.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    console.println("Démarré")?;
    dire_apres(&console, 1, "Bonjour").await?;
    dire_apres(&console, 2, "Monde").await?;
    console.println("Terminé")
}
