//! Seed 004, "Exemple basique": `gather()` and `create_task()` side by side.
//!
//! ```python
//! async def tache(nom, duree):
//!     print(f"[{nom}] Début")
//!     await asyncio.sleep(duree)
//!     print(f"[{nom}] Fin")
//!     return f"Résultat {nom}"
//!
//! async def main():
//!     # Méthode 1 : gather()
//!     resultats1 = await asyncio.gather(
//!         tache("A", 1),
//!         tache("B", 2),
//!         tache("C", 1)
//!     )
//!     print(f"Résultats gather: {resultats1}\n")
//!
//!     # Méthode 2 : create_task()
//!     task1 = asyncio.create_task(tache("X", 1))
//!     task2 = asyncio.create_task(tache("Y", 2))
//!
//!     resultat1 = await task1
//!     resultat2 = await task2
//!     print(f"Résultats tasks: {resultat1}, {resultat2}")
//!
//! if __name__ == "__main__":
//!     asyncio.run(main())
//! ```
//!
//! Output (2 s for the gather, then 2 s for the tasks):
//!
//! ```text
//! [A] Début
//! [B] Début
//! [C] Début
//! [A] Fin
//! [C] Fin
//! [B] Fin
//! Résultats gather: ['Résultat A', 'Résultat B', 'Résultat C']
//!
//! [X] Début
//! [Y] Début
//! [X] Fin
//! [Y] Fin
//! Résultats tasks: Résultat X, Résultat Y
//! ```

use std::io;
use std::time::Duration;

use crate::{py_list, Console};

/// `async def tache(nom, duree)`: prints, sleeps `duree` seconds, prints,
/// returns `"Résultat {nom}"`. Owns its console so it can be a task.
///
/// # Errors
/// If printing fails.
pub async fn tache(console: Console, nom: &'static str, duree: u64) -> io::Result<String> {
    console.println(format_args!("[{nom}] Début"))?;
    boucle::sleep(Duration::from_secs(duree)).await;
    console.println(format_args!("[{nom}] Fin"))?;
    Ok(format!("Résultat {nom}"))
}

/// `async def main()`: method 1 (`gather`), then method 2 (`create_task`).
/// Returns both methods' results.
///
/// # Errors
/// If printing fails.
///
/// # Panics
/// If one of the tasks panics (its panic resumes here).
pub async fn main(console: Console) -> io::Result<(Vec<String>, (String, String))> {
    // Méthode 1 : gather()
    let (a, b, c) = boucle::gather!(
        tache(console.clone(), "A", 1),
        tache(console.clone(), "B", 2),
        tache(console.clone(), "C", 1),
    );
    let resultats1 = vec![a?, b?, c?];
    console.println(format_args!("Résultats gather: {}\n", py_list(&resultats1)))?;

    // Méthode 2 : create_task()
    let task1 = boucle::create_task(tache(console.clone(), "X", 1));
    let task2 = boucle::create_task(tache(console.clone(), "Y", 2));

    let resultat1 = output(task1.await)?;
    let resultat2 = output(task2.await)?;
    console.println(format_args!("Résultats tasks: {resultat1}, {resultat2}"))?;
    Ok((resultats1, (resultat1, resultat2)))
}

/// A task's output, or its panic resumed (as awaiting a failed task raises
/// in asyncio).
fn output<T>(result: Result<T, boucle::TaskError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => match e.into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(_) => panic!("tache: the task was cancelled"),
        },
    }
}
