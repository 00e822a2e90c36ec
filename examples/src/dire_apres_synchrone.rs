//! Seed 003, "Différence avec un code synchrone": the same program with a
//! blocking sleep.
//!
//! ```python
//! import time
//!
//! def dire_apres(delai, message):
//!     time.sleep(delai)
//!     print(message)
//!
//! print("Démarré")
//! dire_apres(1, "Bonjour")
//! dire_apres(2, "Monde")
//! print("Terminé")
//! ```
//!
//! "Pendant le `sleep`, tout s'arrête": no loop, nothing else can run. The
//! blocking sleep is a parameter (`dormir`): the example binary passes
//! `std::thread::sleep`; the tests pass a recorder, so they never block.

use std::io;
use std::time::Duration;

use crate::Console;

/// `def dire_apres(delai, message)`: blocks `delai` seconds, then prints.
///
/// # Errors
/// If printing fails.
pub fn dire_apres(
    console: &Console,
    dormir: &dyn Fn(Duration),
    delai: u64,
    message: &str,
) -> io::Result<()> {
    dormir(Duration::from_secs(delai));
    console.println(message)
}

/// The module's top-level code: 3 s of blocking in all.
///
/// # Errors
/// If printing fails.
pub fn main(console: &Console, dormir: &dyn Fn(Duration)) -> io::Result<()> {
    console.println("Démarré")?;
    dire_apres(console, dormir, 1, "Bonjour")?;
    dire_apres(console, dormir, 2, "Monde")?;
    console.println("Terminé")
}
