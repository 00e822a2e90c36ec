//! Seed 002, "asyncio.gather()": results in argument order.
//!
//! ```python
//! async def tache1():
//!     await asyncio.sleep(1)
//!     return "Résultat 1"
//!
//! async def tache2():
//!     await asyncio.sleep(2)
//!     return "Résultat 2"
//!
//! async def main():
//!     # Exécute plusieurs coroutines en parallèle
//!     resultats = await asyncio.gather(tache1(), tache2())
//!     print(resultats)  # ['Résultat 1', 'Résultat 2']
//! ```

use std::io;
use std::time::Duration;

use crate::{py_list, Console};

/// `async def tache1()`: 1 s, then `"Résultat 1"`.
pub async fn tache1() -> &'static str {
    boucle::sleep(Duration::from_secs(1)).await;
    "Résultat 1"
}

/// `async def tache2()`: 2 s, then `"Résultat 2"`.
pub async fn tache2() -> &'static str {
    boucle::sleep(Duration::from_secs(2)).await;
    "Résultat 2"
}

/// `async def main()`: gathers both (2 s in all) and prints the list as
/// Python does. Returns the results.
///
/// # Errors
/// If printing fails.
pub async fn main(console: Console) -> io::Result<Vec<&'static str>> {
    // Exécute plusieurs coroutines en parallèle
    let (r1, r2) = boucle::gather!(tache1(), tache2());
    let resultats = vec![r1, r2];
    console.println(py_list(&resultats))?; // ['Résultat 1', 'Résultat 2']
    Ok(resultats)
}
