//! Seed 002, "asyncio.run()": the entry point of an asynchronous program.
//!
//! ```python
//! async def main():
//!     print("Début du programme")
//!     await asyncio.sleep(1)
//!     print("Fin du programme")
//!
//! # Point d'entrée principal pour les programmes asyncio
//! asyncio.run(main())
//! ```
//!
//! In Rust the entry point is `boucle::run(main(...))` (or
//! `#[boucle::main]`): it creates the loop, runs `main`, then closes the
//! loop.

use std::io;
use std::time::Duration;

use crate::Console;

/// `async def main()`: prints, sleeps 1 s, prints.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<()> {
    console.println("Début du programme")?;
    boucle::sleep(Duration::from_secs(1)).await;
    console.println("Fin du programme")
}
