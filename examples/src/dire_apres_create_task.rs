//! Seed 003, "Exécution concurrente avec `create_task()`": both coroutines
//! become tasks, so their waits overlap.
//!
//! ```python
//! async def main():
//!     task1 = asyncio.create_task(dire_apres(1, "Bonjour"))
//!     task2 = asyncio.create_task(dire_apres(2, "Monde"))
//!
//!     print("Démarré")
//!
//!     await task1
//!     await task2
//!
//!     print("Terminé")
//!
//! asyncio.run(main())
//! ```
//!
//! "Le temps total est d'environ 2 secondes au lieu de 3" (with boucle's
//! virtual clock: exactly 2).

use std::io;
use std::time::Duration;

use crate::Console;

/// `async def dire_apres(delai, message)`, owning its console so it can be
/// a task (`boucle::spawn` needs a `'static` future).
///
/// # Errors
/// If printing fails.
pub async fn dire_apres(console: Console, delai: u64, message: &'static str) -> io::Result<()> {
    boucle::sleep(Duration::from_secs(delai)).await;
    console.println(message)
}

/// `async def main()`: two tasks created at once; 2 s in all.
///
/// # Errors
/// If printing fails.
///
/// # Panics
/// If one of the tasks panics (its panic resumes here).
pub async fn main(console: Console) -> io::Result<()> {
    let task1 = boucle::create_task(dire_apres(console.clone(), 1, "Bonjour"));
    let task2 = boucle::create_task(dire_apres(console.clone(), 2, "Monde"));

    console.println("Démarré")?;

    output(task1.await)?;
    output(task2.await)?;

    console.println("Terminé")
}

/// A task's output, or its panic resumed (as awaiting a failed task raises
/// in asyncio).
fn output<T>(result: Result<T, boucle::TaskError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => match e.into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(_) => panic!("dire_apres: the task was cancelled"),
        },
    }
}
